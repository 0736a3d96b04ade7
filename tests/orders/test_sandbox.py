"""Sandbox institutions: answered like production, never reviewed, exported or listed by default, purged daily."""

import csv
import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.jobs import enqueue
from orders import exports, selectors, services
from orders.models import (
    AddressBookEntry,
    Contact,
    Device,
    Institution,
    Order,
    PersonalDataAccess,
    PushLog,
    RiskSignal,
)
from orders.selectors.dossier import order_risk_signals
from orders.services import staff_api_token_create
from tests.conftest import PUSH_URL
from tests.factories import (
    AnalystFactory,
    InstitutionFactory,
    PushPayloadFactory,
    ReviewerFactory,
    UserFactory,
    flag,
    pushed_order,
)

pytestmark = pytest.mark.django_db

ORDERS_CSV = "/api/v1/orders/?format=csv"
ADDRESS_BOOK_CSV = "/api/v1/orders/address-book.csv"


@pytest.fixture
def sandbox():
    return InstitutionFactory(code="sandbox-acme", is_sandbox=True)


@pytest.fixture
def analyst_headers() -> dict:
    return {"Authorization": f"Bearer {staff_api_token_create(user=AnalystFactory(), name='t').plaintext}"}


def csv_order_nos(response) -> set[str]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    return {row["order_no"] for row in csv.DictReader(io.StringIO(body))}


# --- Pushing --------------------------------------------------------------------------------------


def test_a_sandbox_push_is_answered_exactly_like_a_production_push(api_client, sandbox):
    # given
    production = InstitutionFactory()
    payload = PushPayloadFactory()
    invalid = PushPayloadFactory(orderInfo__userPhone="12", userAdditional__addressBook__phoneList=[7])

    def answers(institution):
        headers = {"Authorization": f"Bearer {institution.api_token}"}
        sent = [
            api_client.post(PUSH_URL, data=body, format="json", headers=headers) for body in (payload, payload, invalid)
        ]
        return [(response.status_code, response.json()) for response in sent]

    # when
    in_sandbox, in_production = answers(sandbox), answers(production)
    # then: the same codes and bodies, but for when each was received
    for answer in (*in_sandbox, *in_production):
        answer[1].pop("receivedAt", None)
    assert in_sandbox == in_production
    assert [status for status, _ in in_sandbox] == [201, 200, 400]
    assert Order.objects.get(institution=sandbox).sandbox is True
    assert Order.objects.get(institution=production).sandbox is False


def test_create_institution_sandbox_option():
    # when
    call_command("create_institution", "try-us", "--name", "Try us", "--sandbox", stdout=io.StringIO())
    call_command("create_institution", "real", "--name", "Real", stdout=io.StringIO())
    # then
    assert dict(Institution.objects.values_list("code", "is_sandbox")) == {"try-us": True, "real": False}


# --- Never in the queue ------------------------------------------------------------------------


def test_a_sandbox_order_never_enters_the_review_queue(sandbox):
    # given
    sandboxed = pushed_order(sandbox)
    # when / then
    assert not selectors.order_review_queue().filter(pk=sandboxed.pk).exists()
    assert services.order_claim_next(reviewer=ReviewerFactory()) is None
    production = pushed_order()
    assert services.order_claim_next(reviewer=ReviewerFactory()) == production


def test_a_sandbox_order_cannot_be_claimed_by_its_id_either(api_client, sandbox):
    # given a sandbox order and a reviewer with a review-scoped token
    order = pushed_order(sandbox)
    reviewer = ReviewerFactory()
    token = staff_api_token_create(user=reviewer, name="t", scopes=["read", "review"]).plaintext
    # when the reviewer claims it by its id, through the service and through the review API
    with pytest.raises(services.ReviewError) as refused:
        services.order_claim(order_id=order.pk, reviewer=reviewer)
    response = api_client.post(f"/api/v1/orders/{order.pk}/claim/", headers={"Authorization": f"Bearer {token}"})
    # then both refuse, and the order stays unclaimed
    assert refused.value.code == "sandbox_order"
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "sandbox_order"
    assert not services.order_can_claim(order=Order.objects.get(pk=order.pk), reviewer=reviewer)
    assert Order.objects.get(pk=order.pk).assigned_to_id is None


