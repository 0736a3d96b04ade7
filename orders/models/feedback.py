"""Decisions delivered to institutions: the outbox (one Delivery per decision) and every attempt to send it."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FeedbackMode(models.TextChoices):
    """How an institution hears of decisions (docs/integration.md, "Decision feedback")."""

    OFF = "off", _("Off")
    CHANNEL = "channel", _("Channel (signed envelope, approveFeedback)")
    WEBHOOK = "webhook", _("Webhook (JSON, HMAC-SHA256 header)")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SUPERSEDED = "superseded", _("Superseded by a newer decision")


class DeliveryErrorKind(models.TextChoices):
    """Why an attempt did not deliver; empty when it did."""

    NONE = "", _("None")
    NOT_CONFIGURED = "not_configured", _("Feedback not configured")
    DESTINATION_REFUSED = "destination_refused", _("Destination refused")
    DNS = "dns", _("Name not resolved")
    CONNECTION_REFUSED = "connection_refused", _("Connection refused")
    CONNECTION = "connection", _("Connection failed")
    TLS = "tls", _("TLS failed")
    TIMEOUT = "timeout", _("Timed out")
    REDIRECT = "redirect", _("Redirect (not followed)")
    HTTP_STATUS = "http_status", _("Unsuccessful HTTP status")
    REFUSED_BY_RECEIVER = "refused_by_receiver", _("Receiver answered status 0")
    INVALID_ANSWER = "invalid_answer", _("Unreadable answer")
    ANSWER_TOO_LARGE = "answer_too_large", _("Answer too large")


class Delivery(models.Model):
    """One decision of one order, to be delivered to its institution at least once (the outbox row).

    Written in the decision's transaction with its payload fixed (`payload`:
    the channel `args` and the webhook `data`), so that every attempt sends the
    same values and the receiver can deduplicate by `updated_at` / `event_id`.
    The URL, mode and secrets are read at each attempt: an administrator who
    fixes them lets the next retry through.
    """

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("order")
    )
    institution = models.ForeignKey(
        "orders.Institution", on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("institution")
    )
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("decision time"), default=timezone.now)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Set while a worker sends (claim -> send -> record); a worker that dies leaves it to expire.
    claimed_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    deadline_at = models.DateTimeField(_("retried until"))
    attempt_count = models.PositiveIntegerField(_("attempts"), default=0)
    # Failed attempts since the schedule (re)started: what the next delay is computed from.
    retry_count = models.PositiveIntegerField(default=0, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_error_kind = models.CharField(
        _("last error"), max_length=24, choices=DeliveryErrorKind.choices, blank=True, default=""
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("decision delivery")
        verbose_name_plural = _("decision deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep: pending deliveries by when they are due.
            models.Index(fields=["next_attempt_at"], name="delivery_due_idx", condition=Q(status="pending")),
            models.Index(fields=["order", "created_at"], name="delivery_order_idx"),
            models.Index(fields=["institution", "status", "created_at"], name="delivery_health_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.event_id} {self.status}"


class DeliveryAttempt(models.Model):
    """One attempt to send a delivery: when, what came back, how long it took and why it failed."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("delivery")
    )
    started_at = models.DateTimeField(_("at"))
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    latency_ms = models.FloatField(_("latency (ms)"), default=0)
    delivered = models.BooleanField(_("delivered"), default=False)
    error_kind = models.CharField(_("error"), max_length=24, choices=DeliveryErrorKind.choices, blank=True, default="")
    error = models.CharField(_("error detail"), max_length=500, blank=True)
    # The start of the answer, phones masked (orders.pii); never the whole of a large answer.
    answer = models.TextField(_("answer (start, masked)"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["delivery", "started_at"], name="deliveryattempt_delivery_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.started_at:%Y-%m-%d %H:%M:%S} {self.http_status or self.error_kind}"
