"""Sandbox institutions' test orders: deleted, with everything hanging off them, once a day has passed.

A sandbox push is validated, stored and answered exactly like a production one
(so a partner tests against the real rules), but nobody reviews, exports or
counts it (orders.selectors), and it is not kept: the maintenance queue runs
`sandbox_orders_purge` daily. Work goes in batches of order ids, each its own
transaction, with set-based DELETE statements.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from orders.models import AddressBookEntry, Order, PushLog

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class SandboxPurgeResult:
    orders: int = 0
    address_book_entries: int = 0
    push_logs: int = 0


def sandbox_orders_purge(*, older_than: timedelta, batch_size: int = BATCH_SIZE, now=None) -> SandboxPurgeResult:
    """Delete sandbox orders received more than `older_than` ago, and sandbox institutions' push logs as old."""
    cutoff = (now or timezone.now()) - older_than
    result = SandboxPurgeResult()
    # Through the partial index order_sandbox_idx: production orders are never visited.
    orders = Order.objects.filter(sandbox=True, received_at__lt=cutoff)
    while ids := list(orders.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            # The book first, in one statement (it has no dependants); then the order, whose other
            # dependants (device, contacts, employer, signals, review events, access records, and
            # whatever later features hang on it) Django's collector deletes set-based, per table.
            books, _ = AddressBookEntry.objects.filter(order_id__in=ids).delete()
            Order.objects.filter(pk__in=ids).delete()
        result.orders += len(ids)
        result.address_book_entries += books
    logs = PushLog.objects.filter(institution__is_sandbox=True, received_at__lt=cutoff)
    while ids := list(logs.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        deleted, _ = PushLog.objects.filter(pk__in=ids).delete()
        result.push_logs += deleted
    logger.info(
        "Sandbox purge before %s: %s orders, %s address-book entries, %s push-log rows",
        cutoff.isoformat(),
        result.orders,
        result.address_book_entries,
        result.push_logs,
    )
    return result
