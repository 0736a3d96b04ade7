"""Work after the response (config.after_response) and the risk signals that use it.

An accepted push is answered as soon as its transaction commits; its risk
signals are written right after, by the same worker, and an order whose
worker died in between stays marked `risk_pending` for the sweep.
"""

import json
from io import StringIO

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished
from django.db import OperationalError, close_old_connections
from django.http import HttpResponse
from django.test import RequestFactory

from config import after_response
from config.logging import RequestIdMiddleware, current_request_id
from intake import services
from orders.models import Order, RiskSignal
from orders.risk import compute
from tests.conftest import PUSH_URL
from tests.factories import PushPayloadFactory, flag, pushed_order

ROOTED = {"userAdditional__deviceInfo__isRoot": "1"}


def codes(order) -> set[str]:
    return set(RiskSignal.objects.filter(order=order).values_list("code", flat=True))


# --- The mechanism ------------------------------------------------------------------------


@pytest.fixture
def closing_without_database():
    """Close responses as a WSGI server does, minus Django's own database housekeeping
    (these tests have no database), as Django's test client does."""
    request_finished.disconnect(close_old_connections)
    yield
    request_finished.connect(close_old_connections)


def test_outside_a_request_the_work_runs_at_once():
    done = []

    after_response.run_after_response(done.append, "now")

    assert done == ["now"]


def test_inside_a_request_the_work_waits_for_the_response_to_be_closed(closing_without_database):
    # given
    done = []

    def view(request):
        after_response.run_after_response(done.append, "later")
        return HttpResponse("answer")

    middleware = after_response.AfterResponseMiddleware(view)

    # when the response is built, nothing has run yet
    response = middleware(RequestFactory().get("/"))
    assert done == []

    # then closing it (the WSGI server does, after sending the body) runs the work once
    response.close()
    assert done == ["later"]
    response.close()
    assert done == ["later"]


def test_work_asked_for_after_the_request_ends_is_not_held_back():
    # given a request that has ended (its response not closed yet)
    middleware = after_response.AfterResponseMiddleware(lambda request: HttpResponse())
    middleware(RequestFactory().get("/"))
    done = []

    # when
    after_response.run_after_response(done.append, "command")

    # then
    assert done == ["command"]


def test_the_work_keeps_the_request_id_of_its_request(closing_without_database):
    # given
    seen = []

    def view(request):
        after_response.run_after_response(lambda: seen.append(current_request_id()))
        return HttpResponse()

    middleware = after_response.AfterResponseMiddleware(RequestIdMiddleware(view))

    # when
    response = middleware(RequestFactory().get("/", headers={"X-Request-ID": "req-42"}))
    response.close()

    # then
    assert seen == ["req-42"]


def test_a_failing_item_is_reported_and_the_next_still_runs(monkeypatch, closing_without_database):
    # given
    failures, done = [], []
    monkeypatch.setattr(after_response, "report_failure", lambda work, error: failures.append(error))

    def broken():
        raise RuntimeError("boom")

    def view(request):
        after_response.run_after_response(broken)
        after_response.run_after_response(done.append, "second")
        return HttpResponse()

    # when
    after_response.AfterResponseMiddleware(view)(RequestFactory().get("/")).close()

    # then
    assert [str(error) for error in failures] == ["boom"]
    assert done == ["second"]


def test_a_failure_is_logged_with_its_traceback(caplog):
    # given: the module's own reporter, not the tests' (which raises)
    error = RuntimeError("boom")

    # when
    _ORIGINAL_REPORT(broken_work, error)

    # then
    [record] = [record for record in caplog.records if record.name == "config.after_response"]
    assert record.levelname == "ERROR"
    assert "broken_work" in record.getMessage()
    assert record.exc_info[1] is error


def broken_work():  # pragma: no cover - only its name is logged
    raise RuntimeError("boom")


# The module's own reporter: the autouse fixture of tests/conftest.py replaces it with one that raises.
_ORIGINAL_REPORT = after_response.report_failure


# --- The risk signals of a push ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_push_is_answered_before_its_signals_are_written(institution):
    # given: the whole Django stack as a WSGI server drives it
    body = json.dumps(PushPayloadFactory(**ROOTED), ensure_ascii=False).encode()
    request = RequestFactory().post(
        PUSH_URL,
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {institution.api_token}"},
    )
    statuses = []

    # when the response has been produced (and would be on the wire)
    response = WSGIHandler()(request.environ, lambda status, headers: statuses.append(status))

    # then the order is stored and marked pending, without signals yet
    assert statuses == ["201 Created"]
    order = Order.objects.get()
    assert order.risk_pending
    assert codes(order) == set()

    # and once the server closes the response, the signals are written
    response.close()
    order.refresh_from_db()
    assert not order.risk_pending
    assert "rooted_device" in codes(order)


