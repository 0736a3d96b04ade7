"""A reviewer's decision and its delivery: recorded in the decision's transaction, never in the reviewer's way."""

import json
from urllib.parse import parse_qs

import pytest
from django.db import transaction
from django_q.models import OrmQ

from orders import services as review_services
from orders.choices import ReviewStatus
from orders.models import Delivery, DeliveryStatus, FeedbackMode
from orders.services import DecisionTerms
from tests.factories import OrderFactory, ReviewerFactory
from tests.orders.feedback.conftest import feedback_institution

pytestmark = pytest.mark.django_db

APPROVE = DecisionTerms(decision="approved", approved_amount=100, approved_term=12, term_unit="month")


def _claimed_order(institution):
    reviewer = ReviewerFactory()
    order = OrderFactory(institution=institution)
    review_services.order_claim(order_id=order.pk, reviewer=reviewer)
    return order, reviewer


def test_a_decision_reaches_the_institution(receiver):
    # given: jobs run at once (tests' inline engine)
    order, reviewer = _claimed_order(feedback_institution(FeedbackMode.CHANNEL, receiver.url))

    # when
    review_services.order_decide(
        order_id=order.pk,
        reviewer=reviewer,
        terms=DecisionTerms(decision="rejected", reason_code="false_information", reason="资料不实 13912345678"),
    )

    # then
    delivery = Delivery.objects.get(order=order)
    assert delivery.status == DeliveryStatus.DELIVERED
    args = json.loads(parse_qs(receiver.received[0].body.decode("ascii"))["args"][0])
    assert (args["order_sn"], args["approve_status"], args["approve_remark"]) == (
        order.order_no,
        "403",
        "资料不实 13912345678",  # the institution gets the reviewer's words as written
    )


def test_the_decision_commits_its_delivery_job_and_does_not_wait_for_the_receiver(receiver, settings):
    # given: a real engine (jobs are rows), and a receiver that would time out
    settings.JOBS_INLINE = False
    receiver.default = "timeout"
    order, reviewer = _claimed_order(feedback_institution(FeedbackMode.WEBHOOK, receiver.url))

    # when
    review_services.order_decide(order_id=order.pk, reviewer=reviewer, terms=APPROVE)

    # then: the decision and its job are written; nothing was sent during the decision
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.APPROVED
    assert Delivery.objects.get(order=order).status == DeliveryStatus.PENDING
    assert OrmQ.objects.filter(key="deliveries").count() == 1
    assert receiver.received == []


def test_a_decision_rolled_back_leaves_no_delivery_and_no_job(receiver, settings):
    # given
    settings.JOBS_INLINE = False
    order, reviewer = _claimed_order(feedback_institution(FeedbackMode.CHANNEL, receiver.url))

    def decide_then_fail():
        with transaction.atomic():
            review_services.order_decide(order_id=order.pk, reviewer=reviewer, terms=APPROVE)
            raise RuntimeError("the decision's transaction fails after the decision")

    # when
    with pytest.raises(RuntimeError):
        decide_then_fail()

    # then
    assert not Delivery.objects.exists()
    assert not OrmQ.objects.exists()


def test_an_unreachable_receiver_does_not_stop_a_decision(settings):
    # given: feedback to a port nobody listens on, sent at once (inline engine)
    order, reviewer = _claimed_order(feedback_institution(FeedbackMode.CHANNEL, "http://127.0.0.1:9/feedback"))

    # when
    review_services.order_decide(order_id=order.pk, reviewer=reviewer, terms=APPROVE)

    # then
    order.refresh_from_db()
    delivery = Delivery.objects.get(order=order)
    assert order.review_status == ReviewStatus.APPROVED
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempt_count == 1
