"""Signal computations at once on PostgreSQL, a thread (and a connection) each: who waits for whom, and the links."""

import time
from concurrent.futures import ThreadPoolExecutor, wait

import pytest
from django.db import connection, transaction

from orders.models import Order, RiskSignal
from orders.risk import risk_signals_for_order
from orders.risk.locks import identifier_key, lock_all_writers, lock_identifiers, signal_lock_waits
from orders.selectors.dossier import order_risk_signals
from tests.factories import InstitutionFactory, PushPayloadFactory, pushed_order

# Threads (each its own connection) running computations: the server is shared, its connections counted.
THREADS = 16


@pytest.fixture
def pending_orders(transactional_db, settings):
    """`make(count, **payload)`: pushed orders whose signal jobs have not run yet."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent signal writers need PostgreSQL (SQLite serializes every transaction)")
    settings.JOBS_INLINE = False
    institution = InstitutionFactory()

    def make(count: int, **payload) -> list[Order]:
        return [pushed_order(institution, PushPayloadFactory(**payload)) for _ in range(count)]

    return make


def _compute(order_id: int) -> bool:
    try:
        return risk_signals_for_order(order_id=order_id)
    finally:
        connection.close()  # this thread's own connection


def _wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _shared_device_links(orders: list[Order]) -> dict[int, set[int]]:
    links = {}
    for order in orders:
        (item,) = [item for item in order_risk_signals(order_id=order.pk) if item.code == "shared_device"]
        links[order.pk] = {linked.pk for linked in item.linked_orders}
    return links


def test_computations_sharing_a_device_wait_for_each_other_and_all_link(pending_orders):
    # given: eight applicants' orders on one device, pending, and a computation holding the device's lock
    imei = "864000000000001"
    orders = pending_orders(8, userAdditional__deviceInfo__imei=imei)
    before = signal_lock_waits()

    # when: the eight start together while it holds the lock, then it commits
    with ThreadPoolExecutor(len(orders)) as pool:
        with transaction.atomic():
            lock_identifiers([identifier_key("imei", imei)])
            results = [pool.submit(_compute, order.pk) for order in orders]
            _wait_for(lambda: signal_lock_waits() - before == len(orders), "every computation to wait")
            assert not any(result.done() for result in results)
        assert all(result.result(timeout=60) for result in results)

    # then: each waited once, and every order is flagged and linked to the seven others
    assert signal_lock_waits() - before == len(orders)
    assert RiskSignal.objects.filter(code="shared_device", order__in=orders).count() == len(orders)
    assert _shared_device_links(orders) == {order.pk: {o.pk for o in orders} - {order.pk} for order in orders}
    assert not Order.objects.filter(risk_pending=True).exists()


def test_unrelated_computations_never_wait(pending_orders):
    # given: 64 orders sharing nothing, and a computation holding its own locks meanwhile
    orders = pending_orders(64)
    before = signal_lock_waits()

    # when
    with ThreadPoolExecutor(THREADS) as pool, transaction.atomic():
        lock_identifiers([identifier_key("imei", "864000000000002"), identifier_key("phone", "13900000000")])
        results = [pool.submit(_compute, order.pk) for order in orders]
        _, not_done = wait(results, timeout=120)
        # (leaving the transaction lets any computation that did wait finish, so a failure cannot hang)

    # then: all were written while the other held its locks, and none waited
    assert not not_done
    assert all(result.result() for result in results)
    assert signal_lock_waits() - before == 0
    assert not Order.objects.filter(risk_pending=True).exists()


def test_a_recompute_batch_holds_every_computation_off(pending_orders):
    # given: one pending order, and a recompute batch's lock held
    (order,) = pending_orders(1)
    before = signal_lock_waits()

    # when
    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic():
            lock_all_writers()
            result = pool.submit(_compute, order.pk)
            _wait_for(lambda: signal_lock_waits() - before == 1, "the computation to wait")
            assert not result.done()
        assert result.result(timeout=60)

    # then
    assert signal_lock_waits() - before == 1
    assert not Order.objects.filter(risk_pending=True).exists()
