"""`manage.py recompute_risk_signals [--since DATE] [--pending]`: backfill risk signals, or finish pending ones.

`--pending` is the sweep to run every few minutes (cron, a systemd timer): it
computes the signals of accepted orders whose worker died between answering
the push and writing them (`Order.risk_pending`).
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from orders.models import Order
from orders.risk import risk_signals_recompute


def _since(value: str) -> dt.datetime:
    """An ISO date (midnight, local time) or datetime (local time unless it says otherwise)."""
    moment = parse_datetime(value)
    if moment is None:
        try:
            day = parse_date(value)
        except ValueError:
            day = None
        if day is None:
            raise CommandError(f"--since {value!r} is not an ISO date (2024-05-01) or datetime (2024-05-01T08:00).")
        moment = dt.datetime.combine(day, dt.time.min)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = (
        "Recompute the risk signals of every order (or of those received since --since), in batches, "
        "one transaction per batch, during which signal jobs wait. Orders they link to gain the signal if missing. "
        "With --pending, only the orders whose signals were not written after their push."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Only orders received at or after this ISO date or datetime.")
        parser.add_argument(
            "--pending", action="store_true", help="Only orders still marked risk_pending (the periodic sweep)."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=200,
            help="Orders per transaction (default 200); pushes' signals wait for a batch, so keep it small.",
        )

    def handle(self, *args, since=None, pending=False, batch_size=200, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        queryset = Order.objects.all()
        if since:
            queryset = queryset.filter(received_at__gte=_since(since))
        if pending:
            queryset = queryset.filter(risk_pending=True)

        def progress(done: int, total: int) -> None:
            percent = done * 100 // total if total else 100
            self.stdout.write(f"{done}/{total} orders ({percent}%)")
            self.stdout.flush()

        done = risk_signals_recompute(queryset=queryset, batch_size=batch_size, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Recomputed the risk signals of {done} orders."))
