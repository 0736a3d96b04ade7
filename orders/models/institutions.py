"""Institutions (who may push, with which credentials) and the log of every push received."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config import crypto
from orders.choices import Door
from orders.feedback.destinations import feedback_url_problem
from orders.models.feedback import FeedbackMode


class Institution(models.Model):
    """A lender or channel (机构) that pushes orders; `code` is the protocol's `ua`.

    Credentials: an API token for the REST door, stored only as a public id plus
    the hash of its secret, and a channel key for the signed door, stored
    encrypted because signatures are computed with it.
    """

    code = models.SlugField(_("code (ua)"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=128)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("A disabled institution's pushes are refused (403).")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    api_token_id = models.CharField(
        _("API token id"),
        max_length=16,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text=_("Public part of the API token; empty when revoked."),
    )
    api_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    api_token_rotated_at = models.DateTimeField(_("API token issued at"), null=True, blank=True, editable=False)
    channel_key_encrypted = models.TextField(blank=True, editable=False)
    channel_key_rotated_at = models.DateTimeField(_("channel key issued at"), null=True, blank=True, editable=False)
    # The credentials a rotation replaced, still accepted until their expiry so that a
    # partner switches without downtime (orders.institutions); stored like the current ones.
    previous_api_token_id = models.CharField(
        _("previous API token id"), max_length=16, unique=True, null=True, blank=True, editable=False
    )
    previous_api_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    previous_api_token_expires_at = models.DateTimeField(
        _("previous API token valid until"), null=True, blank=True, editable=False
    )
    previous_channel_key_encrypted = models.TextField(blank=True, editable=False)
    previous_channel_key_expires_at = models.DateTimeField(
        _("previous channel key valid until"), null=True, blank=True, editable=False
    )
    is_sandbox = models.BooleanField(
        _("sandbox"),
        default=False,
        help_text=_(
            "Test pushes: answered like production, but the orders never reach the review queue, "
            "exports or statistics, and are deleted after a day."
        ),
    )

    require_timestamp = models.BooleanField(
        _("require timeStamp"),
        default=False,
        help_text=_("Refuse signed-channel envelopes without a recent timeStamp."),
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        _("pushes per minute"),
        null=True,
        blank=True,
        help_text=_("Empty: the platform default."),
    )

    # Where decisions go back to (orders/feedback/); the webhook secret is kept encrypted like the channel key.
    feedback_url = models.URLField(
        _("feedback URL"), max_length=500, blank=True, help_text=_("https; decisions are sent here.")
    )
    feedback_mode = models.CharField(
        _("feedback mode"), max_length=16, choices=FeedbackMode.choices, default=FeedbackMode.OFF
    )
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    webhook_secret_rotated_at = models.DateTimeField(
        _("webhook secret issued at"), null=True, blank=True, editable=False
    )

    class Meta:
        # The table kept its name when the model moved here from intake (migrations orders 0008, intake 0006).
        db_table = "intake_institution"
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    # DRF treats whatever authentication returns as `request.user`.
    is_authenticated = True

    def log_fields(self) -> dict:
        """What the request log records for a push: the institution's code, never its name."""
        return {"institution": self.code}

    @property
    def channel_key(self) -> str:
        return crypto.decrypt(self.channel_key_encrypted) if self.channel_key_encrypted else ""

    @property
    def webhook_secret(self) -> str:
        return crypto.decrypt(self.webhook_secret_encrypted) if self.webhook_secret_encrypted else ""

    def clean(self) -> None:
        super().clean()
        if self.feedback_mode != FeedbackMode.OFF and not self.feedback_url:
            raise ValidationError({"feedback_url": _("A feedback URL is needed to send decisions.")})
        if self.feedback_url and (problem := feedback_url_problem(self.feedback_url)):
            raise ValidationError({"feedback_url": problem})

    @property
    def has_api_token(self) -> bool:
        return bool(self.api_token_id)

    @property
    def has_channel_key(self) -> bool:
        return bool(self.channel_key_encrypted)

    def previous_channel_key_at(self, now) -> str:
        """The rotated-out channel key while its overlap lasts at `now`, else ""."""
        expires = self.previous_channel_key_expires_at
        if not self.previous_channel_key_encrypted or expires is None or now >= expires:
            return ""
        return crypto.decrypt(self.previous_channel_key_encrypted)

    def previous_api_token_hash_at(self, token_id: str, now) -> str:
        """The rotated-out API token's hash if `token_id` names it and its overlap lasts at `now`, else ""."""
        expires = self.previous_api_token_expires_at
        if token_id != self.previous_api_token_id or expires is None or now >= expires:
            return ""
        return self.previous_api_token_hash


class PushOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    DUPLICATE = "duplicate", _("Duplicate (retry)")
    CONFLICT = "conflict", _("Conflict")
    # Pushed again, changed, while the order needed information: its data replaced.
    REVISED = "revised", _("Revised (supplied again)")
    REJECTED = "rejected", _("Rejected")
    UNAUTHORIZED = "unauthorized", _("Unauthorized")
    FAILED = "failed", _("Failed")


class PushLog(models.Model):
    """Every push as received, whatever became of it: the audit trail of the intake doors.

    The body is kept verbatim (bytes, so even invalid UTF-8 is kept as sent).
    Pushes that fail authentication keep no body: anyone on the internet can
    send those, and we keep no personal data we have no use for. Nor do they
    each get a row: one row per client address and minute, `refusal_count`
    saying how many it stands for.
    """

    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="push_logs",
        verbose_name=_("institution"),
    )
    door = models.CharField(_("door"), max_length=16, choices=Door.choices)
    order_no = models.CharField(_("order number"), max_length=64, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=PushOutcome.choices)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"))
    body = models.BinaryField(_("body as received"), null=True, blank=True)
    body_size = models.PositiveIntegerField(_("body size (bytes)"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    duration_ms = models.FloatField(_("duration (ms)"), default=0)
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    refusal_count = models.PositiveIntegerField(
        _("refusals"),
        default=1,
        help_text=_(
            "Refusals this row stands for: an address's refusals before authentication are logged "
            "once per minute, with their count."
        ),
    )

    class Meta:
        db_table = "intake_pushlog"  # kept from intake, like Institution's
        verbose_name = _("push log entry")
        verbose_name_plural = _("push log")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["institution", "order_no", "received_at"], name="pushlog_order_idx"),
        ]

    def __str__(self) -> str:
        # Titles and breadcrumbs: in the time zone and the language the page's fields are shown in.
        received = timezone.localtime(self.received_at)
        return f"{received:%Y-%m-%d %H:%M:%S} {self.order_no or '-'} {self.get_outcome_display()}"

    @property
    def body_text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace") if self.body is not None else ""
