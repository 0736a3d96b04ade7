"""The job engine with real processes on PostgreSQL: gunicorn records each push's job, `qcluster` workers run it.

Each test starts its processes against pytest-django's test database
(tests/reliability/processes.py) and stops them at its end. A job is made to
stop in its middle, deterministically, by a row lock the test holds on the
orders (the job's last write, clearing `risk_pending`, waits for it).
"""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone
from django_q.models import Failure, OrmQ

from orders.models import Order, RiskSignal
from orders.risk.locks import signal_lock_waits
from orders.selectors.dossier import order_risk_signals
from tests.factories import InstitutionFactory, PushPayloadFactory, new_mobile
from tests.reliability.live import wait_until
from tests.reliability.processes import (
    all_at_once,
    backend_waiting_on_a_lock,
    jobs_drained,
    node,
    postgres_only,
    qcluster,
    session_database_connection,
    web,
)

pytestmark = [*postgres_only, pytest.mark.django_db(transaction=True)]

DOOMED_LEASE_SECONDS = 15
PERSONAL_DATA_RETENTION_DAYS = settings.PERSONAL_DATA_RETENTION_DAYS
SWEEP = "platform: sweep pending risk signals"
PURGE = "platform: purge personal data"
# Rate counters of the two-node test live here (a Redis database of their own).
REDIS_URL = "redis://127.0.0.1:6379/13"


def payload(*, device_id: str | None = None) -> dict:
    """A push that shares nothing with any other (phones, contacts, book), except `device_id` if given."""
    first, spare = new_mobile(), new_mobile()
    book = [f"联系人_{first}", f"联系人_{spare}", *(f"朋友{i}_{new_mobile()}" for i in range(10))]
    device = {"userAdditional__deviceInfo__deviceId": device_id} if device_id else {}
    return PushPayloadFactory(
        userAdditional__contactInfo__mobile=first,
        userAdditional__contactInfo__mobileSpare=spare,
        userAdditional__addressBook__phoneList=book,
        **device,
    )


def pushed(server, institution, documents: list[dict]) -> list[int]:
    """Push every document at once; the ids of the orders, all accepted."""
    answers = all_at_once(lambda i: server.push(documents[i], institution.api_token), len(documents))
    assert [status for status, _, _ in answers] == [201] * len(documents), answers
    numbers = [document["orderInfo"]["orderNo"] for document in documents]
    return list(Order.objects.filter(order_no__in=numbers).order_by("pk").values_list("pk", flat=True))


def links(order_id: int) -> dict[str, set[int]]:
    """Each signal code of the order with the orders it links to, as the order page reads them."""
    return {item.code: {linked.pk for linked in item.linked_orders} for item in order_risk_signals(order_id=order_id)}


def assert_one_signal_set_each(order_ids: list[int]) -> dict[int, dict[str, set[int]]]:
    """Every order done, no signal twice, and a full recompute from scratch finds nothing to change."""
    assert not Order.objects.filter(pk__in=order_ids, risk_pending=True).exists()
    duplicated = (
        RiskSignal.objects.filter(order_id__in=order_ids)
        .values("order_id", "code")
        .annotate(rows=Count("pk"))
        .filter(rows__gt=1)
    )
    assert list(duplicated) == []
    written = {order_id: links(order_id) for order_id in order_ids}
    call_command("recompute_risk_signals", stdout=StringIO())
    assert {order_id: links(order_id) for order_id in order_ids} == written
    return written


@pytest.fixture
def institution(transactional_db):
    return InstitutionFactory()


@pytest.fixture
def held_orders(transactional_db):
    """Hold a row lock on orders (`hold(ids)`), so their jobs stop before their last write; released at the end."""
    holder = session_database_connection()

    def hold(order_ids: list[int]) -> None:
        holder.execute("BEGIN")
        holder.execute("SELECT 1 FROM orders_order WHERE id = ANY(%s) FOR UPDATE", [order_ids])

    def release() -> None:
        holder.execute("ROLLBACK")

    hold.release = release
    hold.connection = holder
    yield hold
    holder.close()


