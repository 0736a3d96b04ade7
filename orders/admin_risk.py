"""Admin building blocks for risk signals: the flags annotation and column of the order list.

`OrderAdmin` inherits `RiskFlagsAdminMixin` (it annotates the flags in
`get_queryset`, one correlated subquery, no per-row query) and lists
`risk_flags_column`. Its filter by signal goes through the shared FilterSet
(`orders.admin.RiskFlagFilter`, the API's `risk_flag`), and its order page draws
the signal panel from `selectors.order_risk_signals` in the `risk_signals` block
of its own template. `RiskFlagListFilter` and `RiskSignalInline` serve admins of
other models, or a standard change form.
"""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from orders.models import Order
from orders.risk import SIGNALS, risk_flags_annotation, risk_flags_of


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
