"""The risk signals' jobs: one per pushed order on the `signals` queue, and the sweep that finishes what was left.

A push records its order's job in its own transaction (`orders.services.push`),
so a crash between the commit and a worker picking the job up loses nothing;
the order stays `risk_pending` until the job has written its signals. Jobs may
run twice (a worker killed mid-job, a sweep that overtakes a slow queue):
`risk_signals_for_order` re-reads the order and does nothing once it is no
longer pending, so an order ends with one signal set however often it ran.
"""

from datetime import timedelta

from django.db import DatabaseError
from django.utils import timezone

from config.jobs import RetryPolicy, retry_later
from orders.models import Order
from orders.risk.compute import risk_signals_for_order

QUEUE = "signals"
JOB = "orders.risk.tasks.risk_signals_job"
# A database that refuses the work (a deadlock, a restart) is usually back within seconds.
RETRY = RetryPolicy(first=2, cap=120, attempts=6)
# Orders pending longer than this are swept: their job was lost, failed for good or is far behind.
SWEEP_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 500


def risk_signals_job(order_id: int, attempt: int = 1) -> None:
    """Write the signals of one order if they are still pending."""
    try:
        risk_signals_for_order(order_id=order_id)
    except DatabaseError as error:
        if not retry_later(JOB, order_id, queue=QUEUE, policy=RETRY, attempt=attempt, error=error):
            raise


def risk_signals_sweep() -> int:
    """Finish the orders whose signals have been pending too long (at most `SWEEP_BATCH` a run); returns how many.

    Done here rather than by enqueueing a job per order: the engine has no bulk
    enqueue, and the work per order is the same either way.
    """
    stale = timezone.now() - SWEEP_AFTER
    order_ids = list(
        Order.objects.filter(risk_pending=True, received_at__lt=stale)
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return sum(1 for order_id in order_ids if risk_signals_for_order(order_id=order_id))
