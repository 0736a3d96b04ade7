"""`manage.py create_institution CODE --name NAME [--feedback-url URL --feedback-mode MODE]`: register one."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orders.institutions import institution_create
from orders.models import FeedbackMode


class Command(BaseCommand):
    help = (
        "Create an institution and print its API token and channel key (and, with webhook feedback, its "
        "webhook secret), shown only this once."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The institution's code, which is also its ua on the channel door.")
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument("--feedback-url", default="", help="Where decisions are sent (https).")
        parser.add_argument(
            "--feedback-mode",
            choices=FeedbackMode.values,
            default=FeedbackMode.OFF,
            help="How decisions are sent: channel (signed envelope), webhook (JSON, HMAC header) or off.",
        )
        parser.add_argument(
            "--sandbox",
            action="store_true",
            help="A sandbox institution: answered like production, its orders never reviewed or exported, "
            "and deleted after a day.",
        )

    def handle(self, *args, code, name, feedback_url, feedback_mode, sandbox=False, **options):
        try:
            _, credentials = institution_create(
                code=code, name=name, feedback_url=feedback_url, feedback_mode=feedback_mode, is_sandbox=sandbox
            )
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
            ) from None
        self.stdout.write(f"api_token={credentials.api_token}")
        self.stdout.write(f"channel_key={credentials.channel_key}")
        if credentials.webhook_secret:
            self.stdout.write(f"webhook_secret={credentials.webhook_secret}")
