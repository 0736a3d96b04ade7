"""The delivery retry schedule (docs/integration.md): a pure function of the failures so far, the clock and a die.

30 s after the first failure, doubling, at most 1 hour between attempts, each
delay moved by up to ±10% (config.jobs.retry_delay: so that deliveries that
failed together, say when a receiver was down, do not all return at once), for
72 hours after the decision; an attempt that would fall later is not made and
the delivery is failed. Settings shorten the numbers for tests with real workers.
"""

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings

from config.jobs import RetryPolicy, retry_delay


def retry_policy() -> RetryPolicy:
    # `attempts` is not what ends this schedule: the deadline is (`next_attempt_at`).
    return RetryPolicy(
        first=settings.FEEDBACK_RETRY_FIRST_SECONDS, cap=settings.FEEDBACK_RETRY_CAP_SECONDS, attempts=0, jitter=0.1
    )


def retry_window() -> timedelta:
    return timedelta(seconds=settings.FEEDBACK_RETRY_WINDOW_SECONDS)


def next_attempt_at(
    *,
    failures: int,
    now: datetime,
    deadline: datetime,
    policy: RetryPolicy,
    rng: Callable[[], float] = random.random,
) -> datetime | None:
    """When to try again after the `failures`-th failed attempt (counted from 1) ended at `now`; None: give up."""
    when = now + timedelta(seconds=retry_delay(policy, failures, rng=rng))
    return when if when <= deadline else None
