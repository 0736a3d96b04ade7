"""Every answer `/api/schema/` shows as an example is the one the service really gives, on both doors."""

import json
import re
import time
from unittest import mock

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from config import crypto
from intake.openapi import DEMO_ORDER_NO, WORKED_ENVELOPE
from tests.conftest import PUSH_URL
from tests.factories import InstitutionFactory, sample
from tests.intake.test_channel import LEGACY_URL, NAMED_URL, envelope, send
from tests.intake.test_signing import DOC_KEY

pytestmark = pytest.mark.django_db

CALL = "Order.pushUserAdditionalInfo"


def documented_examples(client) -> dict[tuple[str, int, str], dict]:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    found = {}
    for path in (PUSH_URL, NAMED_URL, LEGACY_URL):
        for status, response in schema["paths"][path]["post"]["responses"].items():
            examples = response.get("content", {}).get("application/json", {}).get("examples", {})
            for name, example in examples.items():
                found[(path, int(status), name)] = example["value"]
    return found


def demo_payload() -> dict:
    payload = sample()
    payload["orderInfo"]["orderNo"] = DEMO_ORDER_NO
    return payload


class World:
    """One institution and clients for both doors; each recipe makes one real request."""

    def __init__(self):
        self.institution = InstitutionFactory()
        self.client = APIClient()
        self.client.raise_request_exception = False

    def rest(self, payload=None, *, body=None, token=None, content_type="application/json", method="post", **extra):
        body = body if body is not None else json.dumps(payload if payload is not None else demo_payload())
        headers = {} if token == "" else {"Authorization": token or f"Bearer {self.institution.api_token}"}
        call = getattr(self.client, method)
        if method == "get":
            return call(PUSH_URL, headers=headers)
        return call(PUSH_URL, data=body, content_type=content_type, headers=headers, **extra)

    def channel(self, url=NAMED_URL, payload=None, **kwargs):
        kwargs.setdefault("call", CALL if url == LEGACY_URL else None)
        fields = envelope(self.institution, payload or demo_payload(), **kwargs)
        return send(self.client, fields, url=url)

    def twice(self, first, second):
        first()
        return second()


def _worked_example(world):
    institution = InstitutionFactory(code="demolender")
    institution.channel_key_encrypted = crypto.encrypt(DOC_KEY)
    institution.save()
    return send(world.client, WORKED_ENVELOPE | {"timeStamp": int(time.time())})


def _disabled(world):
    world.institution.is_active = False
    world.institution.save()
    return world.rest()


def _throttled(world, settings, request):
    settings.PUSH_RATE_LIMIT_PER_MINUTE = 0
    return request()


def _outage(request):
    with mock.patch("intake.services.order_create_from_push", side_effect=OperationalError("server closed")):
        return request()


def _conflict_payload():
    payload = demo_payload()
    payload["orderInfo"]["loan_amount"] = "123"
    return payload


def recipes(world, settings) -> dict:
    rest = world.rest
    channel_recipes = {}
    for url in (NAMED_URL, LEGACY_URL):

        def push(url=url, **kwargs):
            return world.channel(url, **kwargs)

        channel_recipes |= {
            (url, 200, "Accepted"): push,
            (url, 200, "Duplicate"): lambda push=push: world.twice(push, push),
            (url, 200, "SignatureFailed"): lambda push=push: push(key="k" * 48),
            (url, 200, "StaleTimestamp"): lambda push=push: push(timeStamp=1),
            (url, 405, "MethodNotAllowed"): lambda url=url: world.client.get(url),
            (url, 503, "DatabaseUnavailable"): lambda push=push: _outage(push),
        }
    return channel_recipes | {
        (NAMED_URL, 200, "WorkedExample"): lambda: _worked_example(world),
        (LEGACY_URL, 200, "UnknownCall"): lambda: world.channel(LEGACY_URL, call="Order.noSuchCall"),
        (PUSH_URL, 201, "Accepted"): rest,
        (PUSH_URL, 200, "Duplicate"): lambda: world.twice(rest, rest),
        (PUSH_URL, 400, "MissingSection"): lambda: rest(body=WORKED_ENVELOPE["args"]),
        (PUSH_URL, 400, "MalformedJson"): lambda: rest(body="not json"),
        (PUSH_URL, 401, "NotAuthenticated"): lambda: rest(token=""),
        (PUSH_URL, 401, "AuthenticationFailed"): lambda: rest(token="Bearer wrong.token"),
        (PUSH_URL, 401, "WrongScheme"): lambda: rest(token="Token abc"),
        (PUSH_URL, 403, "InstitutionDisabled"): lambda: _disabled(world),
        (PUSH_URL, 405, "MethodNotAllowed"): lambda: rest(method="get"),
        (PUSH_URL, 409, "OrderConflict"): lambda: world.twice(rest, lambda: rest(_conflict_payload())),
        (PUSH_URL, 411, "LengthRequired"): lambda: rest(HTTP_TRANSFER_ENCODING="chunked"),
        (PUSH_URL, 413, "PayloadTooLarge"): lambda: rest(body=" " * (settings.PUSH_MAX_BODY_BYTES + 1)),
        (PUSH_URL, 415, "UnsupportedMediaType"): lambda: rest(content_type="text/plain"),
        (PUSH_URL, 429, "Throttled"): lambda: _throttled(world, settings, rest),
        (PUSH_URL, 503, "DatabaseUnavailable"): lambda: _outage(rest),
    }


def essence(body: dict, *, mask_digits: bool) -> object:
    """What an answer says, without what changes between calls (receivedAt; seconds of a throttle)."""
    if "errors" in body:
        said = {"type": body["type"], "errors": body["errors"]}
    elif "message" in body:
        response = {key: value for key, value in body["response"].items() if key != "receivedAt"}
        said = {"status": body["status"], "message": body["message"], "response": response}
    else:
        said = {"orderNo": body["orderNo"], "status": body["status"]}
    text = json.dumps(said, ensure_ascii=False, sort_keys=True)
    return re.sub(r"\d+", "N", text) if mask_digits else text


def test_every_documented_example_has_a_request_here(client, settings):
    assert set(documented_examples(client)) == set(recipes(World(), settings))


def test_every_documented_example_is_the_real_answer(client, settings):
    # given the examples the schema documents
    examples = documented_examples(client)
    assert len(examples) >= 25
    mismatches = []
    for key, documented in sorted(examples.items()):
        # when the request each stands for is sent, afresh
        world = World()
        response = recipes(world, settings)[key]()
        settings.PUSH_RATE_LIMIT_PER_MINUTE = 600
        # then the status and what the answer says are the documented ones
        mask = key[1] == 429
        if response.status_code != key[1] or essence(response.json(), mask_digits=mask) != essence(
            documented, mask_digits=mask
        ):
            mismatches.append((key, response.status_code, response.json(), documented))
    assert mismatches == []
