"""`manage.py rotate_webhook_secret CODE`: issue an institution a new webhook secret and print it, once."""

from django.core.management.base import BaseCommand, CommandError

from orders.institutions import institution_rotate_webhook_secret
from orders.models import Institution


class Command(BaseCommand):
    help = "Issue a new webhook secret for an institution and print it (shown only this once; the old one stops)."

    def add_arguments(self, parser):
        parser.add_argument("code", help="The institution's code (ua).")

    def handle(self, *args, code, **options):
        institution = Institution.objects.filter(code=code).first()
        if institution is None:
            raise CommandError(f"No institution has the code {code!r}.")
        credentials = institution_rotate_webhook_secret(institution=institution)
        self.stdout.write(f"webhook_secret={credentials.webhook_secret}")
