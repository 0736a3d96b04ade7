"""Refused credentials on both doors: limited per client address, logged once per address and minute."""

import time

import pytest

from orders.choices import Door
from orders.models import PushLog, PushOutcome
from tests.conftest import PUSH_URL
from tests.factories import PushPayloadFactory
from tests.intake.test_channel import NAMED_URL, encode, envelope

pytestmark = pytest.mark.django_db


@pytest.fixture
def minute(monkeypatch, settings):
    """The rate-limit clock held inside the current minute, so a test's requests share one window."""
    settings.PUSH_REFUSALS_PER_MINUTE = 30
    started = time.time() // 60 * 60
    clock = {"value": started + 1}
    monkeypatch.setattr("intake.throttling._now", lambda: clock["value"])
    return clock


def bad_token(client, address="203.0.113.7", **headers):
    return client.post(
        PUSH_URL,
        data=b"{}",
        content_type="application/json",
        headers={"Authorization": "Bearer abcdef.wrong-secret", **headers},
        REMOTE_ADDR=address,
    )


def bad_signature(client, institution, address="203.0.113.7", encoding="json"):
    body, content_type = encode(envelope(institution, PushPayloadFactory(), sign="0" * 32), encoding)
    return client.post(NAMED_URL, data=body, content_type=content_type, REMOTE_ADDR=address)


def test_400_anonymous_bad_tokens_add_one_log_row_and_are_limited(client, minute):
    # when one address sends 400 requests with a made-up token
    answers = [bad_token(client) for _ in range(400)]

    # then: the first 30 are told their credentials failed, the rest to slow down
    assert [answer.status_code for answer in answers] == [401] * 30 + [429] * 370
    throttled = answers[-1]
    assert throttled["Content-Type"] == "application/json"
    assert throttled.json()["errors"][0]["code"] == "throttled"
    assert "refused credentials" in throttled.json()["errors"][0]["detail"]
    assert throttled["Retry-After"] == "59"
    # then: one push-log row stands for all of them
    log = PushLog.objects.get()
    assert (log.door, log.outcome, log.institution, log.body) == (Door.REST, PushOutcome.UNAUTHORIZED, None, None)
    assert (log.remote_addr, log.refusal_count) == ("203.0.113.7", 400)


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_bad_signatures_are_limited_with_status_0_and_retry_after(client, institution, minute, encoding):
    # when
    answers = [bad_signature(client, institution, encoding=encoding) for _ in range(40)]

    # then: HTTP 200 throughout, as the protocol answers; status 0, then throttled with Retry-After
    assert {answer.status_code for answer in answers} == {200}
    assert {answer.json()["status"] for answer in answers} == {0}
    codes = [answer.json()["response"]["errors"][0]["code"] for answer in answers]
    assert codes == ["authentication_failed"] * 30 + ["throttled"] * 10
    assert answers[-1]["Retry-After"] == "59"
    assert "Retry-After" not in answers[0]
    log = PushLog.objects.get()
    assert (log.door, log.http_status, log.refusal_count) == (Door.CHANNEL, 200, 40)


def test_unknown_ua_and_unreadable_envelopes_count_as_refusals_too(client, institution, minute):
    # given an unknown ua, and envelopes no one could authenticate
    body, content_type = encode(envelope(institution, PushPayloadFactory(), ua="nosuchlender"), "json")

    # when
    for _ in range(10):
        client.post(NAMED_URL, data=body, content_type=content_type, REMOTE_ADDR="198.51.100.1")
        client.post(NAMED_URL, data=b"{ua:", content_type="application/json", REMOTE_ADDR="198.51.100.1")

    # then
    assert PushLog.objects.get().refusal_count == 20


def test_both_doors_share_one_row_per_address_and_minute(client, institution, minute):
    for _ in range(100):
        bad_token(client)
        bad_signature(client, institution)

    assert PushLog.objects.count() == 1
    assert PushLog.objects.get().refusal_count == 200


def test_addresses_and_minutes_are_counted_apart(client, minute):
    # when: two addresses in one minute, then the first one again a minute later
    for _ in range(31):
        bad_token(client, "203.0.113.7")
    other = bad_token(client, "2001:db8::1")
    minute["value"] += 60
    next_minute = bad_token(client, "203.0.113.7")

    # then
    assert (other.status_code, next_minute.status_code) == (401, 401)
    rows = sorted(PushLog.objects.values_list("remote_addr", "refusal_count"))
    assert rows == [("2001:db8::1", 1), ("203.0.113.7", 1), ("203.0.113.7", 31)]


def test_an_institution_behind_a_throttled_address_still_pushes(client, institution, push, minute):
    # given the address is over its limit of refused credentials
    for _ in range(31):
        bad_token(client, "127.0.0.1")
    assert bad_token(client, "127.0.0.1").status_code == 429

    # when the institution pushes from the same address with its own token
    response = push(PushPayloadFactory())

    # then: only refusals are limited
    assert response.status_code == 201


def test_refusals_are_counted_in_the_configured_cache(client, minute, settings):
    # given a cache server (memory here) holding the counters
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rf"}}
    settings.PUSH_RATE_LIMIT_CACHE = "default"
    settings.PUSH_REFUSALS_PER_MINUTE = 2

    answers = [bad_token(client, "192.0.2.55").status_code for _ in range(4)]

    assert answers == [401, 401, 429, 429]
    assert PushLog.objects.get().refusal_count == 4


@pytest.mark.parametrize(
    "authorization",
    [None, "Token abc.def", "abc.def", "Basic dXNlcjpwYXNz"],
)
def test_a_missing_or_wrong_scheme_is_a_refusal_that_names_bearer(client, minute, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.post(PUSH_URL, data=b"{}", content_type="application/json", headers=headers)

    assert response.status_code == 401
    detail = response.json()["errors"][0]["detail"]
    assert "Authorization: Bearer <id>.<secret>" in detail
    assert PushLog.objects.get().outcome == PushOutcome.UNAUTHORIZED


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(client, minute, settings):
    # given: the platform behind one TLS proxy that forwards the caller's address
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    proxy = "10.0.0.2"

    # when one caller exhausts its refusals through the proxy
    flood = [bad_token(client, proxy, X_Forwarded_For="198.51.100.9, 10.0.0.2") for _ in range(31)]
    # then it is limited, and another caller behind the same proxy is not
    other = bad_token(client, proxy, X_Forwarded_For="198.51.100.10, 10.0.0.2")
    assert [answer.status_code for answer in flood] == [401] * 30 + [429]
    assert other.status_code == 401
    assert set(PushLog.objects.values_list("remote_addr", flat=True)) == {"198.51.100.9", "198.51.100.10"}


def test_without_a_trusted_proxy_a_forged_forwarded_for_is_ignored(client, minute):
    # when a caller sends its own X-Forwarded-For to dodge the limit
    answers = [bad_token(client, X_Forwarded_For=f"198.51.100.{n}") for n in range(31)]

    # then the limit still counts its real address
    assert answers[-1].status_code == 429
    assert set(PushLog.objects.values_list("remote_addr", flat=True)) == {"203.0.113.7"}
