"""The reviewers' admin: browse, search, open and decide orders; pushed data is read-only to everyone."""

from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from orders import selectors, services
from orders.admin_export import CsvExportAdminMixin
from orders.choices import ReviewStatus
from orders.models import (
    AddressBookEntry,
    Contact,
    Device,
    Employer,
    Order,
    PersonalDataAccess,
    ReviewEvent,
)
from orders.pii import can_view_personal_data, mask_phone, personal_data_access_record, phone_for

MAX_ASSIGN_AT_ONCE = 500

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


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist over a table of millions: estimated counts, no facet counts, no full count."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


class ReadOnlyAdmin(LargeTableAdmin):
    """Data pushed by an institution (or written as an audit row): nobody adds, edits or deletes it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Filters ---------------------------------------------------------------------------------


class RangeFilter(admin.ListFilter):
    """A from/to pair of inputs in the sidebar; subclasses turn the two values into a lookup."""

    template = "admin/orders/range_filter.html"
    parameter_from = ""
    parameter_to = ""
    input_type = "text"
    input_step = ""

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in (self.parameter_from, self.parameter_to):
            if name in params:
                value = params.pop(name)
                value = value[-1] if isinstance(value, list) else value
                if value != "":
                    self.used_parameters[name] = value

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.parameter_from, self.parameter_to]

    def choices(self, changelist):
        expected = set(self.expected_parameters())
        yield {
            "hidden": [(name, value) for name, value in changelist.params.items() if name not in expected | {"p"}],
            "from_name": self.parameter_from,
            "to_name": self.parameter_to,
            "from_value": self.used_parameters.get(self.parameter_from, ""),
            "to_value": self.used_parameters.get(self.parameter_to, ""),
            "input_type": self.input_type,
            "input_step": self.input_step,
            "active": bool(self.used_parameters),
            "clear_url": changelist.get_query_string(remove=[*expected, "p"]),
        }

    def queryset(self, request, queryset):
        low = self.used_parameters.get(self.parameter_from)
        high = self.used_parameters.get(self.parameter_to)
        try:
            lookups = self.lookups_for(
                self.parse(low) if low is not None else None, self.parse(high) if high is not None else None
            )
        except ValidationError as error:
            # The admin answers this by going back to the list with "?e=1", as for its own filters.
            raise IncorrectLookupParameters(error) from error
        return queryset.filter(**lookups) if lookups else queryset

    def parse(self, value: str):
        raise NotImplementedError

    def lookups_for(self, low, high) -> dict:
        raise NotImplementedError


class ReceivedDateRangeFilter(RangeFilter):
    """Received between two dates, inclusive, as calendar days in the admin's time zone (Asia/Shanghai)."""

    title = _("received date")
    parameter_from = "received_from"
    parameter_to = "received_to"
    input_type = "date"

    def parse(self, value):
        try:
            parsed = parse_date(value)
        except ValueError:  # well-formed but impossible, like 2024-13-45
            parsed = None
        if parsed is None:
            raise ValidationError(_("Enter a valid date."))
        return timezone.make_aware(datetime.combine(parsed, time.min))

    def lookups_for(self, low, high):
        lookups = {}
        if low is not None:
            lookups["received_at__gte"] = low
        if high is not None:
            lookups["received_at__lt"] = high + timedelta(days=1)
        return lookups


class LoanAmountRangeFilter(RangeFilter):
    """Loan amount between two values in yuan, inclusive (stored in fen)."""

    title = _("amount (yuan)")
    parameter_from = "amount_min"
    parameter_to = "amount_max"
    input_type = "number"
    input_step = "0.01"

    def parse(self, value):
        try:
            yuan = Decimal(value)
        except InvalidOperation:
            raise ValidationError(_("Enter a number.")) from None
        if not yuan.is_finite():
            raise ValidationError(_("Enter a number."))
        return int(yuan * 100)

    def lookups_for(self, low, high):
        lookups = {}
        if low is not None:
            lookups["loan_amount_fen__gte"] = low
        if high is not None:
            lookups["loan_amount_fen__lte"] = high
        return lookups


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
    status = forms.ChoiceField(
        label=_("decision"), choices=[(status.value, status.label) for status in services.DECISION_STATUSES]
    )
    reason = forms.CharField(
        label=_("reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required to reject or to ask for more information."),
    )


class NoteForm(forms.Form):
    text = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))


