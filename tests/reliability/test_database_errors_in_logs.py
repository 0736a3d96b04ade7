"""A database error quoting pushed data never puts that data in the logs (either door)."""

import json
import logging
from unittest import mock

import pytest
from django.db import DataError
from django.test import Client

from config.logging import JsonFormatter
from tests.conftest import PUSH_URL
from tests.factories import PushPayloadFactory
from tests.intake.test_channel import NAMED_URL, encode, envelope

pytestmark = pytest.mark.django_db

QUOTED = "Zhang San, 1 Example Road"


def failing_write(**kwargs):
    # What PostgreSQL says when it refuses a value: the value itself, in DETAIL/CONTEXT.
    raise DataError(f'invalid input syntax for type json\nDETAIL:  Token "NaN" is invalid.\nCONTEXT:  {QUOTED}')


@pytest.mark.parametrize("door", ["rest", "channel"])
def test_a_database_error_is_logged_without_the_values_it_quotes(institution, caplog, door):
    # given a database that refuses the push and quotes it
    caplog.set_level(logging.DEBUG)
    client = Client(raise_request_exception=False)
    payload = PushPayloadFactory()

    # when
    with mock.patch("intake.services.order_create_from_push", side_effect=failing_write):
        if door == "rest":
            response = client.post(
                PUSH_URL,
                data=json.dumps(payload),
                content_type="application/json",
                headers={"Authorization": f"Bearer {institution.api_token}"},
            )
        else:
            body, content_type = encode(envelope(institution, payload), "json")
            response = client.post(NAMED_URL, data=body, content_type=content_type)

    # then: the failure is logged, with its type and where it happened, but not what it quoted
    lines = [JsonFormatter().format(record) for record in caplog.records]
    failures = [json.loads(line) for line in lines if "exception" in json.loads(line)]
    assert failures, lines
    assert all("DataError" in failure["exception"] for failure in failures)
    assert all("order_create_from_push" in failure["exception"] for failure in failures)
    assert not any(QUOTED in line for line in lines)
    assert QUOTED not in response.content.decode()
