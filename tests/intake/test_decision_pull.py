"""The decision pulls on both doors, and the needs-info loop end to end through the review API and both doors."""

import copy
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from orders import services
from orders.services import staff_api_token_create
from orders.services.decisions import DecisionTerms
from tests.factories import InstitutionFactory, PushPayloadFactory, ReviewerFactory, pushed_order
from tests.intake.test_channel import LEGACY_URL, NAMED_URL, envelope, send

pytestmark = pytest.mark.django_db

PULL_URL = "/api/v1/user-additional/decision/"
STATUS_CALL = "Order.getOrderStatus"


def _rest_pull(api_client, institution, order_no: str):
    return api_client.get(
        f"{PULL_URL}?orderNo={quote(order_no, safe='')}", headers={"Authorization": f"Bearer {institution.api_token}"}
    )


def _channel_pull(client, institution, order_sn, *, url=LEGACY_URL, encoding="form"):
    args = json.dumps({"order_sn": order_sn, "act_type": 1})
    return send(client, envelope(institution, args, call=STATUS_CALL), url=url, encoding=encoding).json()


def _decide(order, **terms):
    reviewer = ReviewerFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    return services.order_decide(order_id=order.pk, reviewer=reviewer, terms=DecisionTerms(**terms))


def test_a_pending_order_is_still_in_review_on_both_doors(api_client, client, institution):
    # given: an orderNo holding the characters a URL path could not carry
    order = pushed_order(institution, PushPayloadFactory(orderInfo__orderNo="YB/1?a%b#c"))

    # when
    rest = _rest_pull(api_client, institution, order.order_no)
    channel = _channel_pull(client, institution, order.order_no)

    # then
    assert rest.status_code == 200
    assert (rest.json()["orderNo"], rest.json()["decision"], rest.json()["supplements"]) == (
        order.order_no,
        "pending",
        [],
    )
    assert channel["status"] == 1
    assert (channel["response"]["order_sn"], channel["response"]["approve_status"]) == (order.order_no, "100")


def test_an_approval_reads_the_same_on_both_doors(api_client, client, institution):
    # given
    order = pushed_order(institution)
    _decide(order, decision="approved", approved_amount=200_000, approved_term=6, term_unit="month")

    # when
    rest = _rest_pull(api_client, institution, order.order_no).json()
    channel = _channel_pull(client, institution, order.order_no, encoding="json")["response"]

    # then
    assert (rest["decision"], rest["approvedAmount"], rest["approvedTerm"], rest["termUnit"]) == (
        "approved",
        200_000,
        6,
        "month",
    )
    assert channel == {
        "order_sn": order.order_no,
        "result_type": 1,
        "approve_status": "200",
        "approve_remark": "ok",
        "approve_amount": "200000",
        "approve_term": "6",
        "approve_time": channel["approve_time"],
        "term_type": "2",
        "can_loan_time": "",
        "supplements": [],
    }
    assert len(channel["approve_time"]) == 10


def test_another_institutions_order_is_not_found_on_both_doors(api_client, client, institution):
    # given
    theirs = pushed_order(InstitutionFactory())

    # when
    rest = _rest_pull(api_client, institution, theirs.order_no)
    channel = _channel_pull(client, institution, theirs.order_no)

    # then
    assert rest.status_code == 404
    assert (channel["status"], channel["response"]["errors"][0]["code"]) == (0, "not_found")


@pytest.mark.parametrize(
    "query", ["", "?orderNo=", "?orderNo=%20", "?orderNo=a&orderNo=b", "?orderNo=" + "x" * 65, "?orderNo=a%00b"]
)
def test_a_missing_or_unreadable_order_no_is_400(api_client, institution, query):
    # given / when
    response = api_client.get(f"{PULL_URL}{query}", headers={"Authorization": f"Bearer {institution.api_token}"})

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "orderNo"


def test_the_rest_pull_needs_the_institutions_token(api_client, institution):
    # given / when
    anonymous = api_client.get(f"{PULL_URL}?orderNo=x")
    wrong = api_client.get(f"{PULL_URL}?orderNo=x", headers={"Authorization": "Bearer nope.nope"})

    # then
    assert (anonymous.status_code, wrong.status_code) == (401, 401)


@pytest.mark.parametrize("args", ["not json", "[]", '{"order_sn": ""}', '{"act_type": 1}', '{"order_sn": {"a": 1}}'])
def test_a_channel_pull_with_unreadable_args_is_status_0(client, institution, args):
    # given / when
    body = send(client, envelope(institution, args, call=STATUS_CALL), url=LEGACY_URL).json()

    # then
    assert body["status"] == 0
    assert body["response"]["errors"]


def test_the_pull_is_served_only_by_the_legacy_dispatch_and_only_signed(client, institution):
    # given
    order = pushed_order(institution)
    args = json.dumps({"order_sn": order.order_no, "act_type": 1})

    # when
    named = send(client, envelope(institution, args, call=STATUS_CALL), url=NAMED_URL).json()
    badly_signed = send(client, envelope(institution, args, call=STATUS_CALL, sign="0" * 32), url=LEGACY_URL).json()

    # then
    assert (named["status"], named["response"]["errors"][0]["code"]) == (0, "unknown_call")
    assert (badly_signed["status"], badly_signed["response"]["errors"][0]["code"]) == (0, "authentication_failed")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order_no=st.text(max_size=80), args=st.one_of(st.none(), st.text(max_size=40)))
