"""The reviewers' admin: browse, search, open and decide orders; pushed data is read-only to everyone."""

import re
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from config.admin import DocumentedQueryStringAdminMixin, ReadOnlyAdminMixin
from orders import exports, pii, queries, selectors, services
from orders.admin_export import CsvExportAdminMixin
from orders.admin_privacy import PersonalDataAdminMixin, dossier_as_shown
from orders.admin_risk import RiskFlagsAdminMixin, risk_flags_column
from orders.choices import ExportKind, ReviewStatus, RiskSeverity
from orders.filters import OrderFilterSet
from orders.models import (
    AddressBookEntry,
    Contact,
    Device,
    Employer,
    Order,
    PersonalDataAccess,
    PersonalDataPurge,
    ReviewEvent,
)
from orders.pii import Kind, can_view_personal_data, mask_phone, personal_data_access_record
from orders.risk import signal_choices

MAX_ASSIGN_AT_ONCE = 500
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

# --- Counting without COUNT(*) ----------------------------------------------------------------


class EstimatedCountPaginator(Paginator):
    """Counts what is cheap to count, estimates the rest.

    Unfiltered, a table of millions is not counted: PostgreSQL's planner
    estimate (pg_class.reltuples) is shown as "about N". Filtered, at most
    `count_cap` + 1 rows are counted, so a broad filter costs a bounded index
    walk and shows "more than N".
    """

    estimate_threshold = 100_000
    count_cap = 10_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_estimate = False
        self.is_capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = selectors.table_row_estimate(queryset.model)
            if estimate is not None and estimate >= self.estimate_threshold:
                self.is_estimate = True
                return estimate
        counted = queryset.order_by()[: self.count_cap + 1].count()
        if counted > self.count_cap:
            self.is_capped = True
            return self.count_cap
        return counted

    @property
    def count_label(self) -> str:
        number = number_format(self.count, force_grouping=True)
        if self.is_estimate:
            return gettext("about %(count)s") % {"count": number}
        if self.is_capped:
            return gettext("more than %(count)s") % {"count": number}
        return number