def test_eight_concurrent_pushes_sharing_a_device_all_link_to_each_other(tmp_path, institution):
    # given: a web server and a worker of two processes, as one machine runs them
    with node(tmp_path) as server:
        # when: eight applicants push from one device at the same moment
        order_ids = pushed(server, institution, [payload(device_id="shared-device-8") for _ in range(8)])
        jobs_drained(order_ids)

    # then: each order links to the seven others, whatever order the jobs committed in
    written = assert_one_signal_set_each(order_ids)
    assert {order_id: signals["shared_device"] for order_id, signals in written.items()} == {
        order_id: set(order_ids) - {order_id} for order_id in order_ids
    }


def test_sixty_four_concurrent_unrelated_pushes_never_wait_for_a_signal_lock(tmp_path, institution):
    # given: four job processes, so jobs run side by side
    waits_before = signal_lock_waits()
    with web(tmp_path) as server, qcluster(tmp_path, workers=4):
        # when
        order_ids = pushed(server, institution, [payload() for _ in range(64)])
        jobs_drained(order_ids)

    # then
    assert signal_lock_waits() == waits_before
    assert not Order.objects.filter(pk__in=order_ids, risk_pending=True).exists()
    assert [linked for order_id in order_ids for linked in links(order_id).values() if linked] == []


def test_a_worker_killed_in_the_middle_of_a_job_leaves_every_order_with_one_signal_set(
    tmp_path, institution, held_orders
):
    # given: six orders sharing a device, their jobs queued, and a worker stuck in the middle of one
    with web(tmp_path) as server:
        order_ids = pushed(server, institution, [payload(device_id="shared-device-kill") for _ in range(6)])
    held_orders(order_ids)
    # (a lease long enough that the jobs it holds are still its own when it dies, however slow this machine)
    with qcluster(tmp_path, JOB_LEASE_SECONDS=str(DOOMED_LEASE_SECONDS)) as doomed:
        wait_until(lambda: backend_waiting_on_a_lock(held_orders.connection), "a job in its middle")

        # when: the whole worker dies at once (power cut, OOM killer), then a new one starts
        doomed.kill()
    left_leased = OrmQ.objects.filter(lock__gt=timezone.now()).count()
    held_orders.release()
    with qcluster(tmp_path) as successor:
        # (the dead worker's jobs come back once their lease has passed)
        jobs_drained(order_ids, timeout=DOOMED_LEASE_SECONDS + 60)

    # then: each order has its one signal set, linked to the five others
    written = assert_one_signal_set_each(order_ids)
    assert all(written[order_id]["shared_device"] == set(order_ids) - {order_id} for order_id in order_ids)
    # (the dead worker held jobs it had not finished; the new one ran them)
    assert left_leased >= 1
    assert "Processed 'orders.risk.tasks.risk_signals_job'" in successor.log


def test_sigterm_lets_the_worker_finish_its_job_and_exit_losing_nothing(tmp_path, institution, held_orders):
    # given: three orders' jobs, one worker process in the middle of one of them
    with web(tmp_path) as server:
        order_ids = pushed(server, institution, [payload(device_id="shared-device-term") for _ in range(3)])
    held_orders(order_ids)
    with qcluster(tmp_path, workers=1) as worker:
        wait_until(lambda: backend_waiting_on_a_lock(held_orders.connection), "a job in its middle")

        # when: asked to stop while its job waits
        worker.terminate()
        time.sleep(1)
        still_running = worker.process.poll() is None
        held_orders.release()
        exit_code = worker.process.wait(timeout=60)

        # then: it waited for its job, finished it, and left no job leased (nothing waits for a lease)
        assert still_running
        assert exit_code == 0
        assert Order.objects.filter(pk__in=order_ids, risk_pending=False).exists()
        assert not OrmQ.objects.filter(lock__gt=timezone.now()).exists()
        assert not Failure.objects.exists()

    # and what it had not started, the next worker does
    with qcluster(tmp_path):
        jobs_drained(order_ids)
    assert_one_signal_set_each(order_ids)


