"""What staff did with personal data: unmasked views, CSV exports and retention purges."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import ExportKind
from orders.models.orders import Order


class PersonalDataAccess(models.Model):
    """A record that a staff user was shown an order's personal data unmasked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+", verbose_name=_("order"))
    accessed_at = models.DateTimeField(_("at"), default=timezone.now)
    context = models.CharField(_("where"), max_length=64, help_text=_("The page or export that showed it."))

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")
        ordering = ["-accessed_at"]
        indexes = [
            models.Index(fields=["user", "-accessed_at"], name="pdaccess_user_idx"),
            models.Index(fields=["order", "-accessed_at"], name="pdaccess_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} saw order {self.order_id}"


class ExportLog(models.Model):
    """A CSV export that a staff user ran: which rows (filters), how many, when."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ExportKind.choices)
    source = models.CharField(_("source"), max_length=16, help_text=_("api or admin"))
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    row_count = models.PositiveBigIntegerField(_("rows"), null=True, blank=True)
    unmasked = models.BooleanField(_("personal data unmasked"), default=False)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="exportlog_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class PersonalDataPurge(models.Model):
    """One run of `purge_personal_data`: what was removed, from orders received before `cutoff`.

    Written at the start and completed at the end, so an interrupted run is
    visible (no `finished_at`) and the next run does not take it as done.
    """

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    cutoff = models.DateTimeField(_("orders received before"))
    retention_days = models.PositiveIntegerField(_("retention (days)"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    orders = models.PositiveBigIntegerField(_("orders"), default=0)
    address_book_entries = models.PositiveBigIntegerField(_("address-book entries removed"), default=0)
    devices = models.PositiveBigIntegerField(_("devices cleared"), default=0)
    push_bodies = models.PositiveBigIntegerField(_("push bodies removed"), default=0)

    class Meta:
        verbose_name = _("personal-data purge")
        verbose_name_plural = _("personal-data purges")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"purge before {self.cutoff:%Y-%m-%d} ({'dry run' if self.dry_run else 'done'})"
