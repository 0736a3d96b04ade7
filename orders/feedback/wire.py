"""The wire values of a decision, in the protocol's two forms (docs/contract.md, "Decisions go back").

One place for both directions: the pushes to an institution (channel `args`,
webhook `data`) and its pulls (`Order.getOrderStatus`, the REST decision read)
are built here from the same record, so they can never disagree. Pure functions
of a `Decision`, or of an `Order` (which stands on its newest decision when it
is decided or needs information, and is "still in review" otherwise).
"""

from zoneinfo import ZoneInfo

from django.utils import timezone

from orders.choices import DecisionKind, TermUnit
from orders.models import Decision, Order

BEIJING = ZoneInfo("Asia/Shanghai")
APPROVE_STATUS = {DecisionKind.APPROVED: "200", DecisionKind.REJECTED: "403", DecisionKind.NEEDS_INFO: "100"}
IN_REVIEW = "100"  # pending and in_review answer like needs_info: no conclusion yet
TERM_TYPE = {TermUnit.DAY: "1", TermUnit.MONTH: "2"}
APPROVED_REMARK = "ok"
NEEDS_INFO_REMARK = "需补充资料"  # when the reviewer wrote no text (needs_info has no reason code)


def current_decision(order: Order) -> Decision | None:
    """The decision `order` stands on: its newest when it is decided or needs information, else None.

    Reads `order.current_decision` when a caller set it (a list of pulls, a test), else one query.
    """
    if order.review_status not in DecisionKind.values:
        return None
    if hasattr(order, "current_decision"):
        return order.current_decision
    return order.decisions.select_related("reason_code").order_by("-sequence_ms").first()


def _subject(subject: Decision | Order) -> tuple[Order, Decision | None]:
    if isinstance(subject, Decision):
        return subject.order, subject
    return subject, current_decision(subject)


def _unix_ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def _iso(moment) -> str | None:
    return timezone.localtime(moment, BEIJING).isoformat(timespec="milliseconds") if moment else None


def remark(decision: Decision) -> str:
    """`approve_remark`: "ok" when approved; else the reviewer's text, or the reason code's Chinese label."""
    if decision.decision == DecisionKind.APPROVED:
        return APPROVED_REMARK
    if decision.reason:
        return decision.reason
    if decision.reason_code_id:
        return decision.reason_code.label_zh
    return NEEDS_INFO_REMARK


def channel_args(subject: Decision | Order) -> dict:
    """The `args` of `Partner.Order.approveFeedback` (before JSON encoding): every value a string but
    `supplements` (a list) and `updated_at` (13-digit Unix milliseconds, growing with every decision)."""
    order, decision = _subject(subject)
    if decision is None:
        since = order.review_updated_at or order.received_at
        return {
            "order_sn": order.order_no,
            # An order decided before decisions carried terms has no record: its status still says which.
            "approve_status": APPROVE_STATUS.get(order.review_status, IN_REVIEW),
            "approve_remark": "",
            "approve_amount": "",
            "approve_term": "",
            "term_type": "",
            "approve_time": "",
            "can_loan_time": "",
            "supplements": [],
            "updated_at": _unix_ms(since),
        }
    approved = decision.decision == DecisionKind.APPROVED
    can_loan = decision.can_reapply_at if decision.decision == DecisionKind.REJECTED else None
    return {
        "order_sn": order.order_no,
        "approve_status": APPROVE_STATUS[decision.decision],
        "approve_remark": remark(decision),
        "approve_amount": str(decision.approved_amount_fen) if approved else "",
        "approve_term": str(decision.approved_term) if approved else "",
        "term_type": TERM_TYPE[decision.term_unit] if approved else "",
        "approve_time": str(int(decision.decided_at.timestamp())),
        "can_loan_time": timezone.localtime(can_loan, BEIJING).strftime("%Y-%m-%d %H:%M:%S") if can_loan else "",
        "supplements": list(decision.supplements or []),
        "updated_at": decision.sequence_ms,
    }


def webhook_data(subject: Decision | Order) -> dict:
    """The webhook event's `data`; for an order without a conclusion, `decision` is its review status
    (`pending` or `in_review`) and the terms are null: the REST pull's answer."""
    order, decision = _subject(subject)
    if decision is None:
        return {
            "orderNo": order.order_no,
            "decision": order.review_status,
            "approvedAmount": None,
            "approvedTerm": None,
            "termUnit": None,
            "reasonCode": None,
            "reason": "",
            "canReapplyAt": None,
            "supplements": [],
            "decidedAt": None,
        }
    approved = decision.decision == DecisionKind.APPROVED
    return {
        "orderNo": order.order_no,
        "decision": decision.decision,
        "approvedAmount": decision.approved_amount_fen if approved else None,
        "approvedTerm": decision.approved_term if approved else None,
        "termUnit": decision.term_unit if approved else None,
        "reasonCode": decision.reason_code_id or None,
        "reason": decision.reason,
        "canReapplyAt": _iso(decision.can_reapply_at),
        "supplements": list(decision.supplements or []),
        "decidedAt": _iso(decision.decided_at),
    }


def channel_pull(order: Order) -> dict:
    """The `response` of `Order.getOrderStatus`: the channel args' values, with `result_type` 1."""
    args = channel_args(order)
    return {
        "order_sn": args["order_sn"],
        "result_type": 1,
        **{
            key: args[key]
            for key in (
                "approve_status",
                "approve_remark",
                "approve_amount",
                "approve_term",
                "approve_time",
                "term_type",
                "can_loan_time",
                "supplements",
            )
        },
    }


def rest_pull(order: Order) -> dict:
    """The body of `GET /api/v1/user-additional/decision/`: the webhook's `data` keys."""
    return webhook_data(order)
