"""Delivering decisions to a real receiver on loopback: what counts as delivered, retries, 72 hours, crashes."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.choices import ReviewStatus
from orders.feedback import services, tasks
from orders.models import Delivery, DeliveryAttempt, DeliveryErrorKind, DeliveryStatus, FeedbackMode
from tests.orders.feedback.conftest import decided, feedback_institution, record

pytestmark = pytest.mark.django_db


def _record(mode, url, status=ReviewStatus.APPROVED, **fields):
    return record(decided(feedback_institution(mode, url), status, **fields))


def _attempt(delivery, **kwargs):
    return services.delivery_attempt(delivery_id=delivery.pk, **kwargs)


@pytest.mark.parametrize(
    ("mode", "answer", "delivered", "error_kind"),
    [
        (FeedbackMode.CHANNEL, "ok", True, ""),
        (FeedbackMode.CHANNEL, "ok_string", True, ""),
        (FeedbackMode.CHANNEL, "status_0", False, DeliveryErrorKind.REFUSED_BY_RECEIVER),
        (FeedbackMode.CHANNEL, "status_true", False, DeliveryErrorKind.REFUSED_BY_RECEIVER),
        (FeedbackMode.CHANNEL, "not_json", False, DeliveryErrorKind.INVALID_ANSWER),
        (FeedbackMode.CHANNEL, "created", False, DeliveryErrorKind.HTTP_STATUS),
        (FeedbackMode.CHANNEL, "error_500", False, DeliveryErrorKind.HTTP_STATUS),
        (FeedbackMode.CHANNEL, "redirect", False, DeliveryErrorKind.REDIRECT),
        (FeedbackMode.CHANNEL, "timeout", False, DeliveryErrorKind.TIMEOUT),
        (FeedbackMode.CHANNEL, "big", False, DeliveryErrorKind.ANSWER_TOO_LARGE),
        (FeedbackMode.WEBHOOK, "ok", True, ""),
        (FeedbackMode.WEBHOOK, "no_content", True, ""),
        (FeedbackMode.WEBHOOK, "status_0", True, ""),  # any 2xx: the body is the channel's concern
        (FeedbackMode.WEBHOOK, "big", True, ""),
        (FeedbackMode.WEBHOOK, "error_500", False, DeliveryErrorKind.HTTP_STATUS),
        (FeedbackMode.WEBHOOK, "redirect", False, DeliveryErrorKind.REDIRECT),
        (FeedbackMode.WEBHOOK, "timeout", False, DeliveryErrorKind.TIMEOUT),
    ],
)
def test_a_delivery_is_delivered_exactly_when_the_contract_says(
    receiver, enqueued, mode, answer, delivered, error_kind
):
    # given
    receiver.answer(answer)
    delivery = _record(mode, receiver.url)

    # when
    attempt = _attempt(delivery)

    # then
    delivery.refresh_from_db()
    assert len(receiver.received) == 1  # a redirect is not followed
    assert receiver.received[0].path == "/feedback?x=1"
    assert (attempt.delivered, attempt.error_kind) == (delivered, error_kind)
    assert delivery.status == (DeliveryStatus.DELIVERED if delivered else DeliveryStatus.PENDING)
    assert delivery.attempt_count == 1
    assert attempt.latency_ms > 0
    assert (delivery.next_attempt_at is None) == delivered


def test_a_ten_megabyte_answer_is_not_read_whole(receiver, enqueued):
    # given
    receiver.answer("big")
    delivery = _record(FeedbackMode.WEBHOOK, receiver.url)

    # when
    attempt = _attempt(delivery)

    # then: the start is kept (bounded, marked cut), and the receiver could not write it all
    assert attempt.http_status == 200
    assert attempt.answer.startswith('{"status": 1}')
    assert len(attempt.answer) <= services.ANSWER_KEPT_CHARS + 1
    assert attempt.answer.endswith("…")


def test_a_refused_connection_is_an_error_kind_and_a_retry(enqueued, settings):
    # given: a port nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = _record(FeedbackMode.CHANNEL, f"http://127.0.0.1:{port}/")

    # when
    attempt = _attempt(delivery)

    # then
    delivery.refresh_from_db()
    assert attempt.error_kind == DeliveryErrorKind.CONNECTION_REFUSED
    assert attempt.http_status is None
    assert delivery.status == DeliveryStatus.PENDING
    assert enqueued[-1][0] == services.JOB
    assert enqueued[-1][2] == delivery.next_attempt_at


def test_the_answer_kept_is_masked(receiver, enqueued):
    # given
    receiver.answer("status_0")
    delivery = _record(FeedbackMode.CHANNEL, receiver.url)

    # when
    attempt = _attempt(delivery)

    # then
    assert "13912345678" not in attempt.answer
    assert "139****5678" in attempt.answer


def test_failures_are_retried_on_the_schedule_until_delivered(receiver, enqueued):
    # given: two failures, then success
    receiver.answer("error_500", "status_0", "ok")
    decided_at = timezone.now()
    delivery = _record(FeedbackMode.CHANNEL, receiver.url, at=decided_at)
    clock = [decided_at]

    # when / then: 30 s (±10%) after the first failure, 60 s (±10%) after the second
    for failures, nominal in ((1, 30), (2, 60)):
        _attempt(delivery, clock=lambda: clock[0])
        delivery.refresh_from_db()
        wait = (delivery.next_attempt_at - clock[0]).total_seconds()
        assert nominal * 0.9 <= wait <= nominal * 1.1, (failures, wait)
        too_early = clock[0] + timedelta(seconds=wait - 1)
        assert _attempt(delivery, clock=lambda: too_early) is None  # noqa: B023 - called at once
        clock[0] = delivery.next_attempt_at
    _attempt(delivery, clock=lambda: clock[0])

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert list(delivery.attempts.order_by("started_at").values_list("http_status", "delivered")) == [
        (500, False),
        (200, False),
        (200, True),
    ]
    assert len(receiver.received) == 3


def test_a_delivery_that_never_succeeds_is_failed_after_72_hours(receiver, enqueued):
    # given: a receiver that always fails, and a clock that jumps to each retry
    receiver.default = "error_500"
    decided_at = timezone.now()
    delivery = _record(FeedbackMode.CHANNEL, receiver.url, at=decided_at)
    clock = [decided_at]

    # when
    while delivery.status == DeliveryStatus.PENDING:
        _attempt(delivery, clock=lambda: clock[0])
        delivery.refresh_from_db()
        clock[0] = delivery.next_attempt_at or clock[0]

    # then: attempted until the 72 hours ran out, never after
    assert delivery.status == DeliveryStatus.FAILED
    last = delivery.attempts.order_by("-started_at").first().started_at
    assert timedelta(hours=72) - timedelta(hours=1.1) < last - decided_at <= timedelta(hours=72)  # a wait is <= 66 min
    assert delivery.attempt_count == len(receiver.received) == DeliveryAttempt.objects.count()
    assert 70 < delivery.attempt_count < 90  # 7 doubling steps to the hour, then hourly


def test_a_newer_decision_supersedes_an_undelivered_older_one(receiver, enqueued):
    # given
    institution = feedback_institution(FeedbackMode.CHANNEL, receiver.url)
    needs_info = decided(institution, ReviewStatus.NEEDS_INFO, at=timezone.now() - timedelta(seconds=5))
    first = record(needs_info)

    # when
    second = record(decided(institution, ReviewStatus.APPROVED, order=needs_info.order))

    # then: the older is never sent, the newer is
    first.refresh_from_db()
    assert first.status == DeliveryStatus.SUPERSEDED
    assert _attempt(first) is None
    assert _attempt(second).delivered
    assert len(receiver.received) == 1
    assert second.payload["args"]["updated_at"] > first.payload["args"]["updated_at"]


def test_no_delivery_when_the_institution_takes_no_feedback(enqueued):
    # given
    decision = decided(feedback_institution(FeedbackMode.OFF, ""))

    # when / then
    assert record(decision) is None
    assert not Delivery.objects.exists()
    assert enqueued == []


class WorkerKilled(BaseException):
    """What SIGKILL looks like from inside: nothing after it runs, nothing uncommitted survives."""


def test_a_worker_killed_between_sending_and_recording_leads_to_one_more_delivery(receiver, enqueued, monkeypatch):
    # given: the first attempt reaches the receiver, then its worker dies before recording
    delivery = _record(FeedbackMode.CHANNEL, receiver.url)

    def killed(*args, **kwargs):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(services, "_record", killed)
        with pytest.raises(WorkerKilled):
            _attempt(delivery)
    assert len(receiver.received) == 1
    assert not DeliveryAttempt.objects.exists()

    # when: another attempt meanwhile is refused (the claim holds); the sweep runs after the claim expires
    assert _attempt(delivery) is None
    later = timezone.now() + services.CLAIM_LEASE + tasks.SWEEP_GRACE
    overdue = tasks.deliveries_overdue(now=later)
    attempts = [_attempt(Delivery(pk=pk), clock=lambda: later) for pk in overdue]

    # then: sent once more, never zero times; the receiver deduplicates by updated_at
    assert overdue == [delivery.pk]
    assert len(receiver.received) == 2
    assert attempts[0].delivered
    assert receiver.received[0].body.split(b"&timeStamp")[0] == receiver.received[1].body.split(b"&timeStamp")[0]


def test_the_sweep_sends_what_was_left(receiver, enqueued):
    # given: a delivery whose job was lost two minutes ago
    delivery = _record(FeedbackMode.WEBHOOK, receiver.url)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=2))

    # when
    swept = tasks.deliveries_sweep()

    # then
    delivery.refresh_from_db()
    assert swept == 1
    assert delivery.status == DeliveryStatus.DELIVERED
    assert tasks.deliveries_sweep() == 0


def test_the_sweep_leaves_a_delivery_being_sent_and_one_just_due(receiver, enqueued):
    # given
    now = timezone.now()
    being_sent = _record(FeedbackMode.CHANNEL, receiver.url)
    Delivery.objects.filter(pk=being_sent.pk).update(
        next_attempt_at=now - timedelta(minutes=5), claimed_until=now + timedelta(seconds=30)
    )
    _record(FeedbackMode.CHANNEL, receiver.url)  # due now: its own job sends it

    # when / then
    assert tasks.deliveries_overdue(now=now) == []


def test_send_again_restarts_the_schedule_and_skips_superseded(receiver, enqueued):
    # given: a failed delivery and a superseded one
    failed = _record(FeedbackMode.CHANNEL, receiver.url)
    Delivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED, retry_count=80, next_attempt_at=None)
    superseded = _record(FeedbackMode.CHANNEL, receiver.url)
    Delivery.objects.filter(pk=superseded.pk).update(status=DeliveryStatus.SUPERSEDED)
    enqueued.clear()

    # when
    sent, skipped = services.deliveries_send_again(delivery_ids=Delivery.objects.values_list("pk", flat=True))

    # then
    failed.refresh_from_db()
    assert (sent, skipped) == (1, 1)
    assert failed.status == DeliveryStatus.PENDING
    assert failed.retry_count == 0
    assert failed.deadline_at > timezone.now() + timedelta(hours=71)
    assert enqueued == [(services.JOB, (failed.pk,))]
    assert _attempt(failed).delivered


def test_https_checks_the_receivers_certificate(enqueued, tmp_path):
    # given: a TLS receiver on loopback whose certificate no authority signed
    import datetime as dt
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder(subject_name=name, issuer_name=name, public_key=key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    delivery = _record(FeedbackMode.WEBHOOK, f"https://127.0.0.1:{server.server_address[1]}/feedback")

    # when
    try:
        attempt = _attempt(delivery)
    finally:
        server.shutdown()
        server.server_close()

    # then
    assert attempt.error_kind == DeliveryErrorKind.TLS
    assert "certificate" in attempt.error.lower()
