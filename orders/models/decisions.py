"""Decisions with their terms, the configurable rejection reasons, and the revisions an institution pushed."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from orders.choices import DecisionKind, TermUnit
from orders.models.orders import Order


class RejectionReason(models.Model):
    """A reason code a reviewer picks to reject an order; `code` is what the institution receives.

    Administrators add, relabel or retire reasons in the admin; a retired one
    (`is_active` off) is no longer offered but still names the decisions that used it.
    """

    code = models.SlugField(_("reason code"), max_length=32, unique=True, help_text=_("Sent to the institution as is."))
    label_en = models.CharField(_("label (English)"), max_length=64)
    label_zh = models.CharField(
        _("label (Chinese)"), max_length=64, help_text=_("Sent as the remark when the reviewer writes no text.")
    )
    is_active = models.BooleanField(_("offered to reviewers"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("rejection reason")
        verbose_name_plural = _("rejection reasons")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The label in the language of the request."""
        return self.label_zh if (get_language() or "").startswith("zh") else self.label_en


class Decision(models.Model):
    """One decision of one order with its terms; never changed, never deleted.

    A newer decision (after the applicant supplied information) is a new row, so
    the history, a team queue and a dashboard can all be read from this table.
    `sequence_ms` is the wire's `updated_at`: Unix milliseconds, strictly growing
    per order even when two decisions fall in the same millisecond.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("order"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    decision = models.CharField(_("decision"), max_length=16, choices=DecisionKind.choices)
    approved_amount_fen = models.BigIntegerField(_("approved amount (fen)"), null=True, blank=True)
    approved_term = models.PositiveIntegerField(_("approved term"), null=True, blank=True)
    term_unit = models.CharField(_("term unit"), max_length=8, choices=TermUnit.choices, blank=True)
    reason_code = models.ForeignKey(
        RejectionReason,
        to_field="code",
        db_column="reason_code",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reason code"),
    )
    reason = models.TextField(_("reason"), blank=True)
    can_reapply_at = models.DateTimeField(_("may apply again from"), null=True, blank=True)
    supplements = models.JSONField(
        _("fields to supply again"), default=list, blank=True, help_text=_("Dotted paths of pushed fields.")
    )
    sequence_ms = models.BigIntegerField(_("version (Unix ms)"))

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(decision__in=DecisionKind.values), name="decision_kind_valid"),
            models.CheckConstraint(
                condition=~Q(decision=DecisionKind.APPROVED)
                | Q(approved_amount_fen__gte=1, approved_term__gte=1, term_unit__in=TermUnit.values),
                name="decision_approved_has_terms",
            ),
            models.CheckConstraint(
                condition=~Q(decision=DecisionKind.REJECTED) | Q(reason_code__isnull=False),
                name="decision_rejected_has_reason_code",
            ),
            models.UniqueConstraint(fields=["order", "sequence_ms"], name="decision_unique_order_sequence"),
        ]
        indexes = [
            models.Index(fields=["order", "-sequence_ms"], name="decision_order_idx"),
            # What a dashboard and a team queue read: decisions by time, by reviewer.
            models.Index(fields=["decided_at"], name="decision_decided_at_idx"),
            models.Index(fields=["decided_by", "decided_at"], name="decision_reviewer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.decision} @{self.sequence_ms}"

    @property
    def approved_amount_yuan(self):
        """The approved amount in yuan, as reviewers enter and read it (stored in fen, as on the wire)."""
        from decimal import Decimal

        return None if self.approved_amount_fen is None else Decimal(self.approved_amount_fen) / 100


class OrderRevision(models.Model):
    """The institution pushed an order again while it needed information: what changed, bounded.

    `changes` is a list of `{"path", "old", "new"}` (push paths, values as text),
    at most `orders.revisions.MAX_CHANGES` of `change_count`; values are shown
    through `orders.pii` like every other personal data.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("order"))
    revised_at = models.DateTimeField(_("revised at"), default=timezone.now)
    previous_payload_sha256 = models.CharField(_("previous payload fingerprint"), max_length=64)
    payload_sha256 = models.CharField(_("payload fingerprint"), max_length=64)
    changes = models.JSONField(_("changes"), default=list, blank=True)
    change_count = models.PositiveIntegerField(_("changed fields"), default=0)

    class Meta:
        verbose_name = _("order revision")
        verbose_name_plural = _("order revisions")
        ordering = ["-revised_at", "-id"]
        indexes = [models.Index(fields=["order", "-revised_at"], name="orderrevision_order_idx")]

    def __str__(self) -> str:
        return f"revision of order {self.order_id} at {self.revised_at:%Y-%m-%d %H:%M:%S}"
