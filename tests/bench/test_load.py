"""The benchmark's load plumbing: blocks and their alternation, signal lags, lock waits, the table. No times."""

import json
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bench import load, probe
from bench.client import FLOOR_PATH, PUSH_PATH
from bench.payloads import push_document
from bench.run import table
from intake.services import PushContext, push_receive
from orders.choices import Door
from orders.models import Order
from tests.factories import InstitutionFactory, OrderFactory


def test_blocks_cover_every_item_once_in_order():
    # when
    blocks = load._blocks(list(range(10)), 4)

    # then
    assert blocks == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_timed_blocks_alternate_the_kinds_and_wait_for_signals_after_platform_blocks(monkeypatch):
    # given: two kinds of three blocks each, a fake sender and a fake watch on the signals
    sent, drained = [], []

    def fake_block(port, path, headers, bodies):
        sent.append((path, [number for number, _ in bodies]))
        return {
            "started": 0.0,
            "answered_at": 1.0,
            "answered": dict.fromkeys((n for n, _ in bodies), 0.0),
            "failures": [],
        }

    class FakeSignals:
        def drained(self):
            drained.append(len(sent))
            return 3.0

        def lags(self, answered):
            return [0.5] * len(answered)

        def between_blocks(self):
            pass

    monkeypatch.setattr(load, "push_block", fake_block)
    kinds = {
        "platform": (PUSH_PATH, [[("p1", b"")], [("p2", b"")], [("p3", b"")]]),
        "floor": (FLOOR_PATH, [[("f1", b"")], [("f2", b"")], [("f3", b"")]]),
    }

    # when
    totals = load.timed_blocks(0, "token", FakeSignals(), kinds)

    # then: A B, B A, A B; a platform block's clock runs until its signals are written
    assert [numbers[0] for _, numbers in sent] == ["p1", "f1", "f2", "p2", "p3", "f3"]
    assert totals["platform"]["seconds"] == 9.0
    assert totals["platform"]["answer_seconds"] == 3.0
    assert totals["floor"]["seconds"] == 3.0
    assert totals["platform"]["lags"] == [0.5] * 3
    assert totals["floor"]["lags"] == []
    # before every block (nothing left over) and after every platform block
    assert len(drained) == 6 + 3


def test_summary_reports_rates_and_lag_percentiles():
    # given
    total = {"seconds": 2.0, "answer_seconds": 1.0, "pushes": 100, "failures": 0, "lags": [i / 100 for i in range(100)]}

    # when
    summary = load._summary(total)

    # then
    assert summary["pushes_per_second"] == 50.0
    assert summary["answered_per_second"] == 100.0
    assert summary["lag_p50_ms"] == 495.0
    assert summary["lag_p95_ms"] == 940.0  # the 95th of 100 sorted lags (index 94)
    assert summary["lag_max_ms"] == 990.0


def test_hot_identifier_documents_share_one_imei_or_pairs():
    # when
    document = push_document("HOT-1", book_size=3, imei="861234567890123")
    plain = push_document("PLAIN-1", book_size=3)

    # then
    assert document["userAdditional"]["deviceInfo"]["imei"] == "861234567890123"
    assert "imei" not in plain["userAdditional"]["deviceInfo"]


@pytest.mark.django_db
def test_signals_job_stamps_when_it_cleared_the_pending_mark():
    # given
    institution = InstitutionFactory()
    body = json.dumps(push_document("LAG-1", book_size=3)).encode()
    before = timezone.now()

    # when: the push runs its signals job inline (tests), as a worker would after the commit
    push_receive(institution=institution, context=PushContext(door=Door.REST), payload_raw=body, logged_body=body)

    # then
    order = Order.objects.get(order_no="LAG-1")
    assert order.risk_pending is False
    assert before <= order.risk_computed_at <= timezone.now()


