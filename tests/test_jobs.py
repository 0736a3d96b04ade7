"""The glue to the job engine (config/jobs.py): backoff, schedules, enqueue in the caller's transaction, retries.

These tests record jobs as production does (`JOBS_INLINE` off) and look at the
engine's tables; running them is the real workers' part (tests/reliability/test_workers.py).
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule

from config import jobs
from config.jobs import RetryPolicy, enqueue, jobs_cleanup, retry_delay, retry_later, schedules_ensure

POLICY = RetryPolicy(first=2, cap=60, attempts=4, jitter=0.1)
MIDDLE = lambda: 0.5  # noqa: E731 - an rng that adds no jitter


@pytest.fixture
def recorded(settings):
    """Jobs are recorded in the engine's tables, not run at once."""
    settings.JOBS_INLINE = False


def test_the_first_retry_waits_the_first_delay():
    assert retry_delay(POLICY, 1, rng=MIDDLE) == 2


def test_each_retry_waits_twice_the_one_before_up_to_the_cap():
    delays = [retry_delay(POLICY, attempt, rng=MIDDLE) for attempt in range(1, 9)]

    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]


def test_a_huge_attempt_number_is_capped_not_overflowed():
    assert retry_delay(POLICY, 10_000, rng=MIDDLE) == 60


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 7.2), (0.999_999, 8.8), (0.25, 7.6)])
def test_jitter_moves_the_delay_by_at_most_its_share_either_way(draw, expected):
    assert retry_delay(POLICY, 3, rng=lambda: draw) == pytest.approx(expected, abs=1e-4)


def test_attempts_are_counted_from_one():
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(POLICY, 0)


@pytest.mark.django_db(transaction=True)
def test_a_job_enqueued_in_a_rolled_back_transaction_is_not_recorded(recorded):
    # given / when: the state change that needed the job fails after the enqueue
    def failing_push():
        with transaction.atomic():
            enqueue("orders.risk.tasks.risk_signals_job", 41, queue="signals")
            raise RuntimeError("the push failed after recording its job")

    with pytest.raises(RuntimeError):
        failing_push()
    with transaction.atomic():
        enqueue("orders.risk.tasks.risk_signals_job", 42, queue="signals")

    # then: only the committed one is queued, on its queue
    job = OrmQ.objects.get()
    assert (job.key, job.func(), job.args()) == ("signals", "orders.risk.tasks.risk_signals_job", (42,))


@pytest.mark.django_db
def test_an_unknown_queue_is_refused(recorded):
    with pytest.raises(ValueError, match="unknown job queue"):
        enqueue("orders.risk.tasks.risk_signals_job", 1, queue="signal")


@pytest.mark.django_db
def test_retry_later_schedules_the_next_attempt_after_the_backoff(recorded):
    # given
    before = timezone.now()

    # when
    again = retry_later(
        "orders.risk.tasks.risk_signals_job", 7, queue="signals", policy=POLICY, attempt=2, error=RuntimeError("x")
    )

    # then: attempt 3 in 4 s ± 10%, on the same queue, as a one-off schedule
    assert again is True
    retry = Schedule.objects.get(schedule_type=Schedule.ONCE)
    assert (retry.func, retry.args, retry.kwargs) == ("orders.risk.tasks.risk_signals_job", "(7,)", "{'attempt': 3}")
    assert (retry.cluster, retry.repeats) == ("signals", -1)
    assert before + timedelta(seconds=3.6) <= retry.next_run <= timezone.now() + timedelta(seconds=4.4)


@pytest.mark.django_db
def test_retry_later_gives_up_after_the_last_attempt(recorded):
    # when
    again = retry_later(
        "orders.risk.tasks.risk_signals_job", 7, queue="signals", policy=POLICY, attempt=4, error=RuntimeError("x")
    )

    # then: the job re-raises, and the engine records it as failed
    assert again is False
    assert not Schedule.objects.filter(schedule_type=Schedule.ONCE).exists()


@pytest.mark.django_db
def test_schedules_ensure_creates_updates_and_deletes_only_its_own():
    # given: the platform's schedules as migrate left them, plus one made by hand in the admin
    Schedule.objects.create(name="by hand", func="config.jobs.jobs_cleanup", schedule_type=Schedule.DAILY)
    first = {
        "platform: a": ("config.jobs.jobs_cleanup", 5, "maintenance"),
        "platform: b": ("orders.risk.tasks.risk_signals_sweep", 1, "signals"),
    }
    schedules_ensure(first)
    created = {schedule.name: schedule for schedule in Schedule.objects.filter(name__startswith="platform: a")}

    # when: a deployment changes a's period and drops b
    schedules_ensure({"platform: a": ("config.jobs.jobs_cleanup", 10, "maintenance")})

    # then
    kept = Schedule.objects.get(name="platform: a")
    assert (kept.pk, kept.minutes, kept.cluster, kept.repeats) == (created["platform: a"].pk, 10, "maintenance", -1)
    assert kept.next_run == created["platform: a"].next_run
    assert not Schedule.objects.filter(name="platform: b").exists()
    assert Schedule.objects.filter(name="by hand").exists()


@pytest.mark.django_db
def test_schedules_ensure_refuses_names_it_would_not_manage():
    with pytest.raises(ValueError, match="start with"):
        schedules_ensure({"sweep": ("orders.risk.tasks.risk_signals_sweep", 1, "signals")})


@pytest.mark.django_db
def test_migrate_leaves_every_configured_schedule_in_place(settings):
    # (pytest-django's database was made by migrate, whose post_migrate ensured them)
    schedules = {schedule.name: schedule for schedule in Schedule.objects.filter(name__startswith=jobs.SCHEDULE_PREFIX)}

    assert {
        name: (schedule.func, schedule.minutes, schedule.cluster) for name, schedule in schedules.items()
    } == settings.JOB_SCHEDULES


@pytest.mark.django_db
def test_jobs_cleanup_deletes_failed_jobs_past_their_keeping(settings):
    # given
    settings.JOB_FAILED_KEPT_DAYS = 30
    now = timezone.now()
    for name, age in (("old", 31), ("recent", 29)):
        moment = now - timedelta(days=age)
        Failure.objects.create(id=name, name=name, func="f", success=False, started=moment, stopped=moment)

    # when
    deleted = jobs_cleanup()

    # then
    assert deleted == 1
    assert list(Failure.objects.values_list("name", flat=True)) == ["recent"]
