"""The wire values of a decision against the contract's tables (channel args, webhook data, both pulls)."""

import datetime as dt

import pytest

from orders.choices import ReviewStatus
from orders.feedback import wire
from orders.models import Decision, RejectionReason
from orders.services.decisions import BEIJING
from tests.factories import OrderFactory, ReviewerFactory

pytestmark = pytest.mark.django_db

DECIDED_AT = dt.datetime(2026, 11, 30, 10, 0, 5, 250_000, tzinfo=dt.UTC)


def _decision(decision: str, *, status: str | None = None, **terms) -> Decision:
    order = OrderFactory(order_no="YB/2026?1%", loan_amount_fen=500_000, review_status=status or decision)
    return Decision.objects.create(
        order=order,
        decided_by=ReviewerFactory(),
        decided_at=DECIDED_AT,
        decision=decision,
        sequence_ms=1_796_032_805_250,
        **terms,
    )


def test_an_approval_on_the_channel():
    # given
    decision = _decision(
        "approved", approved_amount_fen=300_000, approved_term=12, term_unit="month", reason="rang them"
    )

    # when
    args = wire.channel_args(decision)

    # then
    assert args == {
        "order_sn": "YB/2026?1%",
        "approve_status": "200",
        "approve_remark": "ok",
        "approve_amount": "300000",
        "approve_term": "12",
        "term_type": "2",
        "approve_time": "1796032805",
        "can_loan_time": "",
        "supplements": [],
        "updated_at": 1_796_032_805_250,
    }


@pytest.mark.parametrize(("unit", "term_type"), [("day", "1"), ("month", "2")])
def test_term_units_on_the_channel(unit, term_type):
    # given
    decision = _decision("approved", approved_amount_fen=1, approved_term=7, term_unit=unit)

    # when / then
    assert wire.channel_args(decision)["term_type"] == term_type


def test_a_rejection_without_text_sends_the_reason_codes_chinese_label_and_the_reapply_time_in_beijing():
    # given
    decision = _decision(
        "rejected",
        reason_code=RejectionReason.objects.get(code="multiple_borrowing"),
        can_reapply_at=dt.datetime(2027, 1, 15, tzinfo=BEIJING),
    )

    # when
    args = wire.channel_args(decision)
    data = wire.webhook_data(decision)

    # then
    assert (args["approve_status"], args["approve_remark"]) == ("403", "多头借贷")
    assert (args["approve_amount"], args["approve_term"], args["term_type"]) == ("", "", "")
    assert args["can_loan_time"] == "2027-01-15 00:00:00"
    assert data["canReapplyAt"] == "2027-01-15T00:00:00.000+08:00"
    assert (data["reasonCode"], data["reason"], data["decision"]) == ("multiple_borrowing", "", "rejected")


def test_a_rejection_with_text_sends_the_text():
    # given
    decision = _decision("rejected", reason_code_id="other", reason="资料与征信不符")

    # when / then
    assert wire.channel_args(decision)["approve_remark"] == "资料与征信不符"


def test_needs_info_is_still_in_review_with_its_supplements():
    # given
    paths = ["userAdditional.workOfficeInfo.companyName", "userAdditional.addressBook.phoneList"]
    decision = _decision("needs_info", supplements=paths)

    # when
    args = wire.channel_args(decision)
    data = wire.webhook_data(decision)

    # then
    assert (args["approve_status"], args["supplements"], args["approve_remark"]) == ("100", paths, "需补充资料")
    assert (data["decision"], data["supplements"], data["approvedAmount"]) == ("needs_info", paths, None)


def test_the_webhook_data_of_an_approval():
    # given
    decision = _decision("approved", approved_amount_fen=300_000, approved_term=30, term_unit="day")

    # when
    data = wire.webhook_data(decision)

    # then
    assert data == {
        "orderNo": "YB/2026?1%",
        "decision": "approved",
        "approvedAmount": 300_000,
        "approvedTerm": 30,
        "termUnit": "day",
        "reasonCode": None,
        "reason": "",
        "canReapplyAt": None,
        "supplements": [],
        "decidedAt": "2026-11-30T18:00:05.250+08:00",
    }


@pytest.mark.parametrize("status", [ReviewStatus.PENDING, ReviewStatus.IN_REVIEW])
def test_an_order_without_a_conclusion_is_still_in_review_on_both_pulls(status):
    # given
    order = OrderFactory(review_status=status)

    # when
    channel = wire.channel_pull(order)
    rest = wire.rest_pull(order)

    # then
    assert channel == {
        "order_sn": order.order_no,
        "result_type": 1,
        "approve_status": "100",
        "approve_remark": "",
        "approve_amount": "",
        "approve_term": "",
        "approve_time": "",
        "term_type": "",
        "can_loan_time": "",
        "supplements": [],
    }
    assert (rest["orderNo"], rest["decision"], rest["decidedAt"], rest["supplements"]) == (
        order.order_no,
        status,
        None,
        [],
    )


def test_an_order_supplied_again_after_needs_info_is_back_in_review_on_the_pulls():
    # given: the needs-info decision stays on record, but the order is pending again
    decision = _decision("needs_info", status=ReviewStatus.PENDING, supplements=["orderInfo.userPhone"])

    # when
    channel = wire.channel_pull(decision.order)

    # then
    assert (channel["approve_status"], channel["supplements"]) == ("100", [])


def test_an_order_stands_on_its_newest_decision():
    # given
    older = _decision("needs_info", supplements=["orderInfo.userPhone"])
    order = older.order
    order.review_status = ReviewStatus.APPROVED
    Decision.objects.create(
        order=order,
        decided_by=older.decided_by,
        decided_at=DECIDED_AT + dt.timedelta(hours=1),
        decision="approved",
        approved_amount_fen=1,
        approved_term=1,
        term_unit="day",
        sequence_ms=older.sequence_ms + 1,
    )

    # when
    pulled = wire.channel_pull(order)
    pushed = wire.channel_args(order)

    # then
    assert (pulled["approve_status"], pulled["approve_amount"], pulled["supplements"]) == ("200", "1", [])
    assert pushed["updated_at"] == older.sequence_ms + 1
