"""The glue between the apps and the job engine (django-q2 on its ORM broker): enqueue, retry, schedule.

Why django-q2 with its ORM broker: a job is a row of the project's own database
(`django_q.OrmQ`), so `enqueue` inside the transaction of the state change that
needs the job commits or rolls back with it, on SQLite (`make run`) as on
PostgreSQL; its workers are separate processes (`manage.py qcluster`, the
Procfile's `worker:` lines); it runs periodic jobs from `django_q.Schedule`
rows and shows queued, finished and failed jobs in the admin, with "resubmit".
What it lacks is a per-job-type exponential backoff: `retry_delay` (a pure
function) and `retry_later` give it, and nothing else here is an engine.

Queues are the engine's clusters (`Q_CLUSTER` and its `ALT_CLUSTERS` in
settings): a worker started with `Q_CLUSTER_NAME=<queue>` serves one queue, so
kinds of work that must not wait for each other (signals within seconds,
deliveries that may wait on a slow receiver) never share workers.

Jobs re-read what they work on and are idempotent: the ORM broker hands a job
whose worker died (SIGKILL, power loss) to another worker once its lease
(`Q_CLUSTER["retry"]` seconds) has passed, so any job may run twice.

Tests set `JOBS_INLINE`: a job then runs at once in the caller's process, in a
savepoint, its failure logged, which is what a worker would do, minus the wait.
The real workers have tests of their own (tests/reliability/test_workers*.py).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How a kind of job is retried: `first` seconds, doubling, at most `cap`, ±`jitter`, `attempts` in all."""

    first: float
    cap: float
    attempts: int
    jitter: float = 0.1


def retry_delay(policy: RetryPolicy, attempt: int, *, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first) before the next one.

    `first * 2**(attempt-1)`, capped at `cap`, then moved by up to ±`jitter` of
    itself (`rng` returns a float in [0, 1); tests pass a fixed one) so that jobs
    that failed together do not all come back at the same second.
    """
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    # 2**64 already exceeds any cap; the exponent is bounded so that a large attempt number cannot overflow.
    base = min(policy.cap, policy.first * 2 ** min(attempt - 1, 64))
    return base * (1 + policy.jitter * (2 * rng() - 1))


def enqueue(func: str, *args, queue: str, name: str | None = None, **kwargs) -> None:
    """Record a job `func(*args, **kwargs)` on `queue`, in the caller's transaction if there is one.

    `func` is a dotted path (what the engine stores); arguments must be plain
    values (ids, not model instances): the job re-reads what it works on.
    """
    if getattr(settings, "JOBS_INLINE", False):
        _run_inline(func, args, kwargs)
        return
    from django_q.tasks import async_task

    async_task(func, *args, cluster=_known_queue(queue), task_name=name or func.rsplit(".", 1)[-1], **kwargs)


def enqueue_at(when: datetime, func: str, *args, queue: str, name: str | None = None, **kwargs) -> None:
    """Record a job to run at `when` (within the engine's scheduler period, 30 s), in the caller's transaction.

    A one-off `django_q.Schedule` row, which the queue's scheduler turns into a
    job when due and then deletes; until then it shows under "Scheduled tasks".
    """
    if getattr(settings, "JOBS_INLINE", False):
        # Inline (tests) there is no clock to wait for: a test that wants the delay asserts the schedule row.
        return
    from django_q.models import Schedule

    Schedule.objects.create(
        name=None,
        func=func,
        args=repr(tuple(args)) if args else None,
        kwargs=repr(kwargs) if kwargs else None,
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=when,
        cluster=_known_queue(queue),
    )


def retry_later(func: str, *args, queue: str, policy: RetryPolicy, attempt: int, error: Exception, **kwargs) -> bool:
    """After failed attempt `attempt` of a job, schedule attempt `attempt + 1` by `policy`; False when none is left.

    The job calls it from its `except` and re-raises when it returns False, so
    that the engine records the failure (the admin's "Failed tasks", with
    "resubmit").
    """
    if attempt >= policy.attempts:
        logger.error("Job %s%r failed for good after %s attempts: %s", func, args, attempt, error)
        return False
    delay = retry_delay(policy, attempt)
    logger.warning("Job %s%r failed (attempt %s), retried in %.0f s: %s", func, args, attempt, delay, error)
    enqueue_at(timezone.now() + timedelta(seconds=delay), func, *args, queue=queue, attempt=attempt + 1, **kwargs)
    return True


def schedules_ensure(periodic: Mapping[str, tuple[str, int, str]]) -> None:
    """Make the engine's schedules match `periodic` (name -> (func, every N minutes, queue)).

    Run after every `migrate` (orders.apps), so a deployment carries its
    schedules with its code: missing ones are created, changed ones updated,
    ones no longer listed (by their `SCHEDULE_PREFIX`) deleted. The engine's
    scheduler then runs each once per period across every worker of every
    machine (it claims due schedules with SELECT ... FOR UPDATE).
    """
    from django_q.models import Schedule

    for name, (func, minutes, queue) in periodic.items():
        if not name.startswith(SCHEDULE_PREFIX):
            raise ValueError(f"schedule names start with {SCHEDULE_PREFIX!r}: {name!r}")
        wanted = {
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
            "cluster": _known_queue(queue),
        }
        existing = Schedule.objects.filter(name=name).first()
        if existing is None:
            Schedule.objects.create(name=name, next_run=timezone.now(), **wanted)
        elif any(getattr(existing, field) != value for field, value in wanted.items()):
            Schedule.objects.filter(pk=existing.pk).update(**wanted)
    Schedule.objects.filter(name__startswith=SCHEDULE_PREFIX).exclude(name__in=list(periodic)).delete()


def jobs_cleanup() -> int:
    """Delete failed jobs older than `JOB_FAILED_KEPT_DAYS` (finished ones the engine trims itself)."""
    from django_q.models import Failure

    cutoff = timezone.now() - timedelta(days=settings.JOB_FAILED_KEPT_DAYS)
    deleted, _ = Failure.objects.filter(stopped__lt=cutoff).delete()
    return deleted


# Names of the schedules this module manages; others (made by hand in the admin) are left alone.
SCHEDULE_PREFIX = "platform: "


def _known_queue(queue: str) -> str:
    if queue not in settings.JOB_QUEUES:
        raise ValueError(f"unknown job queue {queue!r}; settings.JOB_QUEUES has {sorted(settings.JOB_QUEUES)}")
    return queue


def _run_inline(func: str, args: tuple, kwargs: dict) -> None:
    try:
        with transaction.atomic():
            import_string(func)(*args, **kwargs)
    except Exception as error:
        report_failure(func, error)


def report_failure(func: str, error: Exception) -> None:
    """Log a job that failed inline, as a worker would; tests replace this to fail loudly instead."""
    logger.error("Job %s failed", func, exc_info=error)
