"""Recomputing risk signals: `risk_signals_compute` without a push and the `recompute_risk_signals` command."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone, translation

from intake.serializers import AddressBookField
from orders.models import RiskSignal
from orders.pii import pseudonym
from orders.risk import risk_signals_compute, signal_reason
from orders.selectors.dossier import order_risk_signals
from orders.services import address_book_write
from tests.factories import (
    ContactFactory,
    DeviceFactory,
    OrderFactory,
    PushPayloadFactory,
    new_mobile,
    phone_list,
    pushed_order,
)

pytestmark = pytest.mark.django_db


def rooted(order) -> RiskSignal | None:
    return RiskSignal.objects.filter(order=order, code="rooted_device").first()


def pushed(**kwargs):
    return pushed_order(None, PushPayloadFactory(**kwargs))


def english_reason(signal: RiskSignal) -> str:
    with translation.override("en"):
        return signal_reason(signal)


def linked_to(order, code: str) -> set[int]:
    found = next(item for item in order_risk_signals(order_id=order.pk) if item.code == code)
    return {linked.pk for linked in found.linked_orders}


def links_of(orders) -> list[tuple]:
    return sorted(
        (order.pk, item.code, tuple(sorted(linked.pk for linked in item.linked_orders)))
        for order in orders
        for item in order_risk_signals(order_id=order.pk)
    )


def signal_rows() -> list[tuple]:
    return sorted(RiskSignal.objects.values_list("order_id", "code", "severity", "params"), key=str)


def run(*args) -> str:
    out = StringIO()
    call_command("recompute_risk_signals", *args, stdout=out)
    return out.getvalue()


def test_recompute_restores_the_detailed_reason_on_an_order_that_was_linked_later():
    # given
    earlier = pushed(userAdditional__deviceInfo__deviceId="dev-r")
    later = pushed(userAdditional__deviceInfo__deviceId="dev-r")
    assert RiskSignal.objects.get(order=earlier, code="shared_device").params["linked"] is True

    # when
    risk_signals_compute(order=earlier)

    # then
    found = RiskSignal.objects.get(order=earlier, code="shared_device")
    assert english_reason(found) == (
        f"This device (deviceId {pseudonym('dev-r')}) was also used in the orders of 1 other applicant."
    )
    assert linked_to(earlier, "shared_device") == {later.pk}
    assert linked_to(later, "shared_device") == {earlier.pk}


def test_recompute_is_idempotent():
    # given
    contact = new_mobile()
    orders = [
        pushed(userAdditional__deviceInfo__deviceId="dev-i", userAdditional__contactInfo__mobile=contact)
        for _ in range(3)
    ]
    before = links_of(orders)

    # when
    run()
    once = signal_rows()
    run("--batch-size", "1")

    # then
    assert links_of(orders) == before
    assert signal_rows() == once
    assert {order_id for order_id, code, _ in before if code == "shared_emergency_contact"} == {o.pk for o in orders}


def test_since_limits_the_orders_and_reports_progress():
    # given: rooted devices pushed under the default severity, one of them old
    old = pushed(userAdditional__deviceInfo__isRoot="1")
    recent = [pushed(userAdditional__deviceInfo__isRoot="1") for _ in range(3)]
    old.received_at = timezone.now() - dt.timedelta(days=30)
    old.save(update_fields=["received_at"])
    since = (timezone.localdate() - dt.timedelta(days=1)).isoformat()

    # when: the severity changes, then only the recent orders are recomputed
    with override_settings(RISK_SIGNALS={"SEVERITY": {"rooted_device": "high"}}):
        output = run("--since", since, "--batch-size", "2")

    # then
    assert rooted(old).severity == "medium"
    assert {rooted(order).severity for order in recent} == {"high"}
    assert output.splitlines() == ["2/3 orders (66%)", "3/3 orders (100%)", "Recomputed the risk signals of 3 orders."]


def test_recompute_with_nothing_to_do():
    # given / when
    output = run("--since", "2999-01-01")

    # then
    assert output.strip() == "Recomputed the risk signals of 0 orders."


@pytest.mark.parametrize("args", [("--since", "yesterday"), ("--since", "2024-13-45"), ("--batch-size", "0")])
def test_bad_arguments_are_refused(args):
    # given / when / then
    with pytest.raises(CommandError):
        run(*args)


def test_recompute_reads_the_stored_book_and_contacts():
    # given: rows written by factories (no push), so every fact comes from the database
    first, spare = new_mobile(), new_mobile()
    order = OrderFactory()
    DeviceFactory(order=order, is_simulator=True)
    ContactFactory(order=order, priority=1, mobile=first)
    ContactFactory(order=order, priority=2, mobile=spare)
    entries = AddressBookField().to_internal_value([f"a_{first}", *phone_list(3)])
    address_book_write(order_id=order.pk, entries=entries)

    # when
    risk_signals_compute(order=order)

    # then
    codes = set(RiskSignal.objects.filter(order=order).values_list("code", flat=True))
    assert codes == {"simulator", "thin_address_book", "contact_not_in_address_book"}
    missing = RiskSignal.objects.get(order=order, code="contact_not_in_address_book")
    assert english_reason(missing) == "The second emergency contact's number is not in the applicant's address book."


def test_an_order_without_device_or_contacts_is_computed():
    # given
    order = OrderFactory()

    # when
    risk_signals_compute(order=order)

    # then
    assert set(RiskSignal.objects.filter(order=order).values_list("code", flat=True)) == {"thin_address_book"}


def test_recompute_query_count_per_batch_does_not_grow_with_books(django_assert_max_num_queries):
    # given: two orders with 1000-entry books
    for _ in range(2):
        pushed(userAdditional__addressBook__size=1000)

    # when / then: count, batch, contacts, 2 book facts, 2x4 look-ups, delete (3), insert, end-of-batch
    with django_assert_max_num_queries(20):
        run()
