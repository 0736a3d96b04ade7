"""Deciding an order with its terms: the one validation (admin form, review API, services) and the decision record."""

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.choices import DecisionKind, ReviewEventKind, RiskSeverity, TermUnit
from orders.models import Decision, Employer, Order, RejectionReason, RiskSignal
from orders.permissions import REVIEW_ORDER
from orders.push_fields import pushed_paths
from orders.services.review import (
    FINAL_STATUSES,
    ReviewError,
    _holds,
    _locked_order,
    _require_permission,
    _review_change,
)

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_TERM = {TermUnit.DAY: 3650, TermUnit.MONTH: 360}
MAX_REASON_CHARS = 1000
MAX_REAPPLY_YEARS = 10
_SLUG_RE = re.compile(r"[-a-zA-Z0-9_]{1,32}")
# The inputs each decision takes; any other one given is refused rather than silently dropped.
FIELDS_OF = {
    DecisionKind.APPROVED: {"approved_amount", "approved_term", "term_unit", "reason", "confirm_high_risk"},
    DecisionKind.REJECTED: {"reason_code", "reason", "can_reapply_at", "confirm_high_risk"},
    DecisionKind.NEEDS_INFO: {"supplements", "reason", "confirm_high_risk"},
}
TERM_FIELDS = ("approved_amount", "approved_term", "term_unit", "reason_code", "can_reapply_at", "supplements")


class DecisionTermsError(ReviewError):
    """The terms break one rule or more; `errors` maps each input's name to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        name, messages = next(iter(errors.items()))
        super().__init__(messages[0], field=name)
        self.errors = errors


@dataclass(frozen=True)
class DecisionTerms:
    """A decision as a reviewer, a form or an API client gave it, before any check.

    Amounts are fen and terms whole numbers (ints; a form converts its text first);
    `can_reapply_at` is a date or `YYYY-MM-DD`; `supplements` dotted leaf paths.
    """

    decision: str
    approved_amount: object = None
    approved_term: object = None
    term_unit: object = ""
    reason_code: object = ""
    reason: object = ""
    can_reapply_at: object = None
    supplements: object = field(default_factory=tuple)
    confirm_high_risk: bool = False

    def given(self, name: str) -> bool:
        value = getattr(self, name)
        return value not in (None, "", (), []) and value is not False


def _storable(value) -> bool:
    """Text a database keeps as given: no NUL (PostgreSQL refuses it), no lone surrogate (not UTF-8)."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def order_supplementable_paths(*, order: Order, has_employer: bool | None = None) -> list[str]:
    """The order's own pushed leaf paths: what `needs_info` may ask the institution to supply again.

    `has_employer`: whether the order has an employer row, when the caller already knows.
    """
    if has_employer is None:
        has_employer = Employer.objects.filter(order_id=order.pk).exists()
    return pushed_paths(has_employer=has_employer)


