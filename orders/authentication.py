"""Staff personal API tokens: issuing and revoking them, and `Authorization: Bearer <id>.<secret>` for staff reads."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from intake import crypto
from orders.models import StaffApiToken

# Staff token ids carry a prefix so that a token pasted in the wrong place is recognisable in logs.
TOKEN_ID_PREFIX = "st"
_INVALID = "Invalid, expired or revoked API token."
# Compared against when the token id is unknown, so every failure costs the same.
_DUMMY_HASH = crypto.token_hash("not-a-token")


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


class StaffTokenAuthentication(BaseAuthentication):
    """Looks the token up by its public id, then compares the secret's hash (one query, user joined).

    Every failure (unknown id, wrong secret, revoked, expired, user no longer
    active staff) gives the same 401, so a caller learns nothing about which part
    was wrong. An institution's push token is simply unknown here.
    """

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_INVALID)
        try:
            token_text = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_INVALID) from None
        token_id, _, secret = token_text.partition(".")
        now = timezone.now()
        token = (
            StaffApiToken.objects.select_related("user")
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), token_id=token_id, revoked_at__isnull=True)
            .first()
            if token_id and secret
            else None
        )
        stored_hash = token.token_hash if token else _DUMMY_HASH
        if not crypto.token_matches(secret, stored_hash) or token is None:
            raise exceptions.AuthenticationFailed(_INVALID)
        if not (token.user.is_active and token.user.is_staff):
            raise exceptions.AuthenticationFailed(_INVALID)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


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