@pytest.mark.django_db(transaction=True)
def test_signals_watch_waits_for_pending_orders_and_reads_lags(monkeypatch):
    # given: the runner's own connection to the test database, and a short patience
    if connection.vendor != "postgresql":
        pytest.skip("the runner watches PostgreSQL")
    settings = connection.settings_dict
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    url = f"postgresql://{settings['USER']}@{host}:{port}/{settings['NAME']}"
    monkeypatch.setattr(load, "DRAIN_TIMEOUT_SECONDS", 0.05)
    now = timezone.now()
    OrderFactory(order_no="DONE-1", risk_computed_at=now + timedelta(seconds=1.5))
    pending = OrderFactory(order_no="PENDING-1", risk_pending=True)
    watch = load.Signals(url)
    try:
        # when
        lags = watch.lags({"DONE-1": now.timestamp(), "PENDING-1": now.timestamp()})
        with pytest.raises(SystemExit, match="still pending"):
            watch.drained()
        Order.objects.filter(pk=pending.pk).update(risk_pending=False)
        drained_at = watch.drained()
    finally:
        watch.close()

    # then: a lag only for the order whose signals are written
    assert lags == [pytest.approx(1.5, abs=0.01)]
    assert drained_at > 0


def test_lock_waits_are_not_available_until_the_project_records_them(monkeypatch):
    # given: a project without orders.risk.locks
    monkeypatch.setitem(sys.modules, "orders.risk.locks", None)

    # when
    waits = probe.lock_waits()

    # then
    assert waits["lock_waits"] is None
    assert waits["lock_waits_note"].startswith("n/a")
    assert load.waits_between(waits, waits) == {"lock_waits": None, "note": waits["lock_waits_note"]}
    assert load.waits_between({"lock_waits": 3, "lock_waits_note": ""}, {"lock_waits": 10, "lock_waits_note": ""}) == {
        "lock_waits": 7,
        "note": "",
    }


def _side(rate: float, lag_p95: float = 500.0) -> dict:
    return {
        "pushes": 10,
        "failures": 0,
        "pushes_per_second": rate,
        "answered_per_second": rate * 2,
        "lag_p50_ms": 100.0,
        "lag_p95_ms": lag_p95,
        "lag_max_ms": lag_p95,
    }


def test_table_states_each_target_as_a_ratio_and_says_when_lock_waits_are_missing():
    # given: the results of an `--empty-only` run
    results = {
        "machine": {"cpus": 2, "job_workers": 2},
        "ingest_empty": {
            "platform": {"median_ms": 13.0, "p95_ms": 20.0},
            "floor": {"median_ms": 10.0, "p95_ms": 15.0},
            "ratio": 1.3,
        },
        "throughput": [
            {"book_size": 100, "platform": _side(70.0), "floor": _side(100.0), "ratio": 0.7},
            {"book_size": 1_000, "platform": _side(30.0, 2500.0), "floor": _side(40.0), "ratio": 0.75},
        ],
        "throughput_lock_waits": {"lock_waits": None, "note": "n/a (not recorded)"},
        "hot_identifier": {
            "orders": 5_000,
            "hot": _side(40.0),
            "pairs": _side(50.0),
            "ratio": 0.8,
            "lock_waits": {"lock_waits": 0, "note": ""},
        },
    }

    # when
    lines = table(results).splitlines()

    # then
    def line(start: str) -> str:
        return next(text for text in lines if text.startswith(start))

    assert line("1 ingest").endswith("<= 1.3x     ok")
    assert line("2 throughput, 100 ").endswith(">= 0.6x     ok")
    assert line("2 throughput, 1,000").endswith(">= 0.8x     MISSED")
    lag_lines = [text for text in lines if "signal lag after the answer" in text]
    assert lag_lines[0].endswith("ok")
    assert lag_lines[1].endswith("MISSED")
    assert "n/a (not recorded)" in line("  signal lock waits")
    assert line("2 one IMEI").endswith(">= 0.8x     ok")
