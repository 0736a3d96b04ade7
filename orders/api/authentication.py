"""`Authorization: Bearer <id>.<secret>` for staff reads: a staff user's personal API token.

Issuing and revoking tokens are services (`orders.services.staff_tokens`).
"""

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions

from config.bearer import BearerTokenAuthentication
from orders.models import StaffApiToken


class StaffTokenAuthentication(BearerTokenAuthentication):
    """A staff user's personal token (one query, user joined).

    Unknown, wrong, revoked, expired, or held by a user no longer active staff:
    the same 401. An institution's push token is simply unknown here.
    """

    invalid_message = "Invalid, expired or revoked API token."

    def lookup(self, token_id):
        token = (
            StaffApiToken.objects.select_related("user")
            .filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
                token_id=token_id,
                revoked_at__isnull=True,
            )
            .first()
        )
        return (token, token.token_hash) if token else None

    def accept(self, token):
        if not (token.user.is_active and token.user.is_staff):
            raise exceptions.AuthenticationFailed(self.invalid_message)
        return token.user, token


class StaffTokenScheme(OpenApiAuthenticationExtension):
    """Documents the staff token in the OpenAPI schema."""

    target_class = StaffTokenAuthentication
    name = "staffToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A staff user's personal token, `<id>.<secret>`, from `create_staff_token`.",
        }
