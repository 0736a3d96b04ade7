"""`manage.py create_staff_token USERNAME --name NAME [--days N] [--scope review]`: issue a personal API token."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from orders.choices import TokenScope
from orders.services import staff_api_token_create


class Command(BaseCommand):
    help = "Issue a personal API token for a staff user and print it (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username", help="The staff user the token acts as.")
        parser.add_argument("--name", required=True, help="What the token is for, e.g. the script's name.")
        parser.add_argument("--days", type=int, default=None, help="Expire after this many days (default: never).")
        parser.add_argument(
            "--scope",
            action="append",
            choices=TokenScope.values,
            default=[],
            dest="scopes",
            help="What the token may do: read (always) and review (claim and decide). Repeatable.",
        )

    def handle(self, *args, username, name, days, scopes, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            issued = staff_api_token_create(user=user, name=name, expires_at=expires_at, scopes=scopes)
        except (ValueError, ValidationError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"api_token={issued.plaintext}")
