"""Risk signals: the stored reasons for a reviewer to look closer at an order."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import RiskSeverity
from orders.models.orders import Order


class RiskSignal(models.Model):
    """A reason for a reviewer to look closer at an order; what links it to other orders is derived when
    read (`orders.risk.links`), never stored per pair of orders."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="risk_signals", verbose_name=_("order"))
    code = models.CharField(_("signal"), max_length=40)
    severity = models.CharField(_("severity"), max_length=8, choices=RiskSeverity.choices)
    # The facts of the reason (which identifier or number matched, how many orders), rendered for
    # the viewing user and language by orders.risk.signal_reason. NULL on rows written before
    # reasons had facts: those show their stored text until `recompute_risk_signals`.
    params = models.JSONField(_("reason facts"), null=True, blank=True, default=None)
    reason_zh = models.CharField(_("reason (Chinese)"), max_length=512, blank=True, default="")
    reason_en = models.CharField(_("reason (English)"), max_length=512, blank=True, default="")
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("risk signal")
        verbose_name_plural = _("risk signals")
        constraints = [models.UniqueConstraint(fields=["order", "code"], name="risksignal_unique_code")]
        indexes = [models.Index(fields=["code"], name="risksignal_code_idx")]

    def __str__(self) -> str:
        return f"{self.code} on {self.order_id}"
