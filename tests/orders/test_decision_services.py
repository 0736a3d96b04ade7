"""Deciding with terms: every rule of `decision_terms_errors`, and the decision records it leaves."""

import datetime as dt

import pytest
from django.utils import translation

from orders import services
from orders.choices import ReviewEventKind, ReviewStatus
from orders.models import Decision, Order, RejectionReason, ReviewEvent, RiskSignal
from orders.services.decisions import BEIJING, DecisionTerms
from tests.factories import EmployerFactory, OrderFactory, ReviewerFactory

pytestmark = pytest.mark.django_db

APPROVE = {"decision": "approved", "approved_amount": 100_00, "approved_term": 12, "term_unit": "month"}
REJECT = {"decision": "rejected", "reason_code": "device_risk"}
NEEDS_INFO = {"decision": "needs_info", "supplements": ("orderInfo.userPhone",)}


@pytest.fixture(autouse=True)
def _english():
    # The messages are checked in English; a test before may have left another language active.
    with translation.override("en"):
        yield


@pytest.fixture
def reviewer():
    return ReviewerFactory()


def _claimed(reviewer, **order_kwargs) -> Order:
    order = OrderFactory(loan_amount_fen=500_000, **order_kwargs)
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    return order


def _decide(order, reviewer, **terms) -> Decision:
    return services.order_decide(order_id=order.pk, reviewer=reviewer, terms=DecisionTerms(**terms))


def _refusal(order, reviewer, **terms) -> dict:
    with pytest.raises(services.DecisionTermsError) as refused:
        _decide(order, reviewer, **terms)
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.IN_REVIEW
    assert not Decision.objects.filter(order=order).exists()
    return refused.value.errors


def test_the_default_rejection_reasons_are_seeded_in_both_languages():
    # given / when
    reasons = {reason.code: (reason.label_en, reason.label_zh) for reason in RejectionReason.objects.all()}

    # then
    assert reasons == {
        "insufficient_credit": ("Insufficient credit", "信用不足"),
        "false_information": ("False information", "资料不实"),
        "multiple_borrowing": ("Multiple borrowing", "多头借贷"),
        "device_risk": ("Device risk", "设备风险"),
        "contact_anomaly": ("Contact anomaly", "联系人异常"),
        "other": ("Other", "其他"),
    }


def test_approving_records_the_terms_and_moves_the_order(reviewer):
    # given
    order = _claimed(reviewer)

    # when
    decision = _decide(order, reviewer, **APPROVE, reason="  rang the applicant ")

    # then
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.APPROVED
    assert (decision.approved_amount_fen, decision.approved_term, decision.term_unit) == (100_00, 12, "month")
    assert (decision.decided_by, decision.reason, decision.supplements) == (reviewer, "rang the applicant", [])
    event = ReviewEvent.objects.filter(order=order).latest("id")
    assert (event.kind, event.to_status, event.reason) == (ReviewEventKind.DECIDE, "approved", "rang the applicant")


def test_rejecting_records_the_code_and_the_reapply_date_at_midnight_beijing(reviewer):
    # given
    order = _claimed(reviewer)
    day = (dt.datetime.now(BEIJING) + dt.timedelta(days=30)).date()

    # when
    decision = _decide(order, reviewer, **REJECT, can_reapply_at=day.isoformat())

    # then
    assert decision.reason_code_id == "device_risk"
    assert decision.can_reapply_at == dt.datetime.combine(day, dt.time(), tzinfo=BEIJING)
    assert decision.approved_amount_fen is None


def test_needs_info_records_the_fields_to_supply_again(reviewer):
    # given
    order = _claimed(reviewer)
    EmployerFactory(order=order)
    fields = ("userAdditional.workOfficeInfo.companyName", "userAdditional.addressBook.phoneList")

    # when
    decision = _decide(order, reviewer, decision="needs_info", supplements=fields, reason="payslip")

    # then
    assert decision.supplements == list(fields)
    order.refresh_from_db()
    assert (order.review_status, order.assigned_to) == (ReviewStatus.NEEDS_INFO, reviewer)


