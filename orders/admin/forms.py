"""The order page's review forms (decide, note, assign) and the refused decision brought back to the page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from orders import selectors, services


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


def decision_draft_key(order_id: int) -> str:
    return f"orders:decision-draft:{order_id}"


def decision_form(request, order_id: int) -> DecisionForm:
    """A blank decision form, or the one just refused for this order, bound again with its error."""
    draft = request.session.pop(decision_draft_key(order_id), None)
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
