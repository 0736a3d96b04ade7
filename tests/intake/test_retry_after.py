"""Every 503 and every 429, on both doors and outside them, says when to come back (`Retry-After`)."""

import json
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from config.errors import DatabaseUnavailableMiddleware
from tests.factories import PushPayloadFactory
from tests.intake.test_channel import envelope, send

pytestmark = pytest.mark.django_db

OUTAGE = mock.patch("intake.services.order_create_from_push", side_effect=OperationalError("server closed"))


def test_a_rest_push_during_an_outage_is_503_with_retry_after(push, api_client, settings):
    # given
    settings.OUTAGE_RETRY_AFTER_SECONDS = 17
    api_client.raise_request_exception = False
    # when
    with OUTAGE:
        response = push(PushPayloadFactory())
    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert response.json()["errors"][0]["code"] == "database_unavailable"


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_a_channel_push_during_an_outage_is_503_with_retry_after(client, institution, settings, encoding):
    # given
    settings.OUTAGE_RETRY_AFTER_SECONDS = 17
    # when
    with OUTAGE:
        response = send(client, envelope(institution, PushPayloadFactory()), encoding=encoding)
    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert response.json()["response"]["errors"][0]["code"] == "database_unavailable"


def test_an_outage_outside_the_doors_is_503_with_retry_after(settings):
    # given a plain view that hit the outage
    settings.OUTAGE_RETRY_AFTER_SECONDS = 17
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    # when
    response = middleware.process_exception(RequestFactory().get("/admin/"), OperationalError("no connection"))
    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert json.loads(response.content)["errors"][0]["code"] == "database_unavailable"


def test_healthz_without_the_database_is_503_with_retry_after(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("could not connect")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0


def test_rest_push_over_the_rate_limit_is_429_with_retry_after(push, settings):
    settings.PUSH_RATE_LIMIT_PER_MINUTE = 0
    response = push(PushPayloadFactory())
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_channel_push_over_the_rate_limit_carries_retry_after(client, institution, settings):
    settings.PUSH_RATE_LIMIT_PER_MINUTE = 0
    response = send(client, envelope(institution, PushPayloadFactory()))
    assert response.json()["response"]["errors"][0]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_too_many_refused_credentials_carry_retry_after_on_both_doors(push, client, institution, settings):
    # given no refusal is allowed before the limit
    settings.PUSH_REFUSALS_PER_MINUTE = 0
    # when a wrong token and a wrong signature are sent
    rest = push(PushPayloadFactory(), token="wrong.token")
    channel = send(client, envelope(institution, PushPayloadFactory(), key="k" * 48))
    # then both are throttled and say when to retry
    assert rest.status_code == 429
    assert 1 <= int(rest["Retry-After"]) <= 60
    assert channel.json()["response"]["errors"][0]["code"] == "throttled"
    assert 1 <= int(channel["Retry-After"]) <= 60
