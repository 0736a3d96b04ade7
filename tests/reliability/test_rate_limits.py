"""Per-institution rate limits on both doors: 429 JSON with Retry-After on REST, status 0 on the channel."""

import json
import logging
import time

import pytest
from django.db import connection

from intake import signing
from intake.models import PushRateWindow
from intake.throttling import rate_limit_consume
from tests.factories import InstitutionFactory, PushPayloadFactory
from tests.reliability.live import create_institution, dedicated_database, gunicorn, postgres_only

NOW = 1_800_000_010.0  # ten seconds into a window


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, held still so a test never straddles a minute."""
    now = {"value": NOW}
    monkeypatch.setattr("intake.throttling._now", lambda: now["value"])
    return now


@pytest.mark.django_db
def test_the_institutions_own_limit_answers_429_json_with_retry_after(push, institution, clock):
    # given
    institution.rate_limit_per_minute = 2
    institution.save()

    # when
    statuses = [push(PushPayloadFactory()).status_code for _ in range(2)]
    refused = push(PushPayloadFactory())

    # then
    assert statuses == [201, 201]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"
    body = refused.json()
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "throttled"


@pytest.mark.django_db
def test_the_platform_default_applies_when_the_institution_sets_none(push, settings, clock):
    # given
    settings.PUSH_RATE_LIMIT_PER_MINUTE = 1

    # when
    first, second = push(PushPayloadFactory()), push(PushPayloadFactory())

    # then
    assert (first.status_code, second.status_code) == (201, 429)


@pytest.mark.django_db
def test_institutions_are_counted_apart_and_windows_reset(clock):
    # given
    busy, quiet = InstitutionFactory(rate_limit_per_minute=1), InstitutionFactory(rate_limit_per_minute=1)

    # when
    busy_first, busy_second = rate_limit_consume(institution=busy), rate_limit_consume(institution=busy)
    quiet_first = rate_limit_consume(institution=quiet)
    clock["value"] = NOW + 50  # the next minute
    busy_next_window = rate_limit_consume(institution=busy)

    # then
    assert (busy_first.allowed, busy_second.allowed, quiet_first.allowed) == (True, False, True)
    assert busy_second.retry_after == 50
    assert busy_next_window.allowed


@pytest.mark.django_db
def test_a_limit_of_zero_refuses_everything(clock):
    assert not rate_limit_consume(institution=InstitutionFactory(rate_limit_per_minute=0)).allowed


@pytest.mark.django_db
def test_a_broken_cache_lets_pushes_through_and_says_so(monkeypatch, caplog, clock, settings):
    # given a cache server configured for the counters, and down
    settings.PUSH_RATE_LIMIT_CACHE = "default"

    class BrokenCache:
        def incr(self, *args, **kwargs):
            raise ConnectionError("cache down")

    monkeypatch.setattr("intake.throttling.caches", {"default": BrokenCache()})
    institution = InstitutionFactory(rate_limit_per_minute=0)

    # when
    with caplog.at_level(logging.ERROR, logger="intake.throttling"):
        decision = rate_limit_consume(institution=institution)

    # then
    assert decision.allowed
    assert "Rate-limit cache unavailable" in caplog.text


@pytest.mark.django_db
def test_without_a_cache_server_one_atomic_statement_counts_a_push(clock, settings, django_assert_num_queries):
    # given no CACHE_URL: counters live in the database's own table
    assert settings.PUSH_RATE_LIMIT_CACHE is None
    institution = InstitutionFactory(rate_limit_per_minute=5)
    rate_limit_consume(institution=institution)

    # when a second push of the same minute is counted
    with django_assert_num_queries(1):
        decision = rate_limit_consume(institution=institution)

    # then
    assert (decision.allowed, decision.count) == (True, 2)


@pytest.mark.django_db
def test_a_new_minute_drops_the_old_counters(clock):
    from intake.models import PushRateWindow

    institution = InstitutionFactory()
    for offset in (0, 60, 120):
        clock["value"] = NOW + offset
        rate_limit_consume(institution=institution)

    assert sorted(PushRateWindow.objects.values_list("count", flat=True)) == [1, 1]


@pytest.mark.django_db
def test_a_configured_cache_counts_the_pushes(clock, settings):
    # given a cache server (memory here) configured for the counters
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"}}
    settings.PUSH_RATE_LIMIT_CACHE = "default"
    institution = InstitutionFactory(rate_limit_per_minute=2)

    decisions = [rate_limit_consume(institution=institution).allowed for _ in range(3)]

    assert decisions == [True, True, False]


@pytest.mark.django_db
def test_the_channel_door_refuses_with_status_0_and_a_reason(api_client, clock):
    # given
    institution = InstitutionFactory(rate_limit_per_minute=1)
    key = institution.channel_key_plain

    def send():
        args = json.dumps(PushPayloadFactory(), ensure_ascii=False)
        sign = signing.channel_sign(ua=institution.code, key=key, args=args)
        return api_client.post(
            "/channel/pushUserAdditionalInfo",
            data={"ua": institution.code, "args": args, "sign": sign},
            format="json",
        )

    # when
    first, second = send(), send()

    # then
    assert (first.json()["status"], second.status_code, second.json()["status"]) == (1, 200, 0)
    assert "Rate limit exceeded" in second.json()["message"]
    assert second.json()["response"]["errors"][0]["code"] == "throttled"
    assert second["Retry-After"] == "50"


@postgres_only[0]
@postgres_only[1]
def test_the_limit_is_shared_by_every_worker_process(tmp_path):
    # given: two gunicorn workers sharing the database cache, three pushes a minute
    with dedicated_database("ratelimit") as (_, url):
        token = create_institution(url, "limited")["api_token"]
        with gunicorn(url, tmp_path, workers=2, threads=2, PUSH_RATE_LIMIT_PER_MINUTE="3") as server:
            if time.time() % 60 > 50:  # keep the six pushes inside one window
                time.sleep(61 - time.time() % 60)

            # when: sequential pushes, which the two workers share between them
            answers = [server.push(PushPayloadFactory(), token) for _ in range(6)]
            workers = {line for line in server.log_path.read_text().splitlines() if "Booting worker" in line}

    # then
    assert [status for status, _, _ in answers] == [201, 201, 201, 429, 429, 429]
    assert all(1 <= int(headers["Retry-After"]) <= 60 for status, headers, _ in answers if status == 429)
    assert len(workers) == 2


@postgres_only[0]
@postgres_only[1]
@pytest.mark.django_db
def test_the_counters_skip_the_write_ahead_log_on_postgresql():
    # A counter is not worth a wait for the disk on every push (intake migration 0004).
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [PushRateWindow._meta.db_table])
        assert cursor.fetchone() == ("u",)