def test_the_admin_claim_next_skips_sandbox_orders(client, sandbox):
    # given
    pushed_order(sandbox)
    client.force_login(ReviewerFactory())
    # when
    response = client.post("/admin/orders/order/claim-next/", follow=True)
    # then
    assert "No unassigned pending orders are waiting." in response.content.decode()
    assert not Order.objects.filter(assigned_to__isnull=False).exists()


# --- Never exported or listed by default ----------------------------------------------------------


@pytest.mark.parametrize("sql_lines", [True, False], ids=["sql-engine", "python-engine"])
def test_sandbox_orders_are_not_exported_unless_asked_for(api_client, analyst_headers, sandbox, monkeypatch, sql_lines):
    # given: on PostgreSQL the SQL engine writes the lines, elsewhere (and when switched off) Python does
    monkeypatch.setattr(exports.response, "SQL_LINES", sql_lines)
    test_order, real_order = pushed_order(sandbox), pushed_order()
    # when
    default = csv_order_nos(api_client.get(ORDERS_CSV, headers=analyst_headers))
    book = csv_order_nos(api_client.get(ADDRESS_BOOK_CSV, headers=analyst_headers))
    asked = csv_order_nos(api_client.get(f"{ORDERS_CSV}&sandbox=true", headers=analyst_headers))
    # then
    assert default == book == {real_order.order_no}
    assert asked == {test_order.order_no}


def test_the_admin_export_leaves_sandbox_orders_out(client, sandbox):
    # given
    pushed_order(sandbox)
    real_order = pushed_order()
    client.force_login(UserFactory(is_superuser=True))
    # when
    response = client.get("/admin/orders/order/export.csv")
    # then
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert {row["order_no"] for row in csv.DictReader(io.StringIO(body))} == {real_order.order_no}


def test_the_api_lists_sandbox_orders_only_when_asked_and_marks_them(api_client, analyst_headers, sandbox):
    # given
    test_order, real_order = pushed_order(sandbox), pushed_order()
    # when
    default = api_client.get("/api/v1/orders/", headers=analyst_headers).json()["results"]
    asked = api_client.get("/api/v1/orders/?sandbox=all", headers=analyst_headers).json()["results"]
    detail = api_client.get(f"/api/v1/orders/{test_order.pk}/", headers=analyst_headers).json()
    # then
    assert [(row["order_no"], row["sandbox"]) for row in default] == [(real_order.order_no, False)]
    assert {(row["order_no"], row["sandbox"]) for row in asked} == {
        (real_order.order_no, False),
        (test_order.order_no, True),
    }
    assert detail["sandbox"] is True


def test_an_unreadable_sandbox_value_is_refused(api_client, analyst_headers):
    response = api_client.get("/api/v1/orders/?sandbox=maybe", headers=analyst_headers)
    assert response.status_code == 400


def test_the_admin_changelist_hides_sandbox_orders_unless_asked_and_marks_them(client, sandbox):
    # given
    test_order, real_order = pushed_order(sandbox), pushed_order()
    client.force_login(AnalystFactory())
    # when
    default = client.get("/admin/orders/order/")
    asked = client.get("/admin/orders/order/?sandbox=true")
    # then
    assert [order.pk for order in default.context["cl"].result_list] == [real_order.pk]
    assert [order.pk for order in asked.context["cl"].result_list] == [test_order.pk]
    assert 'class="sandbox-badge"' in asked.content.decode()
    assert 'class="sandbox-badge"' not in default.content.decode()


def test_the_admin_filters_combine_with_the_sandbox_choice(client, sandbox):
    # given
    test_order = pushed_order(sandbox)
    pushed_order()
    client.force_login(AnalystFactory())
    # when
    response = client.get("/admin/orders/order/?sandbox=true&review_status=pending")
    # then
    assert [order.pk for order in response.context["cl"].result_list] == [test_order.pk]


