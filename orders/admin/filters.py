"""The order changelist's sidebar filters: the shared FilterSet's parameters, and the few only reviewers need."""

import re
from decimal import Decimal

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orders import selectors
from orders.filters import SANDBOX_PARAMETER, OrderFilterSet
from orders.risk import signal_choices

_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FilterSetListFilter(admin.ListFilter):
    """A sidebar filter for some of `OrderFilterSet`'s parameters, applied by the FilterSet itself.

    The changelist, its CSV export and the staff API then read one query string
    the same way: same names, same values, same validation. A value the
    FilterSet refuses raises IncorrectLookupParameters, which the admin answers
    by going back to the list with "?e=1"; a repeated parameter too, as the API
    refuses it.
    """

    parameters: tuple[str, ...] = ()

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.repeated = []
        for name in self.parameters:
            if name in params:
                values = params.pop(name)
                values = values if isinstance(values, list) else [values]
                if len(values) > 1:
                    self.repeated.append(name)
                if values[-1] != "":
                    self.used_parameters[name] = values[-1]

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def queryset(self, request, queryset):
        if self.repeated:
            raise IncorrectLookupParameters(f"Give {', '.join(self.repeated)} once.")
        if not self.used_parameters:
            return queryset
        # Each sidebar filter applies only its own parameters; which orders `sandbox` shows is
        # SandboxFilter's to say, so the others pass "all" rather than the FilterSet's default.
        params = {SANDBOX_PARAMETER: "all", **self.used_parameters}
        try:
            return selectors.order_filter(params=params, queryset=queryset)
        except selectors.InvalidFiltersError as error:
            raise IncorrectLookupParameters(error) from error

    def _hidden(self, changelist) -> list[tuple[str, str]]:
        """The other filters and the search, carried through this filter's form."""
        skip = {*self.parameters, PAGE_VAR, ERROR_FLAG}
        return [(name, value) for name, value in changelist.params.items() if name not in skip]


