"""Abuse controls: per-institution push rate limits and per-address limits on refused credentials
(both doors); the admin login lockout lives in `config.lockout`.

Both limits are fixed one-minute windows, counted where every worker process
of every server sees the same number: in the cache named by
`PUSH_RATE_LIMIT_CACHE` when a cache server is configured (`CACHE_URL`, Redis,
whose INCR is atomic), otherwise in the database's `PushRateWindow` table by one
atomic upsert.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connection
from django.utils.translation import gettext as _
from rest_framework.throttling import BaseThrottle

from intake.models import PushRateWindow
from orders.models import Institution

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitDecision:
    """Whether one more push is allowed now; `retry_after` is whole seconds to the next window."""

    allowed: bool
    limit: int
    count: int
    retry_after: int

    @property
    def reason(self) -> str:
        return _(
            "Rate limit exceeded: at most %(limit)s pushes per minute for this institution; "
            "retry after %(seconds)s seconds."
        ) % {"limit": self.limit, "seconds": self.retry_after}


def rate_limit_for(institution: Institution) -> int:
    """The institution's own limit (set in the admin) or the platform default."""
    if institution.rate_limit_per_minute is not None:
        return institution.rate_limit_per_minute
    return settings.PUSH_RATE_LIMIT_PER_MINUTE


def _now() -> float:
    return time.time()


def rate_limit_consume(*, institution: Institution, clock: Callable[[], float] | None = None) -> RateLimitDecision:
    """Count one push for `institution` in the current window and say whether it is allowed.

    Refused pushes count too, so a client hammering the door stays refused
    until the window turns. A broken cache never stops intake: the push is
    allowed and the failure logged (a database outage is answered further on).
    """
    decision = _consume(f"institution:{institution.pk}", rate_limit_for(institution), clock)
    if not decision.allowed:
        logger.warning(
            "Push rate limit exceeded",
            extra={"institution": institution.code, "limit": decision.limit, "count": decision.count},
        )
    return decision


@dataclass(frozen=True)
class RefusalDecision(RateLimitDecision):
    """One more refusal before authentication from a client address; `count` is its number this minute."""

    window_start: float = 0

    @property
    def first_of_window(self) -> bool:
        return self.count == 1

    @property
    def reason(self) -> str:
        return _(
            "Too many refused credentials from this address: at most %(limit)s a minute; "
            "retry after %(seconds)s seconds."
        ) % {"limit": self.limit, "seconds": self.retry_after}


def refusal_consume(*, client_addr: str | None, clock: Callable[[], float] | None = None) -> RefusalDecision:
    """Count one refusal before authentication (bad token, bad signature, unknown ua, unreadable
    envelope) for `client_addr`; past `PUSH_REFUSALS_PER_MINUTE` they are answered 429."""
    now = (clock or _now)()
    decision = _consume(f"refusals:{client_addr or '-'}", settings.PUSH_REFUSALS_PER_MINUTE, lambda: now)
    return RefusalDecision(
        decision.allowed,
        decision.limit,
        decision.count,
        decision.retry_after,
        window_start=now // WINDOW_SECONDS * WINDOW_SECONDS,
    )


def _consume(subject: str, limit: int, clock: Callable[[], float] | None) -> RateLimitDecision:
    now = (clock or _now)()
    window = int(now // WINDOW_SECONDS)
    retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    try:
        if settings.PUSH_RATE_LIMIT_CACHE:
            count = _increment(caches[settings.PUSH_RATE_LIMIT_CACHE], f"push-rate:{subject}:{window}")
        else:
            count = _increment_in_database(subject, window)
    except DatabaseError:
        raise  # the database is down: the push is answered 503 further on, not let through
    except Exception:  # any cache backend's own errors: fail open, loudly
        logger.exception("Rate-limit cache unavailable; push allowed without counting")
        return RateLimitDecision(True, limit, 0, retry_after)
    return RateLimitDecision(count <= limit, limit, count, retry_after)


def _increment(cache, key: str) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet in this window
        # Two windows of lifetime: the key outlives its minute even with clock skew between servers.
        if cache.add(key, 1, timeout=2 * WINDOW_SECONDS):
            return 1
        return cache.incr(key)  # another process created it first


def _increment_in_database(subject: str, minute: int) -> int:
    """Count one in the subject's row for this minute; one statement, atomic.

    Django has no upsert that returns the updated value, hence the SQL (valid on
    PostgreSQL and SQLite 3.35+). A subject's first count of a minute also drops
    every row older than the previous minute, so the table holds about one row
    per subject active in the last two minutes.
    """
    table = connection.ops.quote_name(PushRateWindow._meta.db_table)
    count = connection.ops.quote_name("count")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subject, minute, {count}) VALUES (%s, %s, 1) "
            f"ON CONFLICT (subject, minute) DO UPDATE SET {count} = {table}.{count} + 1 "
            f"RETURNING {count}",
            [subject[:64], minute],
        )
        (value,) = cursor.fetchone()
    if value == 1:
        PushRateWindow.objects.filter(minute__lt=minute - 1).delete()
    return value


class InstitutionRateThrottle(BaseThrottle):
    """DRF throttle for the REST door; runs after authentication, so `request.user` is the institution.

    A refusal is DRF's `Throttled`, which the standard error handler answers as
    429 JSON with `Retry-After`.
    """

    def allow_request(self, request, view) -> bool:
        institution = request.user
        if not isinstance(institution, Institution):
            return True
        decision = rate_limit_consume(institution=institution)
        self._retry_after = decision.retry_after
        return decision.allowed

    def wait(self) -> int:
        return self._retry_after
