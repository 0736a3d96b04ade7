"""A real `deliveries` worker (qcluster) against the test database, with a shortened retry schedule."""

import os
import signal
import subprocess
import sys

import pytest
from django.db import connection

from orders.models import Delivery, DeliveryStatus, FeedbackMode
from tests.orders.feedback.conftest import decided, feedback_institution, record
from tests.reliability.live import BASE_DIR, database_url, postgres_only, server_env, wait_until

pytestmark = [
    *postgres_only,
    pytest.mark.django_db(transaction=True),  # the worker must see committed rows
]


def test_a_real_worker_retries_on_the_shortened_schedule_and_delivers(receiver, settings, tmp_path):
    # given: a receiver that fails once, and a decision whose delivery job is committed (real engine)
    settings.JOBS_INLINE = False
    receiver.answer("error_500")
    delivery = record(decided(feedback_institution(FeedbackMode.CHANNEL, receiver.url)))
    env = server_env(
        database_url(connection.settings_dict["NAME"]),
        Q_CLUSTER_NAME="deliveries",
        JOB_WORKERS="1",
        FEEDBACK_ALLOWED_HOSTS="127.0.0.1",
        FEEDBACK_RETRY_FIRST_SECONDS="1",
    )
    log = (tmp_path / "qcluster.log").open("w")

    # when: a worker serves the deliveries queue (the retry waits for its scheduler, every 30 s)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED,
            "the worker to deliver",
            timeout=120,
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()

    # then: one failure, one success, the second after the (shortened) wait
    first, second = delivery.attempts.order_by("started_at")
    assert (first.http_status, first.delivered, second.delivered) == (500, False, True)
    assert (second.started_at - first.started_at).total_seconds() >= 0.9
    assert len(receiver.received) == 2
