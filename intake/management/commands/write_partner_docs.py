"""`manage.py write_partner_docs`: regenerate the partner guide's field tables, error codes and limits."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from intake import guide


class Command(BaseCommand):
    help = "Write the generated parts of docs/integration.md (field tables, error codes, limits) from the code."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only say whether the guide is up to date.")

    def handle(self, *args, check: bool = False, **options):
        path = settings.BASE_DIR / "docs" / "integration.md"
        current = path.read_text("utf-8")
        filled = guide.fill(current)
        if not guide.blocks(current):
            raise CommandError(f"No generated blocks in {path.name}.")
        if check:
            if filled != current:
                raise CommandError(f"{path.name} is out of date; run manage.py write_partner_docs.")
            self.stdout.write(f"{path.name} is up to date.")
            return
        path.write_text(filled, "utf-8")
        self.stdout.write(f"Wrote {len(guide.blocks(filled))} generated blocks into {path.name}.")