def test_the_order_page_says_it_is_a_sandbox_order(client, sandbox):
    # given
    test_order, real_order = pushed_order(sandbox), pushed_order()
    client.force_login(ReviewerFactory())
    # when
    sandbox_page = client.get(f"/admin/orders/order/{test_order.pk}/change/").content.decode()
    real_page = client.get(f"/admin/orders/order/{real_order.pk}/change/").content.decode()
    # then
    assert 'id="sandbox-banner"' in sandbox_page
    assert 'id="sandbox-banner"' not in real_page


def test_sandbox_and_production_orders_never_link(sandbox):
    # given: the same device pushed once to production and once to the sandbox
    real_order = pushed_order()
    payload = PushPayloadFactory()
    payload["userAdditional"]["deviceInfo"]["deviceId"] = Device.objects.get(order=real_order).device_id
    # when
    test_order = pushed_order(sandbox, payload=payload)
    # then: the sandbox order is not flagged for sharing the production order's device
    assert not RiskSignal.objects.filter(order=test_order, code="shared_device").exists()
    # and a second production order on that device is (the check above can fail)
    other = pushed_order(payload={**payload, "orderInfo": PushPayloadFactory()["orderInfo"]})
    assert RiskSignal.objects.filter(order=other, code="shared_device").exists()
    # and the production order's page counts and lists the production order only, not the sandbox one
    [shared] = [item for item in order_risk_signals(order_id=real_order.pk) if item.signal.code == "shared_device"]
    assert shared.links.count == 1
    assert [linked.pk for linked in shared.links.orders] == [other.pk]


# --- The daily purge -------------------------------------------------------------------------------


def _age(order: Order, hours: float) -> None:
    Order.objects.filter(pk=order.pk).update(received_at=timezone.now() - timedelta(hours=hours))
    PushLog.objects.filter(order_no=order.order_no).update(received_at=timezone.now() - timedelta(hours=hours))


def test_the_purge_job_is_scheduled_daily_on_the_maintenance_queue():
    assert settings.JOB_SCHEDULES["platform: purge sandbox orders"] == (
        "orders.tasks.sandbox_orders_purge_job",
        24 * 60,
        "maintenance",
    )


def test_the_purge_job_deletes_day_old_sandbox_orders_and_everything_hanging_off_them(sandbox):
    # given: an old and a young sandbox order, and an old production order
    old_test, young_test = pushed_order(sandbox), pushed_order(sandbox)
    old_real = pushed_order()
    for order in (old_test, young_test, old_real):
        flag(order, "simulator")
        PersonalDataAccess.objects.create(user=UserFactory(), order=order, context="test")
    _age(old_test, 25)
    _age(old_real, 25)
    _age(young_test, 23)
    # when: the job, as the maintenance worker runs it
    enqueue("orders.tasks.sandbox_orders_purge_job", queue="maintenance")
    # then
    assert set(Order.objects.values_list("pk", flat=True)) == {young_test.pk, old_real.pk}
    for model in (Device, Contact, AddressBookEntry, RiskSignal, PersonalDataAccess):
        assert not model.objects.filter(order=old_test).exists(), model
        assert model.objects.filter(order=young_test).exists(), model
    assert not PushLog.objects.filter(institution=sandbox, order_no=old_test.order_no).exists()
    assert PushLog.objects.filter(institution=sandbox, order_no=young_test.order_no).exists()
    assert PushLog.objects.filter(order_no=old_real.order_no).exists()


def test_the_purge_costs_the_same_queries_whatever_the_number_of_orders(sandbox):
    # given
    def purge_queries(count: int) -> int:
        for _ in range(count):
            _age(pushed_order(sandbox, userAdditional__addressBook__size=30), 48)
        with CaptureQueriesContext(connection) as queries:
            result = services.sandbox_orders_purge(older_than=timedelta(days=1))
        assert result.orders == count
        return len(queries)

    # when / then: set-based, one batch either way
    assert purge_queries(2) == purge_queries(6)


def test_the_purge_goes_in_batches(sandbox):
    # given
    for _ in range(5):
        _age(pushed_order(sandbox), 48)
    # when
    result = services.sandbox_orders_purge(older_than=timedelta(days=1), batch_size=2)
    # then
    assert (result.orders, Order.objects.count()) == (5, 0)
