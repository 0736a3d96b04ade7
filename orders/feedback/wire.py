"""What a decision looks like on the wire: the channel `args` and the webhook `data` (docs/integration.md).

Provisional: built from the decision as the review records it today (status,
reason on the decide event, time). The decision record with terms, reason codes
and supplements replaces this module with its own builders of the same names.
"""

from django.utils import timezone

from orders.choices import ReviewEventKind, ReviewStatus
from orders.models import Order, ReviewEvent

APPROVE_STATUS = {ReviewStatus.APPROVED: "200", ReviewStatus.REJECTED: "403", ReviewStatus.NEEDS_INFO: "100"}


def _decision(order: Order) -> tuple[str, object]:
    event = (
        ReviewEvent.objects.filter(order=order, kind=ReviewEventKind.DECIDE)
        .order_by("-created_at", "-id")
        .values("reason", "created_at")
        .first()
    ) or {"reason": "", "created_at": order.review_updated_at or timezone.now()}
    return event["reason"], event["created_at"]


def channel_args(order: Order) -> dict:
    """The `args` of `Partner.Order.approveFeedback` for the order's current decision."""
    reason, decided_at = _decision(order)
    approved = order.review_status == ReviewStatus.APPROVED
    return {
        "order_sn": order.order_no,
        "approve_status": APPROVE_STATUS.get(order.review_status, "100"),
        "approve_remark": "ok" if approved else reason,
        "approve_amount": str(order.loan_amount_fen) if approved else "",
        "approve_term": "",
        "term_type": "",
        "approve_time": str(int(decided_at.timestamp())),
        "can_loan_time": "",
        "supplements": [],
        "updated_at": int(decided_at.timestamp() * 1000),
    }


def webhook_data(order: Order) -> dict:
    """The `data` of an `order.decision` event for the order's current decision."""
    reason, decided_at = _decision(order)
    approved = order.review_status == ReviewStatus.APPROVED
    return {
        "orderNo": order.order_no,
        "decision": order.review_status,
        "approvedAmount": order.loan_amount_fen if approved else None,
        "approvedTerm": None,
        "termUnit": None,
        "reasonCode": None,
        "reason": "" if approved else reason,
        "canReapplyAt": None,
        "supplements": [],
        "decidedAt": timezone.localtime(decided_at).isoformat(),
    }
