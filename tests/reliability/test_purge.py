"""`purge_personal_data`: address books, raw bodies and device identifiers go; orders, decisions and counts stay."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from orders.choices import ReviewStatus
from orders.models import AddressBookEntry, Device, Order, PersonalDataPurge, PushLog, RiskSignal
from orders.selectors.dossier import order_risk_signals
from orders.services import personal_data_purge
from tests.factories import InstitutionFactory, PushPayloadFactory, pushed_order

pytestmark = pytest.mark.django_db


def _aged(order: Order, days: int) -> Order:
    """Moves an order (and its push-log rows) `days` into the past."""
    received = timezone.now() - timedelta(days=days)
    Order.objects.filter(pk=order.pk).update(received_at=received, review_status=ReviewStatus.APPROVED)
    PushLog.objects.filter(institution=order.institution, order_no=order.order_no).update(received_at=received)
    order.refresh_from_db()
    return order


def _full_device_payload():
    payload = PushPayloadFactory(userAdditional__addressBook__size=7)
    payload["userAdditional"]["deviceInfo"].update(
        {"idfa": "8F2C1A34-0000-4B7D-9E21-AB12CD34EF56", "imei": "861234567890123", "vendorColour": "red"}
    )
    return payload


def _purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_personal_data", *args, stdout=out)
    return out.getvalue()


def test_purge_removes_personal_data_of_old_orders_only():
    # given: one order past the retention period, one inside it
    institution = InstitutionFactory()
    old = _aged(pushed_order(institution, _full_device_payload()), days=200)
    recent = _aged(pushed_order(institution, _full_device_payload()), days=10)

    # when
    output = _purge("--older-than", "180")

    # then: the old order keeps its record, decision and counts, and loses the rest
    old.refresh_from_db()
    assert old.review_status == ReviewStatus.APPROVED
    assert old.address_book_count == 7
    assert not AddressBookEntry.objects.filter(order=old).exists()
    device = Device.objects.get(order=old)
    assert (device.device_id, device.idfa, device.imei, device.gps_address) == ("", "", "", "")
    assert (device.gps_longitude, device.gps_latitude, device.extra) == (None, None, {})
    # and the masked forms stored for exports go with them
    assert (device.device_id_pseudonym, device.imei_pseudonym, device.idfa_pseudonym, device.gps_address_masked) == (
        ("", "", "", "")
    )
    assert device.os_type == "iOS"  # not an identifier: kept
    assert PushLog.objects.get(order_no=old.order_no).body is None
    assert old.contacts.count() == 2
    # ... and the recent one is untouched
    assert AddressBookEntry.objects.filter(order=recent).count() == 7
    assert Device.objects.get(order=recent).imei == "861234567890123"
    assert PushLog.objects.get(order_no=recent.order_no).body is not None
    run = PersonalDataPurge.objects.get()
    assert (run.orders, run.address_book_entries, run.devices, run.push_bodies, run.dry_run) == (1, 7, 1, 1, False)
    assert run.finished_at is not None
    assert "7 address-book entries" in output


def test_dry_run_counts_and_changes_nothing():
    # given
    old = _aged(pushed_order(payload=_full_device_payload()), days=400)

    # when
    output = _purge("--older-than", "365", "--dry-run")

    # then
    assert AddressBookEntry.objects.filter(order=old).count() == 7
    assert Device.objects.get(order=old).imei == "861234567890123"
    run = PersonalDataPurge.objects.get()
    assert (run.orders, run.address_book_entries, run.devices, run.push_bodies, run.dry_run) == (1, 7, 1, 1, True)
    assert "would remove 7 address-book entries" in output


def test_retention_defaults_to_the_setting(settings):
    # given
    settings.PERSONAL_DATA_RETENTION_DAYS = 30
    older, younger = _aged(pushed_order(), days=31), _aged(pushed_order(), days=29)

    # when
    _purge()

    # then
    assert not AddressBookEntry.objects.filter(order=older).exists()
    assert AddressBookEntry.objects.filter(order=younger).exists()


def test_a_second_run_visits_only_orders_since_the_last_one():
    # given: a completed purge, then an order that aged past the cutoff before it... and one after
    first = _aged(pushed_order(), days=100)
    personal_data_purge(retention_days=90)
    later = _aged(pushed_order(), days=95)  # received before the first cutoff: a restored backup, say

    # when
    incremental = personal_data_purge(retention_days=90)
    full = personal_data_purge(retention_days=90, full=True)

    # then: the incremental run trusts the first; --full catches the straggler
    assert (incremental.orders, incremental.address_book_entries) == (0, 0)
    assert (full.orders, full.address_book_entries, full.devices) == (2, 5, 1)
    assert not AddressBookEntry.objects.filter(order__in=[first, later]).exists()


@pytest.mark.parametrize("orders", [1, 6])
def test_purge_queries_do_not_grow_with_the_orders_in_a_batch(django_assert_num_queries, orders):
    # given
    institution = InstitutionFactory()
    for _ in range(orders):
        _aged(pushed_order(institution), days=400)

    # when / then: last-run lookup, run row, ids, delete, update, signal facts, revisions update (+ savepoints),
    # ids, bodies, end, run row
    with django_assert_num_queries(14):
        run = personal_data_purge(retention_days=365, batch_size=100)
    assert run.orders == orders


def test_purge_leaves_no_device_identifier_in_signals_and_purged_devices_stop_counting(client):
    # given: three applicants on one device, the first past the retention period
    institution, imei = InstitutionFactory(), "861234500000001"
    old = _aged(pushed_order(institution, PushPayloadFactory(userAdditional__deviceInfo__imei=imei)), days=400)
    others = [pushed_order(institution, PushPayloadFactory(userAdditional__deviceInfo__imei=imei)) for _ in range(2)]

    # when
    personal_data_purge(retention_days=365)

    # then: the old order keeps its flag, without the identifier ...
    purged = RiskSignal.objects.get(order=old, code="shared_device")
    assert imei not in json.dumps(purged.params)
    with translation.override("en"):
        (item,) = [found for found in order_risk_signals(order_id=old.pk) if found.code == "shared_device"]
        assert "purged" in item.reason
    assert item.linked_orders == []
    # ... and the others count only each other
    for order in others:
        (item,) = [found for found in order_risk_signals(order_id=order.pk) if found.code == "shared_device"]
        assert [linked.pk for linked in item.linked_orders] == [other.pk for other in others if other != order]
        assert item.links.count == 1


def test_batches_cover_every_order():
    # given
    institution = InstitutionFactory()
    orders = [_aged(pushed_order(institution), days=400) for _ in range(5)]

    # when
    run = personal_data_purge(retention_days=365, batch_size=2)

    # then
    assert (run.orders, run.address_book_entries, run.push_bodies) == (5, 25, 5)
    assert not AddressBookEntry.objects.filter(order__in=orders).exists()


@pytest.mark.parametrize(
    ("args", "message"), [(["--older-than", "0"], "at least 1 day"), (["--batch-size", "0"], "at least 1")]
)
def test_bad_arguments_are_refused_and_nothing_is_recorded(args, message):
    # when / then
    with pytest.raises(CommandError, match=message):
        _purge(*args)
    assert not PersonalDataPurge.objects.exists()


@pytest.mark.django_db
def test_purge_runs_are_listed_read_only_in_the_admin(client):
    # given a recorded purge run
    from django.contrib.auth import get_user_model

    call_command("purge_personal_data", "--older-than", "30", stdout=StringIO())
    client.force_login(get_user_model().objects.create_superuser("auditor", "a@example.com", "pw-for-tests-only"))

    # then administrators can read it and nobody can add or change one
    assert client.get("/admin/orders/personaldatapurge/").status_code == 200
    assert client.get("/admin/orders/personaldatapurge/add/").status_code == 403


def test_purge_empties_the_values_a_revision_changed_and_keeps_its_count():
    # given
    from orders.models import OrderRevision

    old, recent = pushed_order(), pushed_order()
    for order in (old, recent):
        OrderRevision.objects.create(
            order=order,
            previous_payload_sha256="a" * 64,
            payload_sha256="b" * 64,
            changes=[{"path": "orderInfo.userPhone", "old": "13900000000", "new": "13900000001"}],
            change_count=1,
        )
    _aged(old, days=400)

    # when
    personal_data_purge(retention_days=365)

    # then
    assert OrderRevision.objects.get(order=old).changes == []
    assert OrderRevision.objects.get(order=old).change_count == 1
    assert OrderRevision.objects.get(order=recent).changes != []
