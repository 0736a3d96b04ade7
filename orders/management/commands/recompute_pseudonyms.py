"""`manage.py recompute_pseudonyms`: rewrite the stored device-identifier pseudonyms after PII_PSEUDONYM_KEY changed."""

from django.core.management.base import BaseCommand

from orders.services import device_pseudonyms_recompute


class Command(BaseCommand):
    help = (
        "Recompute the stored pseudonyms of device identifiers (used by masked CSV exports) under the "
        "current PII_PSEUDONYM_KEY, in batches, one transaction per batch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, batch_size: int, **options):
        done = device_pseudonyms_recompute(
            batch_size=batch_size, progress=lambda count: self.stderr.write(f"{count} devices", ending="\r")
        )
        self.stdout.write(f"Recomputed the pseudonyms of {done} devices.")
