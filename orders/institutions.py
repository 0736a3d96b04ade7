"""Institutions' credentials: issued, rotated and revoked here; the doors only check them.

A rotation keeps the credential it replaces valid for an overlap the
administrator chooses (`CREDENTIAL_ROTATION_OVERLAP_HOURS` by default), so a
partner deploys the new one without downtime; one previous credential of each
kind is kept (a second rotation within the overlap replaces it). Revoking ends
current and previous at once.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config import crypto
from orders.models import FeedbackMode, Institution


@dataclass(frozen=True)
class IssuedCredentials:
    """Secrets as issued: shown to the operator once, never readable again (the token)."""

    api_token: str | None = None
    channel_key: str | None = None
    webhook_secret: str | None = None
    # Until when the credential this one replaced is still accepted; None: refused at once.
    previous_valid_until: datetime | None = None


def credentials_now() -> datetime:
    """The clock that rotations and the doors judge overlaps by; tests replace it to step past one."""
    return timezone.now()


def default_overlap() -> timedelta:
    return timedelta(hours=settings.CREDENTIAL_ROTATION_OVERLAP_HOURS)


def _new_api_token(institution: Institution) -> str:
    token_id = secrets.token_hex(6)
    secret = crypto.new_secret()
    institution.api_token_id = token_id
    institution.api_token_hash = crypto.token_hash(secret)
    institution.api_token_rotated_at = credentials_now()
    return f"{token_id}.{secret}"


def _new_channel_key(institution: Institution) -> str:
    key = secrets.token_hex(24)  # 192 bits; hex because integrators paste it into MD5 code
    institution.channel_key_encrypted = crypto.encrypt(key)
    institution.channel_key_rotated_at = credentials_now()
    return key


def _new_webhook_secret(institution: Institution) -> str:
    secret = "whsec_" + crypto.new_secret()
    institution.webhook_secret_encrypted = crypto.encrypt(secret)
    institution.webhook_secret_rotated_at = timezone.now()
    return secret


def _until(overlap: timedelta | None) -> datetime | None:
    overlap = default_overlap() if overlap is None else overlap
    if overlap < timedelta(0):
        raise ValueError("A rotation overlap cannot be negative.")
    return credentials_now() + overlap if overlap else None


@transaction.atomic
def institution_create(
    *,
    code: str,
    name: str,
    is_active: bool = True,
    is_sandbox: bool = False,
    require_timestamp: bool = False,
    rate_limit_per_minute: int | None = None,
    feedback_url: str = "",
    feedback_mode: str = FeedbackMode.OFF,
) -> tuple[Institution, IssuedCredentials]:
    """Register an institution and issue its credentials (returned once, in clear): a webhook secret with webhooks."""
    institution = Institution(
        code=code,
        name=name,
        is_active=is_active,
        is_sandbox=is_sandbox,
        require_timestamp=require_timestamp,
        rate_limit_per_minute=rate_limit_per_minute,
        feedback_url=feedback_url,
        feedback_mode=feedback_mode,
    )
    credentials = IssuedCredentials(
        api_token=_new_api_token(institution),
        channel_key=_new_channel_key(institution),
        webhook_secret=_new_webhook_secret(institution) if feedback_mode == FeedbackMode.WEBHOOK else None,
    )
    institution.full_clean()
    institution.save()
    return institution, credentials


@transaction.atomic
def institution_rotate_api_token(*, institution: Institution, overlap: timedelta | None = None) -> IssuedCredentials:
    """Issue a new API token; the old one stays valid for `overlap` (default: the setting; zero: refused at once)."""
    until = _until(overlap)
    keep = until is not None and institution.has_api_token
    institution.previous_api_token_id = institution.api_token_id if keep else None
    institution.previous_api_token_hash = institution.api_token_hash if keep else ""
    institution.previous_api_token_expires_at = until if keep else None
    token = _new_api_token(institution)
    institution.save(
        update_fields=[
            "api_token_id",
            "api_token_hash",
            "api_token_rotated_at",
            "previous_api_token_id",
            "previous_api_token_hash",
            "previous_api_token_expires_at",
        ]
    )
    return IssuedCredentials(api_token=token, previous_valid_until=institution.previous_api_token_expires_at)


@transaction.atomic
def institution_rotate_channel_key(*, institution: Institution, overlap: timedelta | None = None) -> IssuedCredentials:
    """Issue a new channel key; the old one keeps signing for `overlap`, like the API token's."""
    until = _until(overlap)
    keep = until is not None and institution.has_channel_key
    institution.previous_channel_key_encrypted = institution.channel_key_encrypted if keep else ""
    institution.previous_channel_key_expires_at = until if keep else None
    key = _new_channel_key(institution)
    institution.save(
        update_fields=[
            "channel_key_encrypted",
            "channel_key_rotated_at",
            "previous_channel_key_encrypted",
            "previous_channel_key_expires_at",
        ]
    )
    return IssuedCredentials(channel_key=key, previous_valid_until=institution.previous_channel_key_expires_at)


@transaction.atomic
def institution_rotate_webhook_secret(*, institution: Institution) -> IssuedCredentials:
    """Issue a new webhook secret; deliveries sign with it from their next attempt on."""
    secret = _new_webhook_secret(institution)
    institution.save(update_fields=["webhook_secret_encrypted", "webhook_secret_rotated_at"])
    return IssuedCredentials(webhook_secret=secret)


@transaction.atomic
def institution_revoke_credentials(*, institution: Institution) -> None:
    """Revoke both credentials and any still in their overlap: nothing is accepted until new ones are issued."""
    institution.api_token_id = None
    institution.api_token_hash = ""
    institution.channel_key_encrypted = ""
    institution.previous_api_token_id = None
    institution.previous_api_token_hash = ""
    institution.previous_api_token_expires_at = None
    institution.previous_channel_key_encrypted = ""
    institution.previous_channel_key_expires_at = None
    institution.save(
        update_fields=[
            "api_token_id",
            "api_token_hash",
            "channel_key_encrypted",
            "previous_api_token_id",
            "previous_api_token_hash",
            "previous_api_token_expires_at",
            "previous_channel_key_encrypted",
            "previous_channel_key_expires_at",
        ]
    )


# --- What the doors check --------------------------------------------------------------


def institution_for_api_token(token_id: str) -> tuple[Institution, str] | None:
    """The institution whose current or still-overlapping previous token has this public id, with that token's hash."""
    institution = Institution.objects.filter(Q(api_token_id=token_id) | Q(previous_api_token_id=token_id)).first()
    if institution is None:
        return None
    if institution.api_token_id == token_id:
        return institution, institution.api_token_hash
    stored_hash = institution.previous_api_token_hash_at(token_id, credentials_now())
    return (institution, stored_hash) if stored_hash else None


def institution_channel_keys(institution: Institution) -> list[str]:
    """The keys whose signatures are accepted now: the current one, then the previous one during its overlap."""
    keys = [institution.channel_key] if institution.has_channel_key else []
    if previous := institution.previous_channel_key_at(credentials_now()):
        keys.append(previous)
    return keys