class FilterSetChoicesFilter(FilterSetListFilter):
    """One parameter offered as links; the choices are the FilterSet field's own unless `choices_for` says better."""

    parameter_name = ""

    def __init__(self, request, params, model, model_admin):
        self.parameters = (self.parameter_name,)
        super().__init__(request, params, model, model_admin)

    def choices_for(self) -> list[tuple[str, str]]:
        field = OrderFilterSet.base_filters[self.parameter_name].field
        return [(str(value), str(label)) for value, label in field.choices if str(value) != ""]

    def selected_value(self) -> str | None:
        return self.used_parameters.get(self.parameter_name)

    def choices(self, changelist):
        selected = self.selected_value()
        yield {
            "selected": selected is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("All"),
        }
        for value, label in self.choices_for():
            yield {
                "selected": selected == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


class TriStateChoicesFilter(FilterSetChoicesFilter):
    """`true`, `false` or `unknown` (the sender did not say), as `orders.filters.TriStateFilter` reads them."""

    _spellings = {"1": "true", "0": "false", "null": "unknown"}

    def choices_for(self):
        return [("true", _("Yes")), ("false", _("No")), ("unknown", _("Unknown"))]

    def selected_value(self):
        value = super().selected_value()
        if value is None:
            return None
        value = value.strip().lower()
        return self._spellings.get(value, value)


class FilterSetInputFilter(FilterSetListFilter):
    """One parameter typed in the sidebar (an orderNo, a phone number: too many values to offer)."""

    template = "admin/orders/input_filter.html"
    parameter_name = ""

    def __init__(self, request, params, model, model_admin):
        self.parameters = (self.parameter_name,)
        super().__init__(request, params, model, model_admin)

    def choices(self, changelist):
        yield {
            "hidden": self._hidden(changelist),
            "name": self.parameter_name,
            "value": self.used_parameters.get(self.parameter_name, ""),
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
            "active": bool(self.used_parameters),
        }


class FilterSetRangeFilter(FilterSetListFilter):
    """A from/to pair of the FilterSet's bounds, both inclusive."""

    template = "admin/orders/range_filter.html"
    input_type = "text"
    input_step = ""

    def help_text(self) -> str:
        return ""

    def choices(self, changelist):
        low, high = self.parameters
        yield {
            "hidden": self._hidden(changelist),
            "from_name": low,
            "to_name": high,
            "from_value": self.used_parameters.get(low, ""),
            "to_value": self.used_parameters.get(high, ""),
            "input_type": self.input_type,
            "input_step": self.input_step,
            "help": self.help_text(),
            "active": bool(self.used_parameters),
            "clear_url": changelist.get_query_string(remove=list(self.parameters)),
        }


class InstitutionFilter(FilterSetChoicesFilter):
    """By institution code, as the API takes it; its choices cost one query, only when the sidebar is drawn."""

    title = _("institution")
    parameter_name = "institution"


class ReceivedFilter(FilterSetRangeFilter):
    """Received between two days (Beijing time), inclusive; ISO datetimes work too, as in the API."""

    title = _("received date")
    parameters = ("received_after", "received_before")

    @property
    def input_type(self):
        # A date picker for dates; a datetime given in the URL stays editable as text.
        values = [value for value in self.used_parameters.values() if value]
        return "date" if all(_ISO_DATE_RE.fullmatch(value) for value in values) else "text"


class LoanAmountFilter(FilterSetRangeFilter):
    """Loan amount bounds in fen (integers), the unit the API and the exports use."""

    title = _("loan amount (fen)")
    parameters = ("loan_amount_min", "loan_amount_max")
    input_type = "number"
    input_step = "1"

    def help_text(self):
        if not self.used_parameters:
            return gettext("In fen: 100 fen = 1 yuan.")
        # Echo the bounds in yuan, so a missing or extra zero is seen before it is trusted.
        low, high = (self._yuan(self.used_parameters.get(name)) for name in self.parameters)
        return gettext("In fen: from %(low)s to %(high)s yuan.") % {"low": low, "high": high}

    @staticmethod
    def _yuan(fen: str | None) -> str:
        if fen is None or not (fen.isascii() and fen.isdigit()):
            return "-"
        return number_format(Decimal(fen) / 100, decimal_pos=2, force_grouping=True)


class OsTypeFilter(FilterSetChoicesFilter):
    title = _("OS kind")
    parameter_name = "os_type"


class RootFilter(TriStateChoicesFilter):
    title = _("rooted / jailbroken")
    parameter_name = "is_root"


class SimulatorFilter(TriStateChoicesFilter):
    title = _("simulator")
    parameter_name = "is_simulator"


class ReviewStatusFilter(FilterSetChoicesFilter):
    title = _("review status")
    parameter_name = "review_status"


class RiskFlagFilter(FilterSetChoicesFilter):
    title = _("risk signal")
    parameter_name = "risk_flag"

    def choices_for(self):
        return signal_choices()  # labels in the language of this request


class SandboxFilter(FilterSetChoicesFilter):
    """Production orders unless asked otherwise: sandbox test orders are kept out of lists and exports by default."""

    title = _("sandbox")
    parameter_name = SANDBOX_PARAMETER

    def queryset(self, request, queryset):
        # Unlike the other filters, applied when absent too: the FilterSet's default (production only).
        if self.repeated:
            raise IncorrectLookupParameters(f"Give {SANDBOX_PARAMETER} once.")
        params = {SANDBOX_PARAMETER: self.used_parameters.get(SANDBOX_PARAMETER, "false")}
        try:
            return selectors.order_filter(params=params, queryset=queryset)
        except selectors.InvalidFiltersError as error:
            raise IncorrectLookupParameters(error) from error

    def choices(self, changelist):
        selected = (self.selected_value() or "").strip().lower()
        selected = {"": None, "false": None, "0": None, "1": "true"}.get(selected, selected)
        for value, label in (
            (None, _("Production")),
            ("true", _("Sandbox test orders")),
            ("all", _("All")),
        ):
            yield {
                "selected": selected == value,
                "query_string": changelist.get_query_string(
                    {SANDBOX_PARAMETER: value} if value else {}, remove=[] if value else [SANDBOX_PARAMETER]
                ),
                "display": label,
            }


class OrderNoFilter(FilterSetInputFilter):
    title = _("order number")
    parameter_name = "order_no"


class UserPhoneFilter(FilterSetInputFilter):
    title = _("applicant phone")
    parameter_name = "user_phone"


def with_every_filterset_parameter(list_filter: list) -> list:
    """`list_filter` plus a plain input for each `OrderFilterSet` parameter it does not cover yet.

    Any parameter of the shared query string then goes through the FilterSet:
    none falls through to the admin's own field lookups, which would read it
    differently (or refuse it).
    """
    covered = {name for item in list_filter if isinstance(item, type) for name in _parameters_of(item)}
    later = [
        type(f"{name.title().replace('_', '')}Filter", (FilterSetInputFilter,), {"title": name, "parameter_name": name})
        for name in OrderFilterSet.base_filters
        if name not in covered
    ]
    return [*list_filter, *later]


def _parameters_of(list_filter: type) -> tuple[str, ...]:
    if issubclass(list_filter, FilterSetRangeFilter):
        return list_filter.parameters
    return (getattr(list_filter, "parameter_name", ""),)


class OrderNumberFilter(admin.ListFilter):
    """An exact orderNo typed in the sidebar (a list of millions of orders cannot be offered)."""

    title = _("order number")
    parameter_name = "order_no"
    template = "admin/orders/input_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        if self.parameter_name in params:
            value = params.pop(self.parameter_name)
            value = (value[-1] if isinstance(value, list) else value).strip()
            if value:
                self.used_parameters[self.parameter_name] = value

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.parameter_name]

    def choices(self, changelist):
        yield {
            "hidden": [(k, v) for k, v in changelist.params.items() if k not in (self.parameter_name, "p")],
            "name": self.parameter_name,
            "value": self.used_parameters.get(self.parameter_name, ""),
            "clear_url": changelist.get_query_string(remove=[self.parameter_name, "p"]),
            "active": bool(self.used_parameters),
        }

    def queryset(self, request, queryset):
        value = self.used_parameters.get(self.parameter_name)
        return queryset.filter(order__order_no=value) if value else queryset


class HasEmployerFilter(admin.SimpleListFilter):
    title = _("employer")
    parameter_name = "has_employer"

    def lookups(self, request, model_admin):
        return [("yes", _("Has employer")), ("no", _("No employer"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(employer__isnull=False)
        if self.value() == "no":
            return queryset.filter(employer__isnull=True)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assigned reviewer")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        return [("mine", _("Mine")), ("none", _("Unassigned")), ("any", _("Assigned to anyone"))]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "none":
            return queryset.filter(assigned_to__isnull=True)
        if self.value() == "any":
            return queryset.filter(assigned_to__isnull=False)
        return queryset
