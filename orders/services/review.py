"""The review of an order: claiming, noting and assigning it, each with its audit event (deciding: `decisions`)."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.choices import ReviewEventKind, ReviewStatus
from orders.models import Order, ReviewEvent
from orders.permissions import ASSIGN_ORDER, REVIEW_ORDER
from orders.selectors.orders import order_review_queue

# Every change to an order's review goes through one of these functions: each locks
# the order row, checks the rule, updates the order and writes its ReviewEvent in
# the same transaction, so the audit trail can never disagree with the order.

# A decision closes the review; needs_info waits for the applicant and can be taken up again.
FINAL_STATUSES = frozenset({ReviewStatus.APPROVED, ReviewStatus.REJECTED})
DECISION_STATUSES = (ReviewStatus.APPROVED, ReviewStatus.REJECTED, ReviewStatus.NEEDS_INFO)


class ReviewError(Exception):
    """A review change the rules refuse; `message` is safe to show to the reviewer.

    `field` names the input at fault when there is one (`decision`, `reason`,
    `confirm_high_risk`), so a form or an API answer can point at it; `code` says
    which rule, for machines (`already_claimed`, `already_decided`, `not_claimed`).
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


@dataclass(frozen=True)
class AssignResult:
    assigned: int
    skipped: int


def _require_permission(user, permission: str) -> None:
    if not (user and user.is_active and user.has_perm(permission)):
        raise PermissionDenied(_("You are not allowed to do this."))


def _locked_order(order_id: int) -> Order:
    try:
        return Order.objects.select_for_update().get(pk=order_id)
    except Order.DoesNotExist:
        raise ReviewError(_("This order does not exist."), code="not_found") from None


def _review_change(
    order: Order, *, actor, kind: str, to_status: str, to_assignee, reason: str = "", now=None
) -> ReviewEvent:
    """Move `order` (already locked) and return its unsaved event; the caller saves both."""
    now = now or timezone.now()
    event = ReviewEvent(
        order=order,
        actor=actor,
        created_at=now,
        kind=kind,
        from_status=order.review_status,
        to_status=to_status,
        from_assignee_id=order.assigned_to_id,
        to_assignee=to_assignee,
        reason=reason,
    )
    order.review_status = to_status
    order.assigned_to = to_assignee
    order.review_updated_at = now
    return event


def _claim(order: Order, reviewer) -> Order:
    if order.sandbox:
        # A sandbox institution's test pushes are answered like production but never reviewed.
        raise ReviewError(_("A sandbox order is never reviewed."), code="sandbox_order")
    if order.review_status in FINAL_STATUSES:
        raise ReviewError(_("This order has already been decided."), code="already_decided")
    if _holds(order, reviewer):
        return order  # already theirs: clicking "claim" twice changes nothing
    if order.assigned_to_id not in (None, reviewer.pk):
        raise ReviewError(_("Another reviewer holds this order."), code="already_claimed")
    event = _review_change(
        order, actor=reviewer, kind=ReviewEventKind.CLAIM, to_status=ReviewStatus.IN_REVIEW, to_assignee=reviewer
    )
    order.save(update_fields=["review_status", "assigned_to", "review_updated_at"])
    event.save()
    return order


@transaction.atomic
def order_claim(*, order_id: int, reviewer) -> Order:
    """Take an order for review: pending (or needs-information) and held by nobody else."""
    _require_permission(reviewer, REVIEW_ORDER)
    return _claim(_locked_order(order_id), reviewer)


@transaction.atomic
def order_claim_next(*, reviewer) -> Order | None:
    """Claim the oldest unassigned pending order whose signals are computed; None when the queue is empty.

    An order whose signals are still being computed is skipped: it could not be
    approved yet, and its reviewer would not see what the signals say.

    Two reviewers clicking at once must get two different orders: on PostgreSQL
    `SKIP LOCKED` lets the second pass over the row the first is claiming
    instead of waiting for it (and then finding it taken). SQLite serialises
    writers, so a plain lock is enough there.
    """
    _require_permission(reviewer, REVIEW_ORDER)
    skip_locked = connection.features.has_select_for_update_skip_locked
    order = order_review_queue().select_for_update(skip_locked=skip_locked).first()
    return _claim(order, reviewer) if order is not None else None


