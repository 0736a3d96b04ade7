"""Admin building blocks for risk signals: the flags annotation and the badge column of the order list.

`OrderAdmin` inherits `RiskFlagsAdminMixin` (it annotates the flags in
`get_queryset`, one correlated subquery, no per-row query) and lists
`risk_flags_column`. Its filter by signal goes through the shared FilterSet
(`orders.admin.filters.RiskFlagFilter`, the API's `risk_flag`), and its order page draws
the signal panel from `selectors.order_risk_signals` in the `risk_signals` block
of its own template.
"""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from orders.choices import RiskSeverity
from orders.models import Order
from orders.risk import SIGNAL_CODES, SIGNALS, RiskConfig, risk_flags_annotation, risk_flags_of

# Most severe first; within a severity, the order in which the signals are registered.
_SEVERITY_RANK = {RiskSeverity.HIGH: 0, RiskSeverity.MEDIUM: 1, RiskSeverity.LOW: 2}


class RiskFlagsAdminMixin:
    """Annotates each order's flags (`risk_flags`) for `risk_flags_column`; sortable by them."""

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(risk_flags=risk_flags_annotation())


def risk_flag_badges(codes: list[str], severity: dict[str, str]) -> list[tuple[str, str, str]]:
    """(severity, code, label in the active language) for each code, most severe first.

    `severity` is the configured one (`RiskConfig.severity`); a code no longer
    registered keeps its code as its label and sorts last.
    """

    def rank(code: str) -> tuple[int, int]:
        registered = SIGNAL_CODES.index(code) if code in SIGNAL_CODES else len(SIGNAL_CODES)
        return _SEVERITY_RANK.get(severity.get(code), len(_SEVERITY_RANK)), registered

    return [
        (severity.get(code, RiskSeverity.LOW), code, SIGNALS[code].label if code in SIGNALS else code)
        for code in sorted(codes, key=rank)
    ]


@admin.display(description=_("risk flags"), ordering="risk_flags")
def risk_flags_column(order: Order) -> str:
    """The order's signals as badges coloured by severity, the code in the tooltip; "-" when there are none."""
    codes = risk_flags_of(order)
    if not codes:
        return "-"
    badges = risk_flag_badges(codes, RiskConfig.from_settings().severity)
    return format_html_join(
        " ",
        '<span class="risk-flag risk-flag-{}" title="{}">{}</span>',
        badges,
    )
