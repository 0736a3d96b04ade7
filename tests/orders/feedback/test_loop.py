"""The whole loop through the doors: push, review API (needs_info), the institution told "100", a revision,
approval, the institution told "200", and the pull answering the same values."""

import copy
import json
from urllib.parse import parse_qs

import pytest
from rest_framework.test import APIClient

from orders.choices import ReviewStatus
from orders.models import Delivery, DeliveryStatus, FeedbackMode, Order, OrderRevision
from orders.services import staff_api_token_create
from tests.factories import PushPayloadFactory, ReviewerFactory
from tests.orders.feedback.conftest import feedback_institution

pytestmark = pytest.mark.django_db

PUSH = "/api/v1/user-additional/"
SUPPLEMENTS = ["userAdditional.workOfficeInfo.companyName", "userAdditional.contactInfo.mobile"]


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _post(client, url, body=None):
    return client.post(url, data=json.dumps(body) if body is not None else None, content_type="application/json")


def _args(received) -> dict:
    return json.loads(parse_qs(received.body.decode("ascii"))["args"][0])


def test_needs_info_revision_and_approval_reach_the_institution_and_the_pull_agrees(receiver):
    # given: an institution taking channel feedback on loopback, and a review robot
    institution = feedback_institution(FeedbackMode.CHANNEL, receiver.url)
    door = _bearer(institution.api_token)
    robot = _bearer(staff_api_token_create(user=ReviewerFactory(), name="robot", scopes=("review",)).plaintext)
    payload = PushPayloadFactory()
    assert _post(door, PUSH, payload).status_code == 201

    # when: the robot asks for two fields again
    order = robot.post("/api/v1/review/next/").json()
    needs_info = {"decision": "needs_info", "supplements": SUPPLEMENTS, "reason": "请补充工作信息"}
    assert _post(robot, f"/api/v1/orders/{order['id']}/decision/", needs_info).status_code == 200

    # then: the institution hears "100" with the fields
    first = _args(receiver.received[-1])
    assert (first["approve_status"], first["supplements"]) == ("100", SUPPLEMENTS)

    # when: the institution supplies them again, and the robot approves
    revised = copy.deepcopy(payload)
    revised["userAdditional"]["workOfficeInfo"]["companyName"] = "新公司有限公司"
    revised["userAdditional"]["contactInfo"]["mobile"] = "13900001111"
    answer = _post(door, PUSH, revised)
    assert (answer.status_code, answer.json()["status"]) == (201, "revised")
    assert Order.objects.get(pk=order["id"]).review_status == ReviewStatus.PENDING
    assert OrderRevision.objects.filter(order_id=order["id"]).exists()
    assert robot.post("/api/v1/review/next/").json()["id"] == order["id"]
    approve = {"decision": "approved", "approved_amount": 100_000, "approved_term": 6, "term_unit": "month",
               "confirm_high_risk": True}  # fmt: skip
    assert _post(robot, f"/api/v1/orders/{order['id']}/decision/", approve).status_code == 200

    # then: the institution hears "200" with the terms, a newer updated_at, and the pulls say the same
    second = _args(receiver.received[-1])
    assert (second["approve_status"], second["approve_amount"], second["approve_term"], second["term_type"]) == (
        "200",
        "100000",
        "6",
        "2",
    )
    assert second["updated_at"] > first["updated_at"]
    assert len(receiver.received) == 2
    assert list(Delivery.objects.filter(order_id=order["id"]).values_list("status", flat=True).order_by("pk")) == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.DELIVERED,
    ]
    pulled = door.get("/api/v1/user-additional/decision/", {"orderNo": payload["orderInfo"]["orderNo"]}).json()
    assert Delivery.objects.filter(order_id=order["id"]).order_by("-pk").first().payload["data"] == pulled
