"""The deliveries' jobs (queue `deliveries`): one per attempt, and the sweep that sends what was left.

Each decision's delivery gets a job in the decision's transaction, and each
failed attempt schedules the next (config.jobs.enqueue_at). The sweep, every
minute, sends the deliveries that are overdue and not being sent: those whose
worker died between claiming and recording, or whose job was lost. It sends
them itself, one after the other, within a time budget below the queue's job
timeout; an attempt claims its delivery, so a sweep and a job never send the
same delivery at the same moment.
"""

import time
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from orders.feedback.services import delivery_attempt
from orders.models import Delivery, DeliveryStatus

# A retry's job runs within the engine's scheduler period (30 s) of being due; the sweep leaves it that long and more.
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 200
# Below the `deliveries` queue's job timeout (30 s), minus one attempt's longest (about 8 s).
SWEEP_BUDGET_SECONDS = 20


def delivery_send_job(delivery_id: int) -> None:
    """One attempt of one delivery (a no-op if it was delivered, superseded or is being sent meanwhile)."""
    delivery_attempt(delivery_id=delivery_id)


def deliveries_overdue(*, now=None, limit: int = SWEEP_BATCH) -> list[int]:
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def deliveries_sweep() -> int:
    """Attempt overdue deliveries, oldest due first, until the batch or the time budget runs out; returns how many."""
    started = time.monotonic()
    attempted = 0
    for delivery_id in deliveries_overdue():
        if time.monotonic() - started > SWEEP_BUDGET_SECONDS:
            break
        attempted += delivery_attempt(delivery_id=delivery_id) is not None
    return attempted
