"""The order page's review forms (decide, note, assign) and the refused decision brought back to the page."""

from decimal import Decimal

from django import forms
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from orders import selectors, services
from orders.choices import DecisionKind, TermUnit
from orders.models import Order, RejectionReason
from orders.services.decisions import FIELDS_OF

# The services name the decision `decision`; this form has always called it `status`.
_FORM_FIELD = {"decision": "status"}


class DecisionForm(forms.Form):
    """A decision and its terms. Nothing is preselected: a decision is final, so the reviewer always picks one.

    The form turns text into numbers and dates; every rule (amount within the
    request, reason code, fields to supply again, the high-risk confirmation) is
    `services.decision_terms_errors`, run by `clean` and again by the service.
    One form shows every term: those of another decision than the chosen one are ignored.
    """

    status = forms.ChoiceField(
        label=_("decision"),
        choices=[("", _("— choose —")), *DecisionKind.choices],
        error_messages={"required": _("Choose a decision."), "invalid_choice": _("Choose a decision.")},
    )
    approved_amount = forms.DecimalField(
        label=_("approved amount (yuan)"), required=False, max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    approved_term = forms.IntegerField(label=_("approved term"), required=False, min_value=1, max_value=10**6)
    term_unit = forms.ChoiceField(
        label=_("term unit"), required=False, choices=[("", _("— choose —")), *TermUnit.choices]
    )
    reason_code = forms.ChoiceField(label=_("rejection reason"), required=False)
    can_reapply_at = forms.DateField(
        label=_("may apply again from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("From 00:00 Beijing time of that day; leave empty if not decided."),
    )
    supplements = forms.MultipleChoiceField(
        label=_("fields to supply again"), required=False, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label=_("reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Sent to the institution; for a rejection without text, the reason's label is sent."),
    )
    confirm_high_risk = forms.BooleanField(
        label=_("I have read the high-severity risk signals and approve this order anyway"),
        required=False,
    )

    def __init__(self, *args, order: Order, has_employer: bool | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.fields["reason_code"].choices = [
            ("", _("— choose —")),
            *((reason.code, reason.label) for reason in RejectionReason.objects.filter(is_active=True)),
        ]
        self.fields["supplements"].choices = [(path, path) for path in services.order_supplementable_paths(order=order)]

    def terms(self) -> services.DecisionTerms:
        """The cleaned terms of the chosen decision (those of the others dropped)."""
        data = self.cleaned_data
        decision = data.get("status", "")
        allowed = FIELDS_OF.get(decision, set())
        amount = data.get("approved_amount")
        given = {
            "approved_amount": int(amount * 100) if amount is not None else None,
            "approved_term": data.get("approved_term"),
            "term_unit": data.get("term_unit", ""),
            "reason_code": data.get("reason_code", ""),
            "reason": (data.get("reason") or "").strip(),
            "can_reapply_at": data.get("can_reapply_at"),
            "supplements": tuple(data.get("supplements") or ()),
            "confirm_high_risk": bool(data.get("confirm_high_risk")),
        }
        return services.DecisionTerms(
            decision=decision, **{name: value for name, value in given.items() if name in allowed}
        )

    def clean(self):
        cleaned = super().clean()
        if self.errors or not cleaned.get("status"):
            return cleaned
        self.add_service_errors(services.decision_terms_errors(self.terms(), order=self.order))
        return cleaned

    def add_service_errors(self, errors: dict) -> None:
        for name, messages in errors.items():
            name = _FORM_FIELD.get(name, name)
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))


class AssignForm(forms.Form):
    reviewer = forms.ModelChoiceField(label=_("reviewer"), queryset=None)
    reason = forms.CharField(label=_("reason"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = selectors.reviewer_queryset()


def decision_draft_key(order_id: int) -> str:
    return f"orders:decision-draft:{order_id}"


def decision_draft_save(request, order_id: int, *, errors: dict) -> None:
    """Keep a refused decision (what was chosen and typed, and each field's errors) for the page it returns to."""
    request.session[decision_draft_key(order_id)] = {
        "data": {name: request.POST.getlist(name) for name in DecisionForm.base_fields},
        "errors": {
            _FORM_FIELD.get(name, name): [str(message) for message in messages] for name, messages in errors.items()
        },
    }


def decision_form(request, order: Order, *, has_employer: bool | None = None) -> DecisionForm:
    """A blank decision form, or the one just refused for this order, bound again with its errors."""
    draft = request.session.pop(decision_draft_key(order.pk), None)
    if not isinstance(draft, dict) or not isinstance(draft.get("data"), dict):
        return DecisionForm(order=order, has_employer=has_employer)
    data = MultiValueDict({name: list(values) for name, values in draft["data"].items() if isinstance(values, list)})
    form = DecisionForm(data, order=order, has_employer=has_employer)
    form.is_valid()
    for name, messages in (draft.get("errors") or {}).items():
        field = name if name in form.fields else None
        shown = form.errors.get(field or "__all__", [])
        for message in messages:
            if message not in shown:
                form.add_error(field, message)
    return form
