"""`manage.py rotate_institution_credentials CODE [--api-token] [--channel-key] [--overlap-hours N]`."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from orders.institutions import institution_rotate_api_token, institution_rotate_channel_key
from orders.models import Institution

# As in the admin: at most a month, then the old credential must go.
MAX_OVERLAP_HOURS = 30 * 24


class Command(BaseCommand):
    help = (
        "Issue a new API token and/or channel key for an institution and print them (shown only this once). "
        "The old ones stay valid for the overlap (default: CREDENTIAL_ROTATION_OVERLAP_HOURS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The institution's code (its ua).")
        parser.add_argument("--api-token", action="store_true", help="Rotate the API token.")
        parser.add_argument("--channel-key", action="store_true", help="Rotate the channel key.")
        parser.add_argument(
            "--overlap-hours",
            type=int,
            default=None,
            help="Hours the old credential stays valid beside the new one; 0 retires it at once.",
        )

    def handle(self, *args, code, api_token, channel_key, overlap_hours, **options):
        institution = Institution.objects.filter(code=code).first()
        if institution is None:
            raise CommandError(f"No institution with code {code!r}.")
        if not (api_token or channel_key):
            raise CommandError("Say what to rotate: --api-token, --channel-key, or both.")
        if overlap_hours is not None and not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
            raise CommandError(f"--overlap-hours must be from 0 to {MAX_OVERLAP_HOURS}.")
        overlap = None if overlap_hours is None else timedelta(hours=overlap_hours)
        if api_token:
            issued = institution_rotate_api_token(institution=institution, overlap=overlap)
            self.stdout.write(f"api_token={issued.api_token}")
            self._previous("api_token", issued.previous_valid_until)
        if channel_key:
            issued = institution_rotate_channel_key(institution=institution, overlap=overlap)
            self.stdout.write(f"channel_key={issued.channel_key}")
            self._previous("channel_key", issued.previous_valid_until)

    def _previous(self, name: str, until) -> None:
        # On stderr: stdout carries only the `name=value` lines a script reads.
        when = timezone.localtime(until).isoformat() if until else "now (retired)"
        self.stderr.write(f"previous {name} valid until {when}")