def test_every_decision_is_a_record_and_a_newer_one_keeps_the_older(reviewer):
    # given
    order = _claimed(reviewer)
    first = _decide(order, reviewer, **NEEDS_INFO)
    services.order_claim(order_id=order.pk, reviewer=reviewer)

    # when
    second = _decide(order, reviewer, **APPROVE)

    # then
    assert list(Decision.objects.filter(order=order)) == [second, first]
    assert second.sequence_ms > first.sequence_ms


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"decision": "pending"}, "decision"),
        ({"decision": "bogus"}, "decision"),
        ({"decision": None}, "decision"),
        ({**APPROVE, "approved_amount": 0}, "approved_amount"),
        ({**APPROVE, "approved_amount": 500_001}, "approved_amount"),
        ({**APPROVE, "approved_amount": "10000"}, "approved_amount"),
        ({**APPROVE, "approved_amount": 100.0}, "approved_amount"),
        ({**APPROVE, "approved_amount": True}, "approved_amount"),
        ({**APPROVE, "approved_amount": None}, "approved_amount"),
        ({**APPROVE, "approved_term": 0}, "approved_term"),
        ({**APPROVE, "approved_term": -3}, "approved_term"),
        ({**APPROVE, "approved_term": "12"}, "approved_term"),
        ({**APPROVE, "approved_term": 361}, "approved_term"),
        ({**APPROVE, "term_unit": "day", "approved_term": 3651}, "approved_term"),
        ({**APPROVE, "term_unit": "year"}, "term_unit"),
        ({**APPROVE, "term_unit": ""}, "term_unit"),
        ({**APPROVE, "reason_code": "other"}, "reason_code"),
        ({**APPROVE, "supplements": ("orderInfo.userPhone",)}, "supplements"),
        ({**APPROVE, "reason": "x" * 1001}, "reason"),
        ({**APPROVE, "reason": "nul\x00byte"}, "reason"),
        ({**APPROVE, "reason": "\ud800"}, "reason"),
        ({"decision": "rejected"}, "reason_code"),
        ({"decision": "rejected", "reason_code": "made_up"}, "reason_code"),
        ({"decision": "rejected", "reason_code": "x\x00"}, "reason_code"),
        ({**REJECT, "can_reapply_at": "2020-01-01"}, "can_reapply_at"),
        ({**REJECT, "can_reapply_at": "tomorrow"}, "can_reapply_at"),
        ({**REJECT, "can_reapply_at": "2999-01-01"}, "can_reapply_at"),
        ({**REJECT, "can_reapply_at": 20300101}, "can_reapply_at"),
        ({**REJECT, "approved_amount": 1}, "approved_amount"),
        ({**REJECT, "supplements": ("orderInfo.userPhone",)}, "supplements"),
        ({"decision": "needs_info"}, "supplements"),
        ({"decision": "needs_info", "supplements": ()}, "supplements"),
        ({"decision": "needs_info", "supplements": "orderInfo.userPhone"}, "supplements"),
        ({"decision": "needs_info", "supplements": ("orderInfo.nope",)}, "supplements"),
        ({"decision": "needs_info", "supplements": ("orderInfo.orderNo",)}, "supplements"),
        ({"decision": "needs_info", "supplements": ("userAdditional.addressBook.phoneList.3",)}, "supplements"),
        ({"decision": "needs_info", "supplements": ("userAdditional.workOfficeInfo.companyName",)}, "supplements"),
        ({"decision": "needs_info", "supplements": (["x"],)}, "supplements"),
        ({**NEEDS_INFO, "supplements": ("orderInfo.userPhone", "orderInfo.userPhone")}, "supplements"),
        ({**NEEDS_INFO, "term_unit": "day"}, "term_unit"),
        ({**NEEDS_INFO, "can_reapply_at": "2999-01-01"}, "can_reapply_at"),
    ],
)
def test_each_broken_rule_is_refused_by_its_field_and_nothing_is_written(reviewer, terms, field):
    # given: an order without an employer (so its workOfficeInfo fields were not pushed)
    order = _claimed(reviewer)

    # when
    errors = _refusal(order, reviewer, **terms)

    # then
    assert field in errors, errors
    assert all(isinstance(message, str) and message for messages in errors.values() for message in messages)


def test_several_broken_rules_are_all_named(reviewer):
    # given
    order = _claimed(reviewer)

    # when
    errors = _refusal(order, reviewer, decision="approved", approved_amount=0, approved_term=0, term_unit="x")

    # then
    assert set(errors) == {"approved_amount", "approved_term", "term_unit"}


def test_a_retired_rejection_reason_is_refused(reviewer):
    # given
    RejectionReason.objects.filter(code="other").update(is_active=False)
    order = _claimed(reviewer)

    # when
    errors = _refusal(order, reviewer, decision="rejected", reason_code="other")

    # then
    assert "reason_code" in errors


def test_the_reapply_date_must_be_after_now_in_beijing_time(reviewer):
    # given: today in Beijing has started, so its 00:00 is past
    order = _claimed(reviewer)
    today = dt.datetime.now(BEIJING).date()

    # when
    errors = _refusal(order, reviewer, **REJECT, can_reapply_at=today)

    # then
    assert "can_reapply_at" in errors


def test_the_approved_amount_may_be_the_whole_request(reviewer):
    # given
    order = _claimed(reviewer)

    # when
    decision = _decide(order, reviewer, **{**APPROVE, "approved_amount": 500_000})

    # then
    assert decision.approved_amount_fen == 500_000


