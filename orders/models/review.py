"""The review trail: one immutable event per change to an order's review."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import ReviewEventKind, ReviewStatus
from orders.models.orders import Order


class ReviewEvent(models.Model):
    """An immutable audit row: one change to an order's review (who, when, from, to, why)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="review_events", verbose_name=_("order"))
    # Empty only for what the institution did (a revision pushed while the order needed information).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=16, choices=ReviewEventKind.choices)
    from_status = models.CharField(_("from status"), max_length=16, choices=ReviewStatus.choices)
    to_status = models.CharField(_("to status"), max_length=16, choices=ReviewStatus.choices)
    from_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from reviewer"),
    )
    to_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to reviewer"),
    )
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("review event")
        verbose_name_plural = _("review events")
        ordering = ["order", "created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="reviewevent_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.from_status}→{self.to_status}"