class LargeTableAdmin(DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    """A changelist over a table of millions: estimated counts, no facet counts, no full count.

    Like every admin of this project, it reads only its documented query parameters.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


class ReadOnlyAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    """Data pushed by an institution (or written as an audit row): nobody adds, edits or deletes it."""


# --- Filters ---------------------------------------------------------------------------------


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
        try:
            return queries.order_filter(params=self.used_parameters, queryset=queryset)
        except queries.InvalidFiltersError as error:
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


# --- Forms -------------------------------------------------------------------------------


class DecisionForm(forms.Form):
    """The decision, its reason and, for an order with a high-severity signal, the confirmation to approve it.

    Nothing is preselected: a decision is final, so the reviewer always picks one.
    The rules themselves (reason required, confirmation needed) are `services.order_decide`'s.
    """

    status = forms.ChoiceField(
        label=_("decision"),
        choices=[("", _("— choose —")), *((status.value, status.label) for status in services.DECISION_STATUSES)],
        error_messages={"required": _("Choose a decision."), "invalid_choice": _("Choose a decision.")},
    )
    reason = forms.CharField(
        label=_("reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required to reject or to ask for more information."),
    )
    confirm_high_risk = forms.BooleanField(
        label=_("I have read the high-severity risk signals and approve this order anyway"),
        required=False,
    )


class NoteForm(forms.Form):
    text = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))


class AssignForm(forms.Form):
    reviewer = forms.ModelChoiceField(label=_("reviewer"), queryset=None)
    reason = forms.CharField(label=_("reason"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = selectors.reviewer_queryset()


def _decision_draft_key(order_id: int) -> str:
    return f"orders:decision-draft:{order_id}"


def _decision_form(request, order_id: int) -> DecisionForm:
    """A blank decision form, or the one just refused for this order, bound again with its error."""
    draft = request.session.pop(_decision_draft_key(order_id), None)
    if not isinstance(draft, dict):
        return DecisionForm()
    form = DecisionForm(draft.get("data") or {})
    form.is_valid()
    field = draft.get("field")
    if field not in form.fields:
        field = None
    if field is None or field not in form.errors:
        form.add_error(field, draft.get("message", ""))
    return form


# --- Orders ----------------------------------------------------------------------------------


@admin.register(Order)
class OrderAdmin(RiskFlagsAdminMixin, CsvExportAdminMixin, ReadOnlyAdmin):
    # Plain lists, so later features (risk signals) can add a column or a filter by name.
    # What a reviewer scans, and no more, so the list fits 1440 px: rooted and simulator devices
    # are said by the risk flags.
    list_display = [
        "order_number",
        "institution_name",
        "received",
        "amount_yuan",
        "applicant_phone",
        risk_flags_column,
        "review_status",
        "assigned_to",
    ]
    # Every parameter of the shared FilterSet (the API's and the exports' names and values), plus
    # two that only reviewers need.
    list_filter = with_every_filterset_parameter(
        [
            InstitutionFilter,
            ReceivedFilter,
            LoanAmountFilter,
            OsTypeFilter,
            RootFilter,
            SimulatorFilter,
            HasEmployerFilter,
            ReviewStatusFilter,
            AssigneeFilter,
            RiskFlagFilter,
            OrderNoFilter,
            UserPhoneFilter,
        ]
    )
    list_select_related = ["institution", "assigned_to"]
    # The search box needs a name here; the matching itself is `selectors.order_search`.
    search_fields = ["order_no"]
    search_help_text = _(
        "An orderNo, or any phone number: the applicant's, an emergency contact's or one in the address book."
    )
    actions = [*(getattr(CsvExportAdminMixin, "actions", None) or []), "assign_to_reviewer"]
    change_form_template = "admin/orders/order/change_form.html"

    # -- changelist --

    @admin.display(description=_("amount (yuan)"), ordering="loan_amount_fen")
    def amount_yuan(self, order):
        return number_format(order.loan_amount_yuan, decimal_pos=2, force_grouping=True)

    @admin.display(description=_("applicant phone"))
    def applicant_phone(self, order):
        # Used only where no request is at hand (e.g. checks): masked is the safe default.
        return mask_phone(order.user_phone)

    @admin.display(description=_("order number"), ordering="order_no")
    def order_number(self, order):
        # Up to 64 unbroken characters: cut short by the stylesheet, whole in the tooltip.
        return format_html('<span class="order-no" title="{}">{}</span>', order.order_no, order.order_no)

    @admin.display(description=_("institution"), ordering="institution__name")
    def institution_name(self, order):
        # The name is what reviewers know an institution by; the code is in the tooltip.
        institution = order.institution
        return format_html('<span class="institution" title="{}">{}</span>', institution.code, institution.name)

    @admin.display(description=_("received at"), ordering="received_at")
    def received(self, order):
        # Digits only, the same in both languages, and half as wide as the long format.
        return date_format(timezone.localtime(order.received_at), "Y-m-d H:i")

    def get_list_display(self, request):
        # The phone column depends on who is looking; a per-request callable keeps the admin instance stateless.
        user = request.user

        @admin.display(description=_("applicant phone"))
        def applicant_phone(order):
            return pii.shown(user, Kind.PHONE, order.user_phone, in_list=True)

        return [applicant_phone if name == "applicant_phone" else name for name in super().get_list_display(request)]

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # Read by the search bar template, whose context has no `perms`.
        changelist.can_review = self.has_review_permission(request)
        return changelist

    def get_search_results(self, request, queryset, search_term):
        return selectors.order_search(queryset, search_term), False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None and pii.can_list_personal_data(request.user):
            # An unmasked page is a bulk read: logged like an export. Counting the page here fills
            # the queryset's cache, which the template reuses.
            pii.unmasked_list_record(
                user=request.user,
                source=exports.ExportSource.ADMIN,
                kind=self.export_kind,
                filters=exports.filters_for_log(request.GET),
                row_count=len(changelist.result_list),
            )
        return response

    # -- the order page --

    def get_fieldsets(self, request, obj=None):
        # The page is drawn from the dossier by the template; there is no form to show.
        return []

    def change_view(self, request, object_id, form_url="", extra_context=None):
        dossier = (
            selectors.order_dossier(order_id=int(object_id), viewer=request.user) if str(object_id).isdigit() else None
        )
        if dossier is None:
            return super().change_view(request, object_id, form_url, extra_context)
        user = request.user
        unmasked = can_view_personal_data(user)
        can_review = self.has_review_permission(request)
        shown = dossier_as_shown(dossier, user)
        context = {
            **(extra_context or {}),
            "dossier": shown,
            "personal_data_unmasked": unmasked,
            "applicant_phone": pii.shown(user, Kind.PHONE, dossier.order.user_phone),
            "contacts": [(contact, contact.mobile) for contact in shown.contacts],
            "address_book": [(entry, entry.phone) for entry in shown.address_book],
            "address_book_url": reverse("admin:orders_addressbookentry_changelist")
            + f"?order__id__exact={dossier.order.pk}",
            "push_log_url": reverse("admin:orders_pushlog_changelist")
            + "?"
            + urlencode({"institution__id__exact": dossier.order.institution_id, "order_no": dossier.order.order_no}),
            "can_review": can_review,
            "can_decide": can_review
            and dossier.order.review_status == ReviewStatus.IN_REVIEW
            and dossier.order.assigned_to_id == user.pk,
            "can_claim": can_review
            and dossier.order.review_status not in services.FINAL_STATUSES
            and dossier.order.assigned_to_id in (None, user.pk)
            and not (dossier.order.review_status == ReviewStatus.IN_REVIEW and dossier.order.assigned_to_id == user.pk),
            "decision_form": _decision_form(request, dossier.order.pk),
            "needs_high_risk_confirmation": any(
                item.signal.severity == RiskSeverity.HIGH for item in dossier.risk_signals
            ),
            "note_form": NoteForm(),
            "review_url": reverse("admin:orders_order_review", args=[dossier.order.pk]),
            "claim_next_url": reverse("admin:orders_order_claim_next"),
        }
        response = super().change_view(request, object_id, form_url, context)
        if unmasked and response.status_code == 200 and hasattr(response, "context_data"):
            personal_data_access_record(user=user, order_ids=[dossier.order.pk], context="admin:order_change")
        return response

    # -- review --

    def has_review_permission(self, request):
        return request.user.has_perm(services.REVIEW_PERMISSION)

    def has_assign_permission(self, request):
        return request.user.has_perm(services.ASSIGN_PERMISSION)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("claim-next/", view(self.claim_next_view), name="orders_order_claim_next"),
            path("<path:object_id>/review/", view(self.review_view), name="orders_order_review"),
            *super().get_urls(),
        ]

    def _change_url(self, order_id):
        return reverse("admin:orders_order_change", args=[order_id])

    def review_view(self, request, object_id):
        """The order page's review forms post here: claim, decide (optionally then take the next), or note."""
        return require_POST(self._review_view)(request, object_id)

    def _review_view(self, request, object_id):
        if not self.has_review_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.only("pk"), pk=object_id if str(object_id).isdigit() else None)
        action = request.POST.get("action")
        try:
            if action == "claim":
                services.order_claim(order_id=order.pk, reviewer=request.user)
                self.message_user(request, gettext("You are reviewing this order."), messages.SUCCESS)
            elif action == "decide":
                form = DecisionForm(request.POST)
                if not form.is_valid():
                    field, errors = next(iter(form.errors.items()))
                    raise services.ReviewError(errors[0], field=field)
                decided = services.order_decide(
                    order_id=order.pk,
                    reviewer=request.user,
                    status=form.cleaned_data["status"],
                    reason=form.cleaned_data["reason"],
                    confirm_high_risk=form.cleaned_data["confirm_high_risk"],
                )
                self.message_user(
                    request,
                    gettext("Order %(order_no)s: %(status)s.")
                    % {"order_no": decided.order_no, "status": decided.get_review_status_display()},
                    messages.SUCCESS,
                )
                if "_next" in request.POST:
                    return self._claim_next(request)
            elif action == "note":
                services.order_add_note(order_id=order.pk, author=request.user, text=request.POST.get("text", ""))
                self.message_user(request, gettext("Note added."), messages.SUCCESS)
            else:
                raise services.ReviewError(gettext("Unknown review action."))
        except services.ReviewError as error:
            self.message_user(request, error.message, messages.ERROR)
            if action == "decide":
                # A refused decision comes back with everything the reviewer chose and typed, and
                # its error beside the field at fault (the page is reached by a redirect).
                request.session[_decision_draft_key(order.pk)] = {
                    "data": {name: request.POST.get(name, "") for name in DecisionForm.base_fields},
                    "field": error.field,
                    "message": error.message,
                }
        return HttpResponseRedirect(self._change_url(order.pk))

    def claim_next_view(self, request):
        """GET: a confirmation page (a GET never changes anything); POST: claim the oldest unassigned order."""
        if not self.has_review_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._claim_next(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Take the next unassigned order"),
        }
        return TemplateResponse(request, "admin/orders/order/claim_next.html", context)

    def _claim_next(self, request):
        order = services.order_claim_next(reviewer=request.user)
        if order is None:
            self.message_user(request, gettext("No unassigned pending orders are waiting."), messages.INFO)
            return HttpResponseRedirect(reverse("admin:orders_order_changelist"))
        self.message_user(
            request, gettext("You are reviewing order %(order_no)s.") % {"order_no": order.order_no}, messages.SUCCESS
        )
        return HttpResponseRedirect(self._change_url(order.pk))

    @admin.action(description=_("Assign selected orders to a reviewer"), permissions=["assign"])
    def assign_to_reviewer(self, request, queryset):
        order_ids = list(queryset.values_list("pk", flat=True)[: MAX_ASSIGN_AT_ONCE + 1])
        if len(order_ids) > MAX_ASSIGN_AT_ONCE:
            self.message_user(
                request,
                gettext("Select at most %(limit)d orders to assign at once.") % {"limit": MAX_ASSIGN_AT_ONCE},
                messages.ERROR,
            )
            return None
        form = AssignForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                result = services.order_assign(
                    order_ids=order_ids,
                    assignee=form.cleaned_data["reviewer"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except services.ReviewError as error:
                self.message_user(request, error.message, messages.ERROR)
                return None
            self.message_user(
                request,
                gettext(
                    "%(assigned)d order(s) assigned to %(reviewer)s; %(skipped)d skipped (decided or already theirs)."
                )
                % {"assigned": result.assigned, "reviewer": form.cleaned_data["reviewer"], "skipped": result.skipped},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Assign orders to a reviewer"),
            "form": form,
            "order_count": len(order_ids),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "assign_to_reviewer",
        }
        return TemplateResponse(request, "admin/orders/order/assign.html", context)


# --- Everything else pushed with an order ------------------------------------------------------


@admin.register(Device)
class DeviceAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    list_display = ["order", "device_id", "os_kind", "os_version", "is_root", "is_simulator"]
    list_select_related = ["order"]

    def get_queryset(self, request):
        # The unknown deviceInfo keys can be megabytes a device: read only by the device's own page.
        return super().get_queryset(request).defer("extra")


@admin.register(Contact)
class ContactAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    list_display = ["order", "priority", "name", "relation", "relation_category"]
    list_select_related = ["order"]
    list_record_kind = ExportKind.CONTACTS


@admin.register(Employer)
class EmployerAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    list_display = ["order", "company_name", "province", "city"]
    list_select_related = ["order"]


@admin.register(AddressBookEntry)
class AddressBookEntryAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    """The full address book of one order (linked from the order page as `?order__id__exact=N`)."""

    list_display = ["order", "name", "phone", "is_mobile"]
    list_filter = [OrderNumberFilter, "is_mobile"]
    documented_query_parameters = ("order__id__exact",)  # the order page's link
    list_select_related = ["order"]
    exclude = ["phone_digits"]  # the phone as pushed says it all
    list_record_kind = ExportKind.ADDRESS_BOOK


# --- Audit rows ------------------------------------------------------------------------------


@admin.register(ReviewEvent)
class ReviewEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "order", "kind", "from_status", "to_status", "actor", "to_assignee", "reason"]
    list_filter = ["kind", "to_status", OrderNumberFilter]
    list_select_related = ["order", "actor", "to_assignee"]


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    """Who was shown which order's personal data: for administrators looking for misuse."""

    list_display = ["accessed_at", "user", "order", "context"]
    list_filter = ["user", OrderNumberFilter]
    list_select_related = ["user", "order"]


@admin.register(PersonalDataPurge)
class PersonalDataPurgeAdmin(ReadOnlyAdminMixin, DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    """Every run of `purge_personal_data`, so an auditor can see retention is enforced."""

    list_display = [
        "started_at",
        "finished_at",
        "cutoff",
        "retention_days",
        "dry_run",
        "orders",
        "address_book_entries",
    ]
    list_filter = ["dry_run"]
    date_hierarchy = "started_at"