def _claimed_with_signal(reviewer, severity: str, **order_kwargs) -> Order:
    order = OrderFactory(**order_kwargs)
    RiskSignal.objects.create(order=order, code="simulator", severity=severity, reason_zh="-", reason_en="-")
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    return order


def _approve(order) -> dict:
    return {**APPROVE, "approved_amount": min(APPROVE["approved_amount"], order.loan_amount_fen)}


def test_approving_a_high_severity_order_needs_the_confirmation(reviewer):
    # given
    order = _claimed_with_signal(reviewer, "high")

    # when
    errors = _refusal(order, reviewer, **_approve(order))
    decision = _decide(order, reviewer, **_approve(order), confirm_high_risk=True)

    # then
    assert list(errors) == ["confirm_high_risk"]
    assert decision.decision == "approved"


@pytest.mark.parametrize(
    ("severity", "terms"), [("medium", None), ("high", REJECT), ("high", NEEDS_INFO)], ids=["medium", "rej", "ni"]
)
def test_the_confirmation_is_asked_only_to_approve_a_high_severity_order(reviewer, severity, terms):
    # given
    order = _claimed_with_signal(reviewer, severity)

    # when
    decision = _decide(order, reviewer, **(terms or _approve(order)))

    # then
    order.refresh_from_db()
    assert order.review_status == decision.decision


@pytest.mark.parametrize("confirm_high_risk", [False, True])
def test_an_order_whose_signals_are_being_computed_cannot_be_approved(reviewer, confirm_high_risk):
    # given
    order = _claimed_with_signal(reviewer, "low", risk_pending=True)

    # when
    errors = _refusal(order, reviewer, **_approve(order), confirm_high_risk=confirm_high_risk)

    # then
    assert "still being computed" in errors["decision"][0]


def test_an_order_whose_signals_are_being_computed_can_be_rejected(reviewer):
    # given
    order = _claimed_with_signal(reviewer, "low", risk_pending=True)

    # when
    _decide(order, reviewer, **REJECT)

    # then
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.REJECTED


def test_deciding_needs_the_order_to_be_claimed_by_the_decider(reviewer):
    # given
    unclaimed = OrderFactory()
    held_by_other = OrderFactory()
    services.order_claim(order_id=held_by_other.pk, reviewer=ReviewerFactory())

    # when / then
    for order in (unclaimed, held_by_other):
        with pytest.raises(services.ReviewError, match="Claim the order") as refused:
            _decide(order, reviewer, **REJECT)
        assert refused.value.code == "not_claimed"


def test_a_decided_order_cannot_be_decided_again(reviewer):
    # given
    order = _claimed(reviewer)
    _decide(order, reviewer, **REJECT)

    # when / then
    with pytest.raises(services.ReviewError) as refused:
        _decide(order, reviewer, **REJECT)
    assert refused.value.code == "already_decided"
    assert Decision.objects.filter(order=order).count() == 1


def test_the_supplementable_fields_are_the_orders_own_pushed_leaves():
    # given
    worker, other = OrderFactory(), OrderFactory()
    EmployerFactory(order=worker)

    # when
    with_employer = services.order_supplementable_paths(order=worker)
    without = services.order_supplementable_paths(order=other)

    # then
    assert "userAdditional.workOfficeInfo.companyName" in with_employer
    assert not any(path.startswith("userAdditional.workOfficeInfo") for path in without)
    assert "userAdditional.addressBook.phoneList" in without
    assert "orderInfo.orderNo" not in without


def test_the_push_field_table_names_every_leaf_the_protocol_defines():
    # given: the protocol's keys as intake's serializers define them
    from intake.payload import push_known_keys
    from orders.push_fields import every_path

    known = push_known_keys()
    leaves = {
        f"{section}.{key}" if section else key
        for section, keys in known.items()
        for key in keys
        if f"{section}.{key}".lstrip(".") not in known and not section.endswith("*")
    }

    # when
    paths = set(every_path()) | {"orderInfo.orderNo"}

    # then
    assert paths == leaves


@pytest.mark.parametrize(
    ("terms", "queries"),
    [
        # lock, high-risk check, last sequence, decision, order, event (+ savepoint pair)
        (APPROVE, 8),
        # lock, reason code, last sequence, decision, order, event (+ savepoint pair)
        (REJECT, 8),
        # lock, employer (the pushed paths), last sequence, decision, order, event (+ savepoint pair)
        (NEEDS_INFO, 8),
    ],
    ids=["approved", "rejected", "needs_info"],
)
def test_a_decision_costs_a_fixed_number_of_queries(reviewer, django_assert_num_queries, terms, queries):
    # given: the reviewer's permissions already cached
    order = _claimed(reviewer)
    reviewer.has_perm("orders.review_order")

    # when / then
    with django_assert_num_queries(queries):
        _decide(order, reviewer, **terms)