class AssignForm(forms.Form):
    reviewer = forms.ModelChoiceField(label=_("reviewer"), queryset=None)
    reason = forms.CharField(label=_("reason"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = selectors.reviewer_queryset()


# --- Orders ----------------------------------------------------------------------------------


@admin.register(Order)
class OrderAdmin(CsvExportAdminMixin, ReadOnlyAdmin):
    # Plain lists, so later features (risk signals) can add a column or a filter by name.
    list_display = [
        "order_no",
        "institution",
        "received_at",
        "amount_yuan",
        "applicant_phone",
        "os_kind",
        "is_root",
        "is_simulator",
        "address_book_count",
        "review_status",
        "assigned_to",
    ]
    list_filter = [
        "institution",
        ReceivedDateRangeFilter,
        LoanAmountRangeFilter,
        "device__os_kind",
        "device__is_root",
        "device__is_simulator",
        HasEmployerFilter,
        "review_status",
        AssigneeFilter,
    ]
    list_select_related = ["institution", "device", "assigned_to"]
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

    @admin.display(description=_("OS kind"), ordering="device__os_kind")
    def os_kind(self, order):
        device = getattr(order, "device", None)
        return device.get_os_kind_display() if device else "-"

    @admin.display(description=_("rooted / jailbroken"), boolean=True, ordering="device__is_root")
    def is_root(self, order):
        device = getattr(order, "device", None)
        return device.is_root if device else None

    @admin.display(description=_("simulator"), boolean=True, ordering="device__is_simulator")
    def is_simulator(self, order):
        device = getattr(order, "device", None)
        return device.is_simulator if device else None

    def get_list_display(self, request):
        # The phone column depends on who is looking; a per-request callable keeps the admin instance stateless.
        unmasked = can_view_personal_data(request.user)

        @admin.display(description=_("applicant phone"))
        def applicant_phone(order):
            return order.user_phone if unmasked else mask_phone(order.user_phone)

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
        if changelist is not None and can_view_personal_data(request.user):
            # Evaluating the page here fills the queryset's cache: the template reuses these rows.
            order_ids = [order.pk for order in changelist.result_list]
            if order_ids:
                personal_data_access_record(user=request.user, order_ids=order_ids, context="admin:order_changelist")
        return response

    # -- the order page --

    def get_fieldsets(self, request, obj=None):
        # The page is drawn from the dossier by the template; there is no form to show.
        return []

    def change_view(self, request, object_id, form_url="", extra_context=None):
        dossier = selectors.order_dossier(order_id=int(object_id)) if str(object_id).isdigit() else None
        if dossier is None:
            return super().change_view(request, object_id, form_url, extra_context)
        user = request.user
        unmasked = can_view_personal_data(user)
        can_review = self.has_review_permission(request)
        context = {
            **(extra_context or {}),
            "dossier": dossier,
            "personal_data_unmasked": unmasked,
            "applicant_phone": phone_for(user, dossier.order.user_phone),
            "contacts": [(contact, phone_for(user, contact.mobile)) for contact in dossier.contacts],
            "address_book": [
                (entry, entry.phone if unmasked else mask_phone(entry.phone_digits)) for entry in dossier.address_book
            ],
            "address_book_url": reverse("admin:orders_addressbookentry_changelist")
            + f"?order__id__exact={dossier.order.pk}",
            "can_review": can_review,
            "can_decide": can_review
            and dossier.order.review_status == ReviewStatus.IN_REVIEW
            and dossier.order.assigned_to_id == user.pk,
            "can_claim": can_review
            and dossier.order.review_status not in services.FINAL_STATUSES
            and dossier.order.assigned_to_id in (None, user.pk)
            and not (dossier.order.review_status == ReviewStatus.IN_REVIEW and dossier.order.assigned_to_id == user.pk),
            "decision_form": DecisionForm(),
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
                    raise services.ReviewError(gettext("Choose a decision."))
                decided = services.order_decide(
                    order_id=order.pk,
                    reviewer=request.user,
                    status=form.cleaned_data["status"],
                    reason=form.cleaned_data["reason"],
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
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ["order", "device_id", "os_kind", "os_version", "is_root", "is_simulator"]
    list_select_related = ["order"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["order", "priority", "name", "relation", "relation_category"]
    list_select_related = ["order"]
    exclude = ["mobile"]  # phone numbers are shown, masked or logged, on the order page only


@admin.register(Employer)
class EmployerAdmin(ReadOnlyAdmin):
    list_display = ["order", "company_name", "province", "city"]
    list_select_related = ["order"]


@admin.register(AddressBookEntry)
class AddressBookEntryAdmin(ReadOnlyAdmin):
    """The full address book of one order (linked from the order page as `?order__id__exact=N`)."""

    list_display = ["order", "name", "phone_shown", "is_mobile"]
    list_filter = [OrderNumberFilter, "is_mobile"]
    list_select_related = ["order"]
    exclude = ["phone", "phone_digits"]
    readonly_fields = ["phone_shown"]

    @admin.display(description=_("phone"))
    def phone_shown(self, entry):
        return mask_phone(entry.phone_digits)  # the safe default; see get_list_display

    def get_list_display(self, request):
        unmasked = can_view_personal_data(request.user)

        @admin.display(description=_("phone"))
        def phone_shown(entry):
            return entry.phone if unmasked else mask_phone(entry.phone_digits)

        return [phone_shown if name == "phone_shown" else name for name in super().get_list_display(request)]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None and can_view_personal_data(request.user):
            order_ids = sorted({entry.order_id for entry in changelist.result_list})
            if order_ids:
                personal_data_access_record(
                    user=request.user, order_ids=order_ids, context="admin:addressbookentry_changelist"
                )
        return response


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
