"""Staff personal API tokens: issuing one (only its hash is kept) and revoking them."""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config import crypto
from orders.choices import TokenScope
from orders.models import StaffApiToken

# Staff token ids carry a prefix so that a token pasted in the wrong place is recognisable in logs.
TOKEN_ID_PREFIX = "st"


@dataclass(frozen=True)
class IssuedStaffToken:
    """The stored token and its secret form, shown to its owner once."""

    token: StaffApiToken
    plaintext: str


@transaction.atomic
def staff_api_token_create(
    *, user, name: str, expires_at: datetime | None = None, scopes: Iterable[str] = (TokenScope.READ,)
) -> IssuedStaffToken:
    """Issue a personal token for a staff user; only its hash is kept. `read` is always among its scopes."""
    if not (user.is_active and user.is_staff):
        raise ValueError("Only active staff users can hold an API token.")
    unknown = sorted(set(scopes) - set(TokenScope.values))
    if unknown:
        raise ValueError(f"Unknown scope(s) {', '.join(unknown)}; use {', '.join(TokenScope.values)}.")
    secret = crypto.new_secret()
    token = StaffApiToken(
        user=user,
        name=name,
        token_id=f"{TOKEN_ID_PREFIX}{secrets.token_hex(6)}",
        token_hash=crypto.token_hash(secret),
        expires_at=expires_at,
        scopes=[scope for scope in TokenScope.values if scope in {TokenScope.READ, *scopes}],
    )
    token.full_clean()
    token.save()
    return IssuedStaffToken(token=token, plaintext=f"{token.token_id}.{secret}")


def staff_api_token_revoke(*, tokens) -> int:
    """Revoke tokens at once (a queryset); returns how many were still live."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
