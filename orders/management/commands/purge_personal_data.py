"""`manage.py purge_personal_data --older-than DAYS [--dry-run]`: the retention job (run it daily)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orders.services import personal_data_purge


class Command(BaseCommand):
    help = (
        "Remove address books, raw push bodies and device identifiers of orders older than the retention "
        "period; orders, decisions and counts are kept. Every run is recorded."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=settings.PERSONAL_DATA_RETENTION_DAYS,
            metavar="DAYS",
            help="Retention period in days (default: PERSONAL_DATA_RETENTION_DAYS, %(default)s).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be removed; change nothing.")
        parser.add_argument(
            "--full", action="store_true", help="Visit every old order, not only those since the last run."
        )
        parser.add_argument("--batch-size", type=int, default=2000, help="Orders per transaction.")

    def handle(self, *args, older_than, dry_run, full, batch_size, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        run = personal_data_purge(retention_days=older_than, dry_run=dry_run, full=full, batch_size=batch_size)
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(
            f"purge #{run.pk}: orders received before {run.cutoff:%Y-%m-%d %H:%M} UTC: {run.orders} orders; "
            f"{verb} {run.address_book_entries} address-book entries, {run.push_bodies} push bodies, "
            f"identifiers of {run.devices} devices"
        )
