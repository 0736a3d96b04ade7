"""Staff personal API tokens: issuing and revoking them, and `Authorization: Bearer <id>.<secret>` for staff reads."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions

from intake import crypto
from intake.authentication import BearerTokenAuthentication
from orders.models import StaffApiToken

# Staff token ids carry a prefix so that a token pasted in the wrong place is recognisable in logs.
TOKEN_ID_PREFIX = "st"


@dataclass(frozen=True)
class IssuedStaffToken:
    """The stored token and its secret form, shown to its owner once."""

    token: StaffApiToken
    plaintext: str


@transaction.atomic
def staff_api_token_create(*, user, name: str, expires_at: datetime | None = None) -> IssuedStaffToken:
    """Issue a personal token for a staff user; only its hash is kept."""
    if not (user.is_active and user.is_staff):
        raise ValueError("Only active staff users can hold an API token.")
    secret = crypto.new_secret()
    token = StaffApiToken(
        user=user,
        name=name,
        token_id=f"{TOKEN_ID_PREFIX}{secrets.token_hex(6)}",
        token_hash=crypto.token_hash(secret),
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    return IssuedStaffToken(token=token, plaintext=f"{token.token_id}.{secret}")


def staff_api_token_revoke(*, tokens) -> int:
    """Revoke tokens at once (a queryset); returns how many were still live."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


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
