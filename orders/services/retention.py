"""Personal-data retention (PIPL): purge what an order no longer needs once its retention period is over.

After `PERSONAL_DATA_RETENTION_DAYS` an order keeps what the lender's records
need (the order, its emergency contacts and employer, its review and decision,
aggregate counts such as `address_book_count`) and loses what was only needed
to assess it: the address book, the raw push bodies and the device's
identifiers and location, with the identifiers its shared-device signal
names (the signal stays, saying they were purged; `orders.risk.links` derives
links from the devices, so purged devices stop counting at once), and the values
a revision changed. Work goes in batches of order ids, each its own
transaction, with set-based DELETE/UPDATE statements: no row is loaded into
Python and no lock is held for the whole run.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from orders.models import AddressBookEntry, Device, Order, OrderRevision, PersonalDataPurge, PushLog, RiskSignal
from orders.pii import DEVICE_IDENTIFIERS, STORED_MASK_FIELDS

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
# Text columns of the device that the purge empties: its identifiers and the GPS address.
_DEVICE_TEXTS = (*DEVICE_IDENTIFIERS, "gps_address")
_DEVICE_CLEARED = {
    **dict.fromkeys(_DEVICE_TEXTS, ""),
    # The stored masked forms go with their identifiers and address.
    **dict.fromkeys(STORED_MASK_FIELDS, ""),
    "gps_longitude": None,
    "gps_latitude": None,
    "extra": {},
}
# The signal whose facts name device identifiers, and what it keeps of them (orders.risk.reasons).
_SHARED_DEVICE = "shared_device"
_SHARED_DEVICE_PURGED = {"purged": True}
# Devices that still hold something to clear (so a re-run counts, and writes, nothing).
_DEVICE_NOT_CLEARED = (
    Q(gps_longitude__isnull=False)
    | Q(gps_latitude__isnull=False)
    | ~Q(extra={})
    | ~Q(**dict.fromkeys(_DEVICE_TEXTS, ""))
)


def personal_data_purge(
    *, retention_days: int, dry_run: bool = False, full: bool = False, batch_size: int = BATCH_SIZE, now=None
) -> PersonalDataPurge:
    """Purge the personal data of orders received more than `retention_days` ago; returns the run's record.

    Orders received before the cutoff of the last completed run were purged
    then, so only the orders since are visited (`full=True` visits them all
    again, e.g. after restoring a backup). A dry run counts and changes nothing.
    """
    if retention_days < 1:
        raise ValueError("The retention period must be at least one day.")
    cutoff = (now or timezone.now()) - timedelta(days=retention_days)
    since = None if full else _purged_before()
    run = PersonalDataPurge.objects.create(cutoff=cutoff, retention_days=retention_days, dry_run=dry_run)
    orders = Order.objects.filter(received_at__lt=cutoff)
    bodies = PushLog.objects.filter(received_at__lt=cutoff, body__isnull=False)
    if since is not None:
        orders = orders.filter(received_at__gte=since)
        bodies = bodies.filter(received_at__gte=since)

    if dry_run:
        order_ids = orders.values("pk")
        run.orders = orders.count()
        run.address_book_entries = AddressBookEntry.objects.filter(order_id__in=order_ids).count()
        run.devices = Device.objects.filter(_DEVICE_NOT_CLEARED, order_id__in=order_ids).count()
        run.push_bodies = bodies.count()
    else:
        _purge_orders(run, orders, batch_size)
        _purge_bodies(run, bodies, batch_size)
    run.finished_at = timezone.now()
    run.save()
    logger.info(
        "Personal data purge%s: %s orders before %s, %s address-book entries, %s devices, %s push bodies",
        " (dry run)" if dry_run else "",
        run.orders,
        cutoff.isoformat(),
        run.address_book_entries,
        run.devices,
        run.push_bodies,
    )
    return run


def _purged_before() -> datetime | None:
    """The cutoff up to which a completed (not dry) run has already purged everything."""
    return PersonalDataPurge.objects.filter(dry_run=False, finished_at__isnull=False).aggregate(Max("cutoff"))[
        "cutoff__max"
    ]


def _purge_orders(run: PersonalDataPurge, orders, batch_size: int) -> None:
    last_pk = 0
    while True:
        ids = list(orders.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        last_pk = ids[-1]
        with transaction.atomic():
            # No signals or dependants on the book: Django issues one DELETE ... WHERE order_id IN (...).
            deleted, _ = AddressBookEntry.objects.filter(order_id__in=ids).delete()
            devices = Device.objects.filter(_DEVICE_NOT_CLEARED, order_id__in=ids).update(**_DEVICE_CLEARED)
            RiskSignal.objects.filter(order_id__in=ids, code=_SHARED_DEVICE).update(params=_SHARED_DEVICE_PURGED)
            # What a revision changed holds the old and new values themselves: the count stays, they go.
            OrderRevision.objects.filter(order_id__in=ids).exclude(changes=[]).update(changes=[])
        run.orders += len(ids)
        run.address_book_entries += deleted
        run.devices += devices


def _purge_bodies(run: PersonalDataPurge, bodies, batch_size: int) -> None:
    # Rows leave the filter once their body is NULL, so the next batch starts where this one ended.
    while ids := list(bodies.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        run.push_bodies += PushLog.objects.filter(pk__in=ids).update(body=None)
