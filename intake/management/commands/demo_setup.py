"""`manage.py demo_setup`: a demo administrator and a demo institution for `make run`."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from orders.institutions import institution_create, institution_rotate_api_token, institution_rotate_channel_key
from orders.models import Institution

DEMO_INSTITUTION = "demo"


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo administrator and demo institution and print their "
        "credentials. Secrets are stored hashed or encrypted, so each run issues new ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="The port `make run` serves on (default 8000).")

    def handle(self, *args, port, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup is for development only (DJANGO_DEBUG=true).")
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()

        institution = Institution.objects.filter(code=DEMO_INSTITUTION).first()
        if institution is None:
            _, credentials = institution_create(code=DEMO_INSTITUTION, name="Demo institution")
            token, key = credentials.api_token, credentials.channel_key
        else:
            token = institution_rotate_api_token(institution=institution).api_token
            key = institution_rotate_channel_key(institution=institution).channel_key

        base = f"http://127.0.0.1:{port}"
        sample = Path(settings.BASE_DIR) / "docs" / "samples" / "push-ios-office-worker.json"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"Demo administrator:  {base}/admin/",
                    "  username=admin",
                    f"  password={password}",
                    f"Demo institution:    code (ua)={DEMO_INSTITUTION}",
                    f"  api_token={token}",
                    f"  channel_key={key}",
                    "",
                    "Push the sample order:",
                    f"  curl -sS -X POST {base}/api/v1/user-additional/ \\",
                    f"    -H 'Authorization: Bearer {token}' \\",
                    "    -H 'Content-Type: application/json' \\",
                    f"    --data-binary @{sample.resolve()}",
                    "",
                    f"API docs: {base}/api/docs/",
                    "",
                ]
            )
        )