@transaction.atomic
def order_add_note(*, order_id: int, author, text: str) -> ReviewEvent:
    """Add a note to the order's review trail; the status and the reviewer stay as they are."""
    _require_permission(author, REVIEW_ORDER)
    text = (text or "").strip()
    if not text:
        raise ReviewError(_("A note cannot be empty."))
    order = _locked_order(order_id)
    event = _review_change(
        order,
        actor=author,
        kind=ReviewEventKind.NOTE,
        to_status=order.review_status,
        to_assignee=order.assigned_to,
        reason=text,
    )
    order.save(update_fields=["review_updated_at"])
    event.save()
    return event


@transaction.atomic
def order_assign(*, order_ids, assignee, actor, reason: str = "") -> AssignResult:
    """A supervisor hands orders to a reviewer; decided orders are left alone and counted as skipped."""
    _require_permission(actor, ASSIGN_ORDER)
    if not (assignee.is_active and assignee.is_staff and assignee.has_perm(REVIEW_ORDER)):
        raise ReviewError(_("Orders can only be assigned to an active reviewer."))
    order_ids = order_assign_selection(list(order_ids))
    # Locking in primary-key order keeps two supervisors' overlapping selections from deadlocking.
    orders = list(Order.objects.select_for_update().filter(pk__in=list(order_ids)).order_by("pk"))
    now = timezone.now()
    changed, events = [], []
    for order in orders:
        if order.review_status in FINAL_STATUSES or _holds(order, assignee):
            continue
        to_status = ReviewStatus.IN_REVIEW if order.review_status == ReviewStatus.PENDING else order.review_status
        events.append(
            _review_change(
                order,
                actor=actor,
                kind=ReviewEventKind.ASSIGN,
                to_status=to_status,
                to_assignee=assignee,
                reason=reason,
                now=now,
            )
        )
        changed.append(order)
    Order.objects.bulk_update(changed, ["review_status", "assigned_to", "review_updated_at"])
    ReviewEvent.objects.bulk_create(events)
    return AssignResult(assigned=len(changed), skipped=len(orders) - len(changed))


# --- What the admin asks before offering a review action ---------------------------------------

# The most orders one assignment takes: they are locked and rewritten in one transaction, so a
# select-all over the whole queue is refused rather than holding every reviewer up.
MAX_ASSIGN_AT_ONCE = 500


def _holds(order: Order, reviewer) -> bool:
    """`reviewer` has claimed `order` and is reviewing it: what deciding needs, what a second claim leaves as is."""
    return order.review_status == ReviewStatus.IN_REVIEW and order.assigned_to_id == reviewer.pk


def _may_review(user) -> bool:
    return bool(user and user.is_active and user.has_perm(REVIEW_ORDER))


def order_can_claim(*, order: Order, reviewer) -> bool:
    """Whether `order_claim` would give `reviewer` this order now (a claim that changes something)."""
    return (
        _may_review(reviewer)
        and not order.sandbox
        and order.review_status not in FINAL_STATUSES
        and order.assigned_to_id in (None, reviewer.pk)
        and not _holds(order, reviewer)
    )


def order_can_decide(*, order: Order, reviewer) -> bool:
    """Whether `order_decide` would hear `reviewer` on this order now (its choice and reason aside)."""
    return _may_review(reviewer) and _holds(order, reviewer)


def order_assign_selection(order_ids) -> list[int]:
    """The ids of a selection to assign: read once and bounded (a queryset is sliced, never read whole),
    refused with a ReviewError beyond MAX_ASSIGN_AT_ONCE."""
    ids = list(order_ids[: MAX_ASSIGN_AT_ONCE + 1])
    if len(ids) > MAX_ASSIGN_AT_ONCE:
        raise ReviewError(_("Select at most %(limit)d orders to assign at once.") % {"limit": MAX_ASSIGN_AT_ONCE})
    return ids
