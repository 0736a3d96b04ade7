"""Institutions' credentials: issued, rotated and revoked here; the doors only check them."""

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from config import crypto
from orders.models import FeedbackMode, Institution


@dataclass(frozen=True)
class IssuedCredentials:
    """Secrets as issued: shown to the operator once, never readable again (the token)."""

    api_token: str | None = None
    channel_key: str | None = None
    webhook_secret: str | None = None


def _new_api_token(institution: Institution) -> str:
    token_id = secrets.token_hex(6)
    secret = crypto.new_secret()
    institution.api_token_id = token_id
    institution.api_token_hash = crypto.token_hash(secret)
    institution.api_token_rotated_at = timezone.now()
    return f"{token_id}.{secret}"


def _new_channel_key(institution: Institution) -> str:
    key = secrets.token_hex(24)  # 192 bits; hex because integrators paste it into MD5 code
    institution.channel_key_encrypted = crypto.encrypt(key)
    institution.channel_key_rotated_at = timezone.now()
    return key


def _new_webhook_secret(institution: Institution) -> str:
    secret = "whsec_" + crypto.new_secret()
    institution.webhook_secret_encrypted = crypto.encrypt(secret)
    institution.webhook_secret_rotated_at = timezone.now()
    return secret


@transaction.atomic
def institution_create(
    *,
    code: str,
    name: str,
    is_active: bool = True,
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
def institution_rotate_api_token(*, institution: Institution) -> IssuedCredentials:
    """Issue a new API token; the old one stops working at once."""
    token = _new_api_token(institution)
    institution.save(update_fields=["api_token_id", "api_token_hash", "api_token_rotated_at"])
    return IssuedCredentials(api_token=token)


@transaction.atomic
def institution_rotate_channel_key(*, institution: Institution) -> IssuedCredentials:
    key = _new_channel_key(institution)
    institution.save(update_fields=["channel_key_encrypted", "channel_key_rotated_at"])
    return IssuedCredentials(channel_key=key)


@transaction.atomic
def institution_rotate_webhook_secret(*, institution: Institution) -> IssuedCredentials:
    """Issue a new webhook secret; deliveries sign with it from their next attempt on."""
    secret = _new_webhook_secret(institution)
    institution.save(update_fields=["webhook_secret_encrypted", "webhook_secret_rotated_at"])
    return IssuedCredentials(webhook_secret=secret)


@transaction.atomic
def institution_revoke_credentials(*, institution: Institution) -> None:
    """Revoke both credentials; the institution pushes nothing until new ones are issued."""
    institution.api_token_id = None
    institution.api_token_hash = ""
    institution.channel_key_encrypted = ""
    institution.save(update_fields=["api_token_id", "api_token_hash", "channel_key_encrypted"])
