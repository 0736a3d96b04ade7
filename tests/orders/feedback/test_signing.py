"""The platform's signatures verify with implementations written here from the integration guide's words."""

import hashlib
import hmac
import json
import re
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from orders.feedback import services, signing
from orders.models import FeedbackMode
from tests.orders.feedback.conftest import decided, feedback_institution, record

INTEGRATION_DOC = Path(__file__).resolve().parents[3] / "docs" / "integration.md"

# The worked examples of docs/integration.md §10, printed there verbatim.
CHANNEL_EXAMPLE = {
    "ua": "demo",
    "key": "6b1f0c2d9e8a7b3c4d5e6f708192a3b4c5d6e7f8091a2b3c",
    "args": '{"order_sn":"YB202611300001","approve_status":"200","approve_remark":"ok","approve_amount":"500000",'
    '"approve_term":"12","term_type":"2","approve_time":"1764493200","can_loan_time":"","supplements":[],'
    '"updated_at":1764493200000}',
}
WEBHOOK_EXAMPLE = {
    "secret": "whsec_demo_secret",
    "t": 1764493260,
    "body": '{"id":"3f2b8c1e-5d4a-4e6f-9b7c-2a1d0e9f8c7b","type":"order.decision",'
    '"created":"2026-11-30T17:00:00+08:00","data":{"orderNo":"YB202611300001","decision":"rejected","approvedAmount":null,"approvedTerm":null,'
    '"termUnit":null,"reasonCode":"insufficient_credit","reason":"信用不足","canReapplyAt":"2026-12-30",'
    '"supplements":[],"decidedAt":"2026-11-30T17:00:00+08:00"}}',
}


def md5_sign_as_documented(*, ua: str, key: str, call: str, args: str) -> str:
    """`sign = md5(signKey + call + signKey + args + signKey)`, `signKey = ua + key + ua`, lowercase hex of UTF-8."""
    sign_key = ua + key + ua
    return hashlib.md5((sign_key + call + sign_key + args + sign_key).encode("utf-8")).hexdigest()


def webhook_header_verifies(*, header: str, raw_body: bytes, secret: str) -> bool:
    """`X-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the secret>`."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode("utf-8"), fields["t"].encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


pytestmark = pytest.mark.django_db


def test_a_channel_delivery_verifies_with_an_independent_md5(receiver, enqueued):
    # given
    institution = feedback_institution(FeedbackMode.CHANNEL, receiver.url)
    delivery = record(decided(institution))

    # when
    services.delivery_attempt(delivery_id=delivery.pk)

    # then
    received = receiver.received[0]
    assert received.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = {name: values[0] for name, values in parse_qs(received.body.decode("ascii"), keep_blank_values=True).items()}
    assert set(form) == {"ua", "call", "args", "sign", "timeStamp"}
    assert form["ua"] == institution.code
    assert form["call"] == "Partner.Order.approveFeedback"
    assert form["sign"] == md5_sign_as_documented(
        ua=institution.code, key=institution.channel_key_plain, call=form["call"], args=form["args"]
    )
    assert json.loads(form["args"]) == delivery.payload["args"]
    assert form["timeStamp"].isdigit()
    assert len(form["timeStamp"]) == 10


def test_a_webhook_delivery_verifies_with_an_independent_hmac(receiver, enqueued):
    # given
    institution = feedback_institution(FeedbackMode.WEBHOOK, receiver.url)
    delivery = record(decided(institution))

    # when
    services.delivery_attempt(delivery_id=delivery.pk)

    # then
    received = receiver.received[0]
    header = received.headers["X-Signature"]
    assert re.fullmatch(r"t=\d{10},v1=[0-9a-f]{64}", header)
    assert webhook_header_verifies(header=header, raw_body=received.body, secret=institution.webhook_secret_plain)
    assert not webhook_header_verifies(
        header=header, raw_body=received.body + b" ", secret=institution.webhook_secret_plain
    )
    assert not webhook_header_verifies(header=header, raw_body=received.body, secret="another secret")
    event = json.loads(received.body)
    assert event == {
        "id": str(delivery.event_id),
        "type": "order.decision",
        "created": event["created"],
        "data": delivery.payload["data"],
    }


def test_retries_carry_the_same_event_id_and_updated_at(receiver, enqueued):
    # given: the first attempt fails
    receiver.answer("error_500")
    institution = feedback_institution(FeedbackMode.WEBHOOK, receiver.url)
    delivery = record(decided(institution))
    services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()

    # when
    services.delivery_attempt(delivery_id=delivery.pk, clock=lambda: delivery.next_attempt_at)

    # then
    first, second = (json.loads(item.body) for item in receiver.received)
    assert first == second


def test_the_channel_worked_example_of_the_guide():
    # given
    example = CHANNEL_EXAMPLE
    expected = md5_sign_as_documented(call="Partner.Order.approveFeedback", **example)

    # when
    body = signing.channel_body(ua=example["ua"], key=example["key"], args=json.loads(example["args"]), timestamp=1)

    # then: the platform sends exactly the example's args and sign, and the guide prints them
    form = {name: values[0] for name, values in parse_qs(body.decode("ascii")).items()}
    assert (form["args"], form["sign"]) == (example["args"], expected)
    guide = INTEGRATION_DOC.read_text("utf-8")
    assert f"sign    = {expected}" in guide
    assert f"args    = {example['args']}" in guide


def test_the_webhook_worked_example_of_the_guide():
    # given
    example = WEBHOOK_EXAMPLE
    body = example["body"].encode("utf-8")

    # when
    header = signing.webhook_signature(secret=example["secret"], timestamp=example["t"], body=body)

    # then
    assert webhook_header_verifies(header=header, raw_body=body, secret=example["secret"])
    data = json.loads(example["body"])
    assert signing.webhook_body(event_id=data["id"], created=data["created"], data=data["data"]) == body
    guide = INTEGRATION_DOC.read_text("utf-8")
    assert f"X-Signature: {header}" in guide
    assert f"body   = {example['body']}" in guide