def test_fuzz_no_pull_is_a_server_error(api_client, client, institution, order_no, args):
    rest = api_client.get(
        f"{PULL_URL}?orderNo={quote(order_no.encode('utf-8', 'surrogatepass'), safe='')}",
        headers={"Authorization": f"Bearer {institution.api_token}"},
    )
    channel = send(
        client,
        envelope(institution, args if args is not None else json.dumps({"order_sn": order_no}), call=STATUS_CALL),
        url=LEGACY_URL,
    )

    assert rest.status_code in (200, 400, 404), rest.content[:200]
    assert channel.status_code == 200
    assert channel.json()["status"] in (0, 1)


# --- The needs-info loop, end to end --------------------------------------------------------------


@pytest.mark.parametrize("door", ["rest", "channel"])
def test_the_needs_info_loop_through_the_review_api_and_the_door(api_client, client, institution, push, door):
    # given: a reviewer's script with a review token, and an order pushed through the door
    reviewer = ReviewerFactory()
    robot = APIClient()
    robot.credentials(
        HTTP_AUTHORIZATION="Bearer " + staff_api_token_create(user=reviewer, name="rules", scopes=["review"]).plaintext
    )
    payload = PushPayloadFactory()
    push_call = "Order.pushUserAdditionalInfo"

    def push_through_door(document):
        if door == "rest":
            response = push(document)
            return response.status_code, response.json()["status"]
        body = send(client, envelope(institution, document, call=push_call), url=LEGACY_URL).json()
        return body["status"], body["response"].get("status")

    assert push_through_door(payload) == ((201, "accepted") if door == "rest" else (1, "accepted"))
    order_id = robot.post("/api/v1/review/next/").json()["id"]
    fields = ["userAdditional.workOfficeInfo.companyName", "userAdditional.contactInfo.mobile"]

    # when: needs_info with two fields
    asked = robot.post(
        f"/api/v1/orders/{order_id}/decision/",
        {"decision": "needs_info", "supplements": fields, "reason": "请补充单位信息"},
        format="json",
    )
    pulled_asked = _channel_pull(client, institution, payload["orderInfo"]["orderNo"])["response"]
    # the institution supplies them again
    revised = copy.deepcopy(payload)
    revised["userAdditional"]["workOfficeInfo"]["companyName"] = "补充后的公司"
    revised["userAdditional"]["contactInfo"]["mobile"] = "13900009999"
    supplied = push_through_door(revised)
    pulled_pending = _rest_pull(api_client, institution, payload["orderInfo"]["orderNo"]).json()
    # the order is back in the queue with the change shown, and is approved
    again = robot.post("/api/v1/review/next/")
    approved = robot.post(
        f"/api/v1/orders/{order_id}/decision/",
        {"decision": "approved", "approved_amount": 100_000, "approved_term": 14, "term_unit": "day"},
        format="json",
    )
    pulled_approved = _rest_pull(api_client, institution, payload["orderInfo"]["orderNo"]).json()

    # then
    assert asked.status_code == 200
    assert asked.json()["review_status"] == "needs_info"
    assert (pulled_asked["approve_status"], pulled_asked["supplements"], pulled_asked["approve_remark"]) == (
        "100",
        fields,
        "请补充单位信息",
    )
    assert supplied == ((201, "revised") if door == "rest" else (1, "revised"))
    assert (pulled_pending["decision"], pulled_pending["supplements"]) == ("pending", [])
    assert again.status_code == 200
    assert again.json()["id"] == order_id
    assert again.json()["employer"]["company_name"] == "补充后的公司"
    client.force_login(reviewer)
    page = client.get(f"/admin/orders/order/{order_id}/change/").content.decode()
    assert page.count('class="revision-change"') == 2
    assert "补充后的公司" in page
    assert approved.status_code == 200
    assert (pulled_approved["decision"], pulled_approved["approvedAmount"], pulled_approved["termUnit"]) == (
        "approved",
        100_000,
        "day",
    )
    assert [decision.decision for decision in services_decisions(order_id)] == ["approved", "needs_info"]


def services_decisions(order_id):
    from orders.models import Decision

    return list(Decision.objects.filter(order_id=order_id))


def test_a_needs_info_order_pulls_as_100_with_its_supplements_on_the_rest_door(api_client, institution):
    # given
    order = pushed_order(institution)
    _decide(order, decision="needs_info", supplements=("userAdditional.addressBook.phoneList",))

    # when
    body = _rest_pull(api_client, institution, order.order_no).json()

    # then
    assert (body["decision"], body["supplements"]) == ("needs_info", ["userAdditional.addressBook.phoneList"])
    assert body["decidedAt"].endswith("+08:00")