@pytest.mark.django_db
def test_through_the_test_client_a_push_has_its_signals_when_answered(push):
    response = push(PushPayloadFactory(**ROOTED))

    assert response.status_code == 201
    order = Order.objects.get()
    assert not order.risk_pending
    assert "rooted_device" in codes(order)


@pytest.mark.django_db
def test_an_order_pushed_outside_a_request_gets_its_signals_at_once():
    order = pushed_order(None, PushPayloadFactory(**ROOTED))

    order.refresh_from_db()
    assert not order.risk_pending
    assert "rooted_device" in codes(order)


@pytest.mark.django_db
def test_a_database_failure_leaves_the_order_pending_and_the_push_accepted(push, monkeypatch, caplog):
    # given: the database refuses the signals' work
    def unavailable(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(compute, "_write", unavailable)

    # when
    response = push(PushPayloadFactory(**ROOTED))

    # then the push is stored and answered; the order waits for the sweep, and the log says so
    assert response.status_code == 201
    order = Order.objects.get()
    assert order.risk_pending
    assert codes(order) == set()
    assert any("left pending" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_work_already_done_by_the_sweep_is_not_done_again(monkeypatch):
    # given: the sweep computed the order between its push and the work after the response
    deferred = []
    monkeypatch.setattr(services, "run_after_response", lambda work, **kwargs: deferred.append((work, kwargs)))
    order = pushed_order(None, PushPayloadFactory(**ROOTED))
    call_command("recompute_risk_signals", "--pending", stdout=StringIO())
    computed_at = RiskSignal.objects.get(order=order, code="rooted_device").computed_at

    # when the work after the response runs
    [(work, kwargs)] = deferred
    wrote = work(**kwargs)

    # then it finds the mark gone and leaves the signals as they are
    assert wrote is False
    assert RiskSignal.objects.get(order=order, code="rooted_device").computed_at == computed_at


# --- The sweep ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_finishes_what_a_dead_worker_left(monkeypatch):
    # given: two orders whose worker died before the signals (the deferred work never runs),
    # and one whose signals were written
    monkeypatch.setattr(services, "run_after_response", lambda work, **kwargs: None)
    device = {"userAdditional__deviceInfo__deviceId": "dev-swept"}
    first = pushed_order(None, PushPayloadFactory(**device))
    second = pushed_order(None, PushPayloadFactory(**ROOTED, **device))
    monkeypatch.undo()
    done = pushed_order(None, PushPayloadFactory())
    flag(done, "simulator")  # not what a recompute would find: shows the sweep left it alone
    assert list(Order.objects.filter(risk_pending=True).order_by("pk")) == [first, second]

    # when
    out = StringIO()
    call_command("recompute_risk_signals", "--pending", stdout=out)

    # then both are computed, linked to each other, and no longer pending
    assert "Recomputed the risk signals of 2 orders." in out.getvalue()
    assert not Order.objects.filter(risk_pending=True).exists()
    assert {"shared_device", "rooted_device"} <= codes(second)
    assert "shared_device" in codes(first)
    shared = RiskSignal.objects.get(order=second, code="shared_device")
    assert [linked.pk for linked in shared.linked_orders.all()] == [first.pk]
    assert "simulator" in codes(done)


@pytest.mark.django_db
def test_the_sweep_with_nothing_pending_does_nothing():
    order = pushed_order(None, PushPayloadFactory())
    flag(order, "simulator")

    out = StringIO()
    call_command("recompute_risk_signals", "--pending", stdout=out)

    assert "Recomputed the risk signals of 0 orders." in out.getvalue()
    assert "simulator" in codes(order)


@pytest.mark.django_db
def test_a_full_recompute_clears_the_pending_marks(monkeypatch):
    monkeypatch.setattr(services, "run_after_response", lambda work, **kwargs: None)
    order = pushed_order(None, PushPayloadFactory(**ROOTED))
    assert Order.objects.get(pk=order.pk).risk_pending

    call_command("recompute_risk_signals", stdout=StringIO())

    assert not Order.objects.get(pk=order.pk).risk_pending
    assert "rooted_device" in codes(order)
