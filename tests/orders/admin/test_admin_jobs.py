"""The jobs in the admin: superusers only; queued vs running; failures with a safe error and "Retry"."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from django_q.models import Failure, OrmQ

from config.jobs import enqueue
from orders.admin.jobs import job_error_summary
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUED = "/admin/django_q/ormq/"
FAILED = "/admin/django_q/failure/"
PAGES = [QUEUED, FAILED, "/admin/django_q/success/", "/admin/django_q/schedule/"]
JOB = "orders.risk.tasks.risk_signals_job"
PHONE = "13812345678"
# What the engine stores of a job that raised: "<message> : <traceback>", here a PostgreSQL error quoting a row.
DATABASE_ERROR = (
    'duplicate key value violates unique constraint "contact_phone"\n'
    f"DETAIL:  Key (phone)=({PHONE}) already exists.\n : Traceback (most recent call last):\n"
    '  File "/srv/app/orders/risk/tasks.py", line 31, in risk_signals_job\n'
    "    risk_signals_for_order(order_id=order_id)\n"
    'django.db.utils.IntegrityError: duplicate key value violates unique constraint "contact_phone"\n'
    f"DETAIL:  Key (phone)=({PHONE}) already exists.\n"
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def recorded(settings):
    """Jobs recorded in the engine's tables, as production does, not run at once."""
    settings.JOBS_INLINE = False


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


def failure(*, queue: str = "signals", result: str = DATABASE_ERROR, name: str = "f1") -> Failure:
    now = timezone.now()
    return Failure.objects.create(
        id=name,
        name="risk_signals_job",
        func=JOB,
        args=(42,),
        kwargs={"attempt": 6},
        result=result,
        started=now,
        stopped=now,
        success=False,
        cluster=queue,
    )


@pytest.mark.parametrize("page", PAGES)
def test_superusers_see_the_job_pages(superuser_client, page):
    assert superuser_client.get(page).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_other_staff_do_not_even_with_every_permission_on_the_engines_tables(client, page):
    # given
    staff = UserFactory()
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="django_q"))
    client.force_login(staff)

    # when / then
    assert client.get(page).status_code == 403
    assert "django_q" not in client.get("/admin/").content.decode()


def test_queued_and_running_jobs_are_told_apart_with_their_queue_and_function(superuser_client, recorded):
    # given: two jobs recorded, one of them leased by a worker
    enqueue(JOB, 1, queue="signals")
    enqueue("config.jobs.jobs_cleanup", queue="maintenance")
    OrmQ.objects.filter(key="signals").update(lock=timezone.now() + timedelta(seconds=60))

    # when
    everything = superuser_client.get(QUEUED).content.decode()
    running = superuser_client.get(QUEUED, {"state": "running"}).content.decode()
    queued = superuser_client.get(QUEUED, {"state": "queued"}).content.decode()

    # then
    assert "running (leased until" in everything
    assert JOB in running
    assert "jobs_cleanup" not in running
    assert "config.jobs.jobs_cleanup" in queued
    assert JOB not in queued
    assert ">maintenance<" in queued


def test_a_failure_shows_its_error_without_the_personal_data_it_quoted(superuser_client):
    # given
    job = failure()

    # when
    pages = [superuser_client.get(url).content.decode() for url in (FAILED, f"{FAILED}{job.pk}/change/")]

    # then: the type and the first line, neither the quoted row nor the traceback
    for page in pages:
        assert "IntegrityError: duplicate key value violates unique constraint" in page
        assert PHONE not in page
        assert "DETAIL" not in page
        assert "Traceback" not in page
        assert "/srv/app" not in page


def test_retry_records_the_failed_job_again_on_its_queue(superuser_client, recorded):
    # given
    job = failure()

    # when
    response = superuser_client.post(FAILED, {"action": "retry", "_selected_action": [job.pk]}, follow=True)

    # then
    assert "1 job queued again." in response.content.decode()
    assert not Failure.objects.exists()
    queued = OrmQ.objects.get()
    assert (queued.key, queued.func(), queued.args(), queued.kwargs()) == ("signals", JOB, (42,), {"attempt": 6})


def test_a_failure_on_a_queue_no_longer_configured_stays_failed(superuser_client, recorded):
    # given
    job = failure(queue="retired")

    # when
    response = superuser_client.post(FAILED, {"action": "retry", "_selected_action": [job.pk]}, follow=True)

    # then
    assert "Queue retired is no longer configured; nothing was retried." in response.content.decode()
    assert Failure.objects.filter(pk=job.pk).exists()
    assert not OrmQ.objects.exists()


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (DATABASE_ERROR, 'IntegrityError: duplicate key value violates unique constraint "contact_phone"'),
        (f"no order for {PHONE} : Traceback (most recent call last):\nValueError: no order for {PHONE}\n", None),
        ("", ""),
        ("x" * 500, "x" * 199 + "…"),
    ],
)
def test_error_summary(stored, shown):
    summary = job_error_summary(stored)

    assert PHONE not in summary
    if shown is not None:
        assert summary == shown
    else:
        assert summary.startswith("ValueError: no order for 138")


def test_the_job_pages_speak_chinese(superuser_client, recorded):
    # given
    enqueue(JOB, 1, queue="signals")

    # when
    page = superuser_client.get(QUEUED, headers={"accept-language": "zh-hans"}).content.decode()

    # then
    assert "排队中" in page
