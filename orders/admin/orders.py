"""The reviewers' order admin: browse, search, open, claim, decide and assign orders."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from orders import exports, pii, selectors, services
from orders.admin.changelist import ReadOnlyAdmin
from orders.admin.export import CsvExportAdminMixin
from orders.admin.filters import (
    AssigneeFilter,
    HasEmployerFilter,
    InstitutionFilter,
    LoanAmountFilter,
    OrderNoFilter,
    OsTypeFilter,
    ReceivedFilter,
    ReviewStatusFilter,
    RiskFlagFilter,
    RootFilter,
    SandboxFilter,
    SimulatorFilter,
    UserPhoneFilter,
    with_every_filterset_parameter,
)
from orders.admin.forms import AssignForm, DecisionForm, NoteForm, decision_draft_save, decision_form
from orders.admin.privacy import dossier_as_shown
from orders.admin.revisions import revisions_shown
from orders.admin.risk import RiskFlagsAdminMixin, risk_flags_column
from orders.choices import RiskSeverity
from orders.feedback import selectors as feedback_selectors
from orders.models import Order
from orders.permissions import ASSIGN_ORDER, REVIEW_ORDER
from orders.pii import Kind, can_view_personal_data, mask_phone


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
            SandboxFilter,
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
        number = format_html('<span class="order-no" title="{}">{}</span>', order.order_no, order.order_no)
        if order.sandbox:
            return format_html('{}<span class="sandbox-badge">{}</span>', number, gettext("sandbox"))
        return number

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
        if changelist is not None:
            # An unmasked page is a bulk read: logged like an export. Counting the page there fills
            # the queryset's cache, which the template reuses.
            pii.list_view_record(
                user=request.user,
                source=exports.ExportSource.ADMIN,
                kind=self.export_kind,
                filters=exports.filters_for_log(request.GET),
                rows=changelist.result_list,
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
        can_decide = services.order_can_decide(order=dossier.order, reviewer=user)
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
            "can_decide": can_decide,
            "can_claim": services.order_can_claim(order=dossier.order, reviewer=user),
            # Drawn only for the reviewer holding the order: its choices cost two queries.
            "decision_form": (
                decision_form(request, dossier.order, has_employer=dossier.employer is not None) if can_decide else None
            ),
            "decisions": dossier.decisions,
            "revisions": revisions_shown(dossier.revisions, user),
            "needs_high_risk_confirmation": any(
                item.signal.severity == RiskSeverity.HIGH for item in dossier.risk_signals
            ),
            "note_form": NoteForm(),
            "review_url": reverse("admin:orders_order_review", args=[dossier.order.pk]),
            "claim_next_url": reverse("admin:orders_order_claim_next"),
            "feedback_delivery": feedback_selectors.order_delivery(order_id=dossier.order.pk),
        }
        response = super().change_view(request, object_id, form_url, context)
        if response.status_code == 200 and hasattr(response, "context_data"):
            pii.orders_view_record(user=user, order_ids=[dossier.order.pk], context="admin:order_change")
        return response

    # -- review --

    def has_review_permission(self, request):
        return request.user.has_perm(REVIEW_ORDER)

    def has_assign_permission(self, request):
        return request.user.has_perm(ASSIGN_ORDER)

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
                order = get_object_or_404(Order, pk=order.pk)
                form = DecisionForm(request.POST, order=order)
                if not form.is_valid():
                    raise services.DecisionTermsError(_form_errors(form))
                decision = services.order_decide(order_id=order.pk, reviewer=request.user, terms=form.terms())
                self.message_user(
                    request,
                    gettext("Order %(order_no)s: %(status)s.")
                    % {"order_no": order.order_no, "status": decision.get_decision_display()},
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
                # each error beside the field at fault (the page is reached by a redirect).
                errors = getattr(error, "errors", None) or {error.field or "__all__": [error.message]}
                decision_draft_save(request, order.pk, errors=errors)
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
        try:
            order_ids = services.order_assign_selection(queryset.values_list("pk", flat=True))
        except services.ReviewError as error:
            self.message_user(request, error.message, messages.ERROR)
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


def _form_errors(form) -> dict[str, list[str]]:
    """The form's errors keyed as the services key them (`decision`, not the form's `status`)."""
    return {("decision" if name == "status" else name): list(messages) for name, messages in form.errors.items()}