def test_two_nodes_share_the_jobs_and_the_rate_limits(tmp_path, institution):
    # given: two machines (web server + worker each) on two ports, one database, one Redis
    import redis

    from intake.models import PushRateWindow

    limited = InstitutionFactory(rate_limit_per_minute=3)
    with node(tmp_path, CACHE_URL=REDIS_URL) as first, node(tmp_path, CACHE_URL=REDIS_URL) as second:
        # when: sixteen pushes spread over both, each pair sharing a device across the two nodes
        documents = [payload(device_id=f"pair-{i // 2}") for i in range(16)]
        answers = all_at_once(
            lambda i: (first if i % 2 else second).push(documents[i], institution.api_token), len(documents)
        )
        order_ids = list(Order.objects.filter(institution=institution).order_by("pk").values_list("pk", flat=True))
        jobs_drained(order_ids)
        if time.time() % 60 > 50:  # keep the limited institution's pushes inside one minute
            time.sleep(61 - time.time() % 60)
        on_first = [first.push(PushPayloadFactory(), limited.api_token)[0] for _ in range(3)]
        on_second = second.push(PushPayloadFactory(), limited.api_token)[0]

    # then: every order has one signal set, pairs linked across nodes
    assert [status for status, _, _ in answers] == [201] * 16
    written = assert_one_signal_set_each(order_ids)
    by_device = {Order.objects.get(pk=order_id).device.device_id: [] for order_id in order_ids}
    for order_id in order_ids:
        by_device[Order.objects.get(pk=order_id).device.device_id].append(order_id)
    for pair in by_device.values():
        assert [written[order_id]["shared_device"] for order_id in pair] == [{pair[1]}, {pair[0]}]
    # and the limit is one count for both nodes, kept in Redis
    assert (on_first, on_second) == ([201, 201, 201], 429)
    assert redis.Redis.from_url(REDIS_URL).keys(f"*push-rate:*{limited.pk}*")
    assert not PushRateWindow.objects.exists()


def _scheduler_of(queue: str, monkeypatch) -> None:
    """What the guard of every `qcluster` of `queue` runs every 30 s: turn its due schedules into jobs."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.scheduler import scheduler

    monkeypatch.setattr(Conf, "CLUSTER_NAME", queue)
    scheduler(broker=get_broker(queue))


def test_the_purge_and_the_sweep_run_on_their_schedule_from_the_engine(tmp_path, transactional_db, monkeypatch):
    # given: an order past retention, one whose signals were never written, and both schedules due
    from django_q.models import Schedule

    from orders.models import PersonalDataPurge
    from tests.factories import pushed_order

    now = timezone.now()
    expired, stale = pushed_order(), pushed_order(payload=payload(device_id="stale-device"))
    Order.objects.filter(pk=expired.pk).update(received_at=now - timedelta(days=PERSONAL_DATA_RETENTION_DAYS + 1))
    Order.objects.filter(pk=stale.pk).update(risk_pending=True, received_at=now - timedelta(minutes=10))
    RiskSignal.objects.filter(order=stale).delete()
    due = [SWEEP, PURGE]
    Schedule.objects.filter(name__in=due).update(next_run=now - timedelta(minutes=1))

    # when: each queue's scheduler runs, and the workers of both queues
    _scheduler_of("signals", monkeypatch)
    _scheduler_of("maintenance", monkeypatch)
    with qcluster(tmp_path, queue="signals"), qcluster(tmp_path, queue="maintenance", workers=1):
        wait_until(lambda: PersonalDataPurge.objects.filter(finished_at__isnull=False).exists(), "the purge")
        jobs_drained([stale.pk])

    # then: the purge ran and recorded its run; the sweep wrote the pending signals
    run = PersonalDataPurge.objects.get()
    assert (run.orders, run.dry_run) == (1, False)
    assert not Order.objects.get(pk=stale.pk).risk_pending
    # and each schedule waits for its next period
    schedules = {schedule.name: schedule for schedule in Schedule.objects.filter(name__in=due)}
    assert schedules[SWEEP].next_run > now
    assert schedules[PURGE].next_run > now + timedelta(hours=23)
