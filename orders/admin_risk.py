"""Admin building blocks for risk signals: a filter by signal, a flags column and a read-only panel.

`OrderAdmin` inherits `RiskFlagsAdminMixin` (it annotates the flags in
`get_queryset`, one correlated subquery, no per-row query) and lists
`risk_flags_column`. Its filter by signal goes through the shared FilterSet
(`orders.admin.RiskFlagFilter`, the API's `risk_flag`), and its order page draws
the signal panel from `selectors.order_risk_signals` in the `risk_signals` block
of its own template. `RiskFlagListFilter` and `RiskSignalInline` serve admins of
other models, or a standard change form.
"""

from django.contrib import admin
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from orders.models import Order, RiskSignal
from orders.risk import SIGNALS, filter_by_flag, risk_flags_annotation, risk_flags_of, signal_choices


class RiskFlagListFilter(admin.SimpleListFilter):
    """ "By risk signal": the orders carrying the chosen signal (`?risk_flag=<code>`, as in the API)."""

    title = _("risk signal")
    parameter_name = "risk_flag"

    def lookups(self, request, model_admin):
        return signal_choices()

    def queryset(self, request, queryset):
        code = self.value()
        if not code:
            return queryset
        if code not in SIGNALS:
            return queryset.none()
        return filter_by_flag(queryset, code)


class RiskFlagsAdminMixin:
    """Annotates each order's flags (`risk_flags`) for `risk_flags_column`; sortable by them."""

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(risk_flags=risk_flags_annotation())


@admin.display(description=_("risk flags"), ordering="risk_flags")
def risk_flags_column(order: Order) -> str:
    """The order's signal codes, each with its label as a tooltip; "-" when there are none."""
    codes = risk_flags_of(order)
    if not codes:
        return "-"
    return format_html_join(
        " ",
        '<span class="risk-flag" title="{}">{}</span>',
        ((SIGNALS[code].label if code in SIGNALS else code, code) for code in codes),
    )


class RiskSignalInline(admin.TabularInline):
    """The order page's panel: each signal, its severity, reason and links to the linked orders."""

    model = RiskSignal
    fk_name = "order"
    extra = 0
    can_delete = False
    verbose_name = _("risk signal")
    verbose_name_plural = _("risk signals")
    fields = readonly_fields = ("signal", "severity", "reason", "linked", "computed_at")

    def get_queryset(self, request):
        linked = Order.objects.select_related("institution").only("pk", "order_no", "institution__code").order_by("pk")
        return super().get_queryset(request).prefetch_related(Prefetch("linked_orders", queryset=linked))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("signal"))
    def signal(self, risk_signal: RiskSignal) -> str:
        known = SIGNALS.get(risk_signal.code)
        return f"{known.label} ({risk_signal.code})" if known else risk_signal.code

    @admin.display(description=_("reason"))
    def reason(self, risk_signal: RiskSignal) -> str:
        return risk_signal.reason_zh if (get_language() or "").startswith("zh") else risk_signal.reason_en

    @admin.display(description=_("linked orders"))
    def linked(self, risk_signal: RiskSignal) -> str:
        orders = list(risk_signal.linked_orders.all())
        if not orders:
            return "-"
        url_name = f"admin:{Order._meta.app_label}_{Order._meta.model_name}_change"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (
                    reverse(url_name, args=[order.pk], current_app=self.admin_site.name),
                    format_html("{} ({})", order.order_no, order.institution.code),
                )
                for order in orders
            ),
        )
