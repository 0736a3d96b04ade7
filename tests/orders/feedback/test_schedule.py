"""The retry schedule as a pure function: an injected clock and die, no database, no waiting."""

from datetime import UTC, datetime, timedelta

import pytest

from config.jobs import RetryPolicy
from orders.feedback.schedule import next_attempt_at, retry_policy, retry_window

DECIDED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CONTRACT = RetryPolicy(first=30, cap=3600, attempts=0, jitter=0.1)
DEADLINE = DECIDED + timedelta(hours=72)


def _delays(rng_value: float) -> list[float]:
    """Every wait of a delivery that always fails, from the decision to the end of the schedule."""
    now, waits, failures = DECIDED, [], 0
    while True:
        failures += 1
        when = next_attempt_at(failures=failures, now=now, deadline=DEADLINE, policy=CONTRACT, rng=lambda: rng_value)
        if when is None:
            return waits
        waits.append((when - now).total_seconds())
        now = when


def test_the_schedule_starts_at_30_seconds_doubles_and_is_capped_at_an_hour():
    # given a die that always lands in the middle (no jitter)
    # when
    waits = _delays(0.5)

    # then
    assert waits[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert set(waits[7:]) == {3600}


@pytest.mark.parametrize(("rng_value", "factor"), [(0.0, 0.9), (0.999999, 1.1)])
def test_the_jitter_moves_each_wait_by_at_most_ten_percent(rng_value, factor):
    # when
    waits = _delays(rng_value)

    # then
    assert waits[0] == pytest.approx(30 * factor, rel=1e-4)
    assert max(waits) == pytest.approx(3600 * factor, rel=1e-4)


@pytest.mark.parametrize("rng_value", [0.0, 0.5, 0.999999])
def test_attempts_stop_72_hours_after_the_decision(rng_value):
    # when
    waits = _delays(rng_value)

    # then: the last attempt is within the 72 hours, and less than one (jittered) hour before their end
    spent = timedelta(seconds=sum(waits))
    assert timedelta(hours=72) - timedelta(seconds=3600 * 1.1) < spent <= timedelta(hours=72)
    assert 70 < len(waits) < 90


def test_no_attempt_is_scheduled_past_the_deadline():
    # given: 20 seconds before the deadline, after the first failure (a 30 s wait)
    now = DEADLINE - timedelta(seconds=20)

    # when
    when = next_attempt_at(failures=1, now=now, deadline=DEADLINE, policy=CONTRACT, rng=lambda: 0.5)

    # then
    assert when is None


def test_settings_shorten_the_schedule(settings):
    # given
    settings.FEEDBACK_RETRY_FIRST_SECONDS = 1
    settings.FEEDBACK_RETRY_CAP_SECONDS = 4
    settings.FEEDBACK_RETRY_WINDOW_SECONDS = 60

    # when
    policy = retry_policy()

    # then
    assert (policy.first, policy.cap, policy.jitter) == (1, 4, 0.1)
    assert retry_window() == timedelta(seconds=60)


def test_the_default_schedule_is_the_contracts():
    assert retry_policy() == CONTRACT
    assert retry_window() == timedelta(hours=72)