def reapply_from(value, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """00:00 Beijing time of the date `value` (a date or `YYYY-MM-DD`); None when it is not a date."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
        except ValueError:
            value = None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        return None
    return dt.datetime.combine(value, dt.time(), tzinfo=BEIJING)


def decision_terms_errors(terms: DecisionTerms, *, order: Order, now: dt.datetime | None = None) -> dict:
    """Every rule the terms break, by input name (empty: they hold). The one validation of a decision."""
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if terms.decision not in DecisionKind.values:
        fail("decision", _("Choose approved, rejected or needs more information."))
        return errors
    allowed = FIELDS_OF[terms.decision]
    for name in (*TERM_FIELDS, "reason"):
        if name not in allowed and terms.given(name):
            fail(name, _("Not with this decision."))
    if terms.given("reason") and not (_storable(terms.reason) and len(terms.reason) <= MAX_REASON_CHARS):
        fail("reason", _("Text of at most %(max)d characters.") % {"max": MAX_REASON_CHARS})
    check = {
        DecisionKind.APPROVED: _approved_errors,
        DecisionKind.REJECTED: _rejected_errors,
        DecisionKind.NEEDS_INFO: _needs_info_errors,
    }[terms.decision]
    check(terms, order, fail, now or timezone.now())
    return errors


def _approved_errors(terms: DecisionTerms, order: Order, fail, now) -> None:
    amount, term, unit = terms.approved_amount, terms.approved_term, terms.term_unit
    if not _whole_number(amount) or not 1 <= amount <= order.loan_amount_fen:
        fail(
            "approved_amount",
            _("From 1 fen (0.01 yuan) to the requested amount, %(fen)d fen (%(yuan)s yuan).")
            % {"fen": order.loan_amount_fen, "yuan": f"{order.loan_amount_yuan:.2f}"},
        )
    if unit not in TermUnit.values:
        fail("term_unit", _("Choose days or months."))
    maximum = MAX_TERM.get(unit, max(MAX_TERM.values()))
    if not _whole_number(term) or not 1 <= term <= maximum:
        fail("approved_term", _("A whole number from 1 to %(max)d.") % {"max": maximum})
    if order.risk_pending:
        fail(
            "decision",
            _(
                "The risk signals of this order are still being computed: it cannot be approved until they are. "
                "Reload the page in a moment."
            ),
        )
    elif terms.confirm_high_risk is not True and order_has_high_risk(order_id=order.pk):
        fail(
            "confirm_high_risk",
            _("This order carries a high-severity risk signal: confirm that you approve it anyway."),
        )


def _rejected_errors(terms: DecisionTerms, order: Order, fail, now) -> None:
    code = terms.reason_code
    readable = isinstance(code, str) and _SLUG_RE.fullmatch(code)
    if not (readable and RejectionReason.objects.filter(code=code, is_active=True).exists()):
        fail("reason_code", _("Choose one of the rejection reasons."))
    if terms.given("can_reapply_at"):
        when = reapply_from(terms.can_reapply_at)
        if when is None:
            fail("can_reapply_at", _("A date, YYYY-MM-DD."))
        elif when <= now:
            fail("can_reapply_at", _("A date in the future (from 00:00 Beijing time of that day)."))
        elif when > now + dt.timedelta(days=366 * MAX_REAPPLY_YEARS):
            fail("can_reapply_at", _("At most %(years)d years ahead.") % {"years": MAX_REAPPLY_YEARS})


def _needs_info_errors(terms: DecisionTerms, order: Order, fail, now) -> None:
    supplements = terms.supplements
    if not isinstance(supplements, (list, tuple)) or not supplements:
        fail("supplements", _("Pick at least one pushed field to supply again."))
        return
    known = set(order_supplementable_paths(order=order))
    unknown = [path for path in supplements if not isinstance(path, str) or path not in known]
    if unknown:
        shown = ", ".join(str(path)[:80] for path in unknown[:5])
        fail("supplements", _("Not a pushed field of this order: %(paths)s.") % {"paths": shown})
    elif len(set(supplements)) != len(supplements):
        fail("supplements", _("Each field once."))


def order_has_high_risk(*, order_id: int) -> bool:
    """Whether the order carries a high-severity signal, so that approving it needs a confirmation."""
    return RiskSignal.objects.filter(order_id=order_id, severity=RiskSeverity.HIGH).exists()


@transaction.atomic
def order_decide(*, order_id: int, reviewer, terms: DecisionTerms) -> Decision:
    """Record the reviewer's decision with its terms, as a new `Decision`, and move the order.

    The rules are `decision_terms_errors`, checked again here with the order
    locked (its signals or its amount may have changed since a form was drawn).
    """
    _require_permission(reviewer, REVIEW_ORDER)
    order = _locked_order(order_id)
    if order.review_status in FINAL_STATUSES:
        raise ReviewError(_("This order has already been decided."), code="already_decided")
    if not _holds(order, reviewer):
        raise ReviewError(_("Claim the order before deciding it."), code="not_claimed")
    now = timezone.now()
    if errors := decision_terms_errors(terms, order=order, now=now):
        raise DecisionTermsError(errors)
    decision = _decision_record(order, reviewer, terms, now)
    # Needs-information stays with its reviewer until the institution supplies the order again.
    event = _review_change(
        order,
        actor=reviewer,
        kind=ReviewEventKind.DECIDE,
        to_status=terms.decision,
        to_assignee=reviewer,
        reason=(terms.reason or "").strip(),
        now=now,
    )
    order.save(update_fields=["review_status", "assigned_to", "review_updated_at"])
    event.save()
    return decision


def _decision_record(order: Order, reviewer, terms: DecisionTerms, now: dt.datetime) -> Decision:
    last = Decision.objects.filter(order=order).aggregate(last=Max("sequence_ms"))["last"] or 0
    approved = terms.decision == DecisionKind.APPROVED
    return Decision.objects.create(
        order=order,
        decided_by=reviewer,
        decided_at=now,
        decision=terms.decision,
        approved_amount_fen=terms.approved_amount if approved else None,
        approved_term=terms.approved_term if approved else None,
        term_unit=terms.term_unit if approved else "",
        reason_code_id=terms.reason_code if terms.decision == DecisionKind.REJECTED else None,
        reason=(terms.reason or "").strip(),
        can_reapply_at=reapply_from(terms.can_reapply_at) if terms.given("can_reapply_at") else None,
        supplements=list(terms.supplements) if terms.decision == DecisionKind.NEEDS_INFO else [],
        # Grows with every decision of the order, even two in one millisecond: receivers deduplicate by it.
        sequence_ms=max(int(now.timestamp() * 1000), last + 1),
    )
