"""Admins of decisions (read-only, the history a dashboard reads) and of the rejection reasons (editable)."""

from django.contrib import admin

from config.admin import DocumentedQueryStringAdminMixin
from orders.admin.changelist import ReadOnlyAdmin
from orders.admin.filters import OrderNumberFilter
from orders.models import Decision, RejectionReason


@admin.register(RejectionReason)
class RejectionReasonAdmin(DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    """The reasons reviewers pick to reject; `code` is what institutions receive, so it is fixed once used."""

    list_display = ["code", "label_zh", "label_en", "is_active", "position"]
    list_editable = ["is_active", "position"]
    ordering = ["position", "code"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Decisions name their reason: retire one (is_active off) instead.
        return False


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["decided_at", "order", "decision", "decided_by", "approved_amount_fen", "reason_code"]
    list_filter = ["decision", "reason_code", OrderNumberFilter]
    list_select_related = ["order", "decided_by", "reason_code"]
