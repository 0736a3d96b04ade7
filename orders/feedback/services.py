"""Delivering decisions: the outbox row written with the decision, each attempt (claim, send, record), send again.

At least once, never blocking a reviewer: `feedback_record` only writes rows
(the Delivery and its job) in the decision's transaction; the network is used
by `delivery_attempt`, in a worker, outside any transaction. An attempt first
claims its delivery for `CLAIM_LEASE` (committed), then sends, then records the
attempt and the next step in one transaction. A worker killed between sending
and recording leaves the claim to expire and the delivery due, so the sweep
sends it again: the receiver may see a decision twice (it deduplicates by
`updated_at` / event id), never zero times.
"""

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from config.jobs import enqueue, enqueue_at
from orders import pii
from orders.feedback import schedule, wire
from orders.feedback.destinations import DestinationRefusedError, Resolver, destination_check, system_resolver
from orders.feedback.sender import Answer, post
from orders.feedback.signing import channel_body, webhook_body, webhook_signature
from orders.models import (
    Decision,
    Delivery,
    DeliveryAttempt,
    DeliveryErrorKind,
    DeliveryStatus,
    FeedbackMode,
    Order,
)

QUEUE = "deliveries"
JOB = "orders.feedback.tasks.delivery_send_job"
# Longer than one attempt takes (connect 2 s + answer 5 s + resolving): an older claim is a dead worker's.
CLAIM_LEASE = timedelta(seconds=60)
# How much of an answer is kept on the attempt, after masking.
ANSWER_KEPT_CHARS = 2000
# What recording an attempt changes on its delivery.
RECORDED_FIELDS = [
    "attempt_count",
    "last_attempt_at",
    "last_error_kind",
    "claimed_until",
    "status",
    "delivered_at",
    "next_attempt_at",
    "retry_count",
]
# Most deliveries "send again" takes at once: each gets its own job.
MAX_SEND_AGAIN = 500


@transaction.atomic(savepoint=False)
def feedback_record(*, order: Order, decision: Decision) -> Delivery | None:
    """Write the delivery of `decision` and its job, in the caller's (the decision's) transaction.

    None when the institution takes no feedback. A pending delivery of an
    earlier decision of the order is superseded: only the newest is sent. The
    payload is fixed now, so every attempt sends the same `updated_at` / event.
    """
    institution = order.institution
    if institution.feedback_mode == FeedbackMode.OFF:
        return None
    Delivery.objects.filter(order=order, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SUPERSEDED, next_attempt_at=None
    )
    delivery = Delivery.objects.create(
        order=order,
        institution=institution,
        created_at=decision.decided_at,
        payload={"args": wire.channel_args(decision), "data": wire.webhook_data(decision)},
        next_attempt_at=decision.decided_at,
        deadline_at=decision.decided_at + schedule.retry_window(),
    )
    enqueue(JOB, delivery.pk, queue=QUEUE)
    return delivery


def delivery_attempt(
    *,
    delivery_id: int,
    clock: Callable[[], datetime] = timezone.now,
    resolver: Resolver = system_resolver,
) -> DeliveryAttempt | None:
    """Send a due delivery once and record the attempt; None when it is not due, not pending or being sent.

    `clock` and `resolver` are the tests' ways in (72 hours later; a DNS answer that changes).
    """
    delivery = _claim(delivery_id, clock())
    if delivery is None:
        return None
    started_at = clock()
    answer = _send(delivery, resolver)
    delivered, error_kind = judge(delivery.institution.feedback_mode, answer)
    return _record(
        delivery.pk, started_at=started_at, answer=answer, delivered=delivered, error_kind=error_kind, now=clock()
    )


@transaction.atomic
def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    skip_locked = connection.features.has_select_for_update_skip_locked
    delivery = (
        Delivery.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related("institution")
        .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .first()
    )
    if delivery is None:
        return None
    delivery.claimed_until = now + CLAIM_LEASE
    delivery.save(update_fields=["claimed_until"])
    return delivery


def _refusal(kind: str, error: str) -> Answer:
    return Answer(None, error_kind=kind, error=error)


def _send(delivery: Delivery, resolver: Resolver) -> Answer:
    institution = delivery.institution
    mode = institution.feedback_mode
    if mode == FeedbackMode.OFF or not institution.feedback_url:
        return _refusal(DeliveryErrorKind.NOT_CONFIGURED, "feedback is off or has no URL")
    try:
        destination = destination_check(institution.feedback_url, resolver=resolver)
    except DestinationRefusedError as error:
        return _refusal(DeliveryErrorKind.DESTINATION_REFUSED, str(error))
    except OSError as error:
        return _refusal(DeliveryErrorKind.DNS, str(error))
    timestamp = int(time.time())
    if mode == FeedbackMode.CHANNEL:
        if not (key := institution.channel_key):
            return _refusal(DeliveryErrorKind.NOT_CONFIGURED, "the institution has no channel key")
        body = channel_body(ua=institution.code, key=key, args=delivery.payload["args"], timestamp=timestamp)
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    else:
        if not (secret := institution.webhook_secret):
            return _refusal(DeliveryErrorKind.NOT_CONFIGURED, "the institution has no webhook secret")
        created = timezone.localtime(delivery.created_at).isoformat()
        body = webhook_body(event_id=str(delivery.event_id), created=created, data=delivery.payload["data"])
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Signature": webhook_signature(secret=secret, timestamp=timestamp, body=body),
        }
    return post(destination, body=body, headers=headers)


def judge(mode: str, answer: Answer) -> tuple[bool, str]:
    """(delivered, error kind) by the contract: channel needs HTTP 200 with JSON `status` 1; webhook any 2xx."""
    if answer.status is None:
        return False, answer.error_kind
    if 300 <= answer.status < 400:
        return False, DeliveryErrorKind.REDIRECT
    if mode == FeedbackMode.WEBHOOK:
        return (True, "") if 200 <= answer.status < 300 else (False, DeliveryErrorKind.HTTP_STATUS)
    if answer.status != 200:
        return False, DeliveryErrorKind.HTTP_STATUS
    if answer.truncated:
        return False, DeliveryErrorKind.ANSWER_TOO_LARGE
    try:
        status = json.loads(answer.body.decode("utf-8")).get("status")
    except (ValueError, AttributeError):
        return False, DeliveryErrorKind.INVALID_ANSWER
    # 1 or "1"; JSON `true` is not a status (and bool is an int in Python).
    if (type(status) is int and status == 1) or status == "1":
        return True, ""
    return False, DeliveryErrorKind.REFUSED_BY_RECEIVER


def _answer_kept(answer: Answer) -> str:
    text = answer.body.decode("utf-8", errors="replace")
    cut = answer.truncated or len(text) > ANSWER_KEPT_CHARS
    return pii.mask_phones_in_text(text[:ANSWER_KEPT_CHARS]) + ("…" if cut else "")


@transaction.atomic
def _record(
    delivery_id: int, *, started_at: datetime, answer: Answer, delivered: bool, error_kind: str, now: datetime
) -> DeliveryAttempt:
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery,
        started_at=started_at,
        http_status=answer.status,
        latency_ms=answer.latency_ms,
        delivered=delivered,
        error_kind=error_kind,
        error=pii.mask_phones_in_text(answer.error)[:500],
        answer=_answer_kept(answer),
    )
    delivery.attempt_count += 1
    delivery.last_attempt_at = started_at
    delivery.last_error_kind = error_kind
    delivery.claimed_until = None
    # A delivery superseded (or sent again) while this attempt was on the wire keeps its new state.
    if delivery.status == DeliveryStatus.PENDING:
        _next_step(delivery, delivered=delivered, now=now)
    delivery.save(update_fields=RECORDED_FIELDS)
    return attempt


def _next_step(delivery: Delivery, *, delivered: bool, now: datetime) -> None:
    if delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        return
    delivery.retry_count += 1
    when = schedule.next_attempt_at(
        failures=delivery.retry_count, now=now, deadline=delivery.deadline_at, policy=schedule.retry_policy()
    )
    if when is None:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        return
    delivery.next_attempt_at = when
    enqueue_at(when, JOB, delivery.pk, queue=QUEUE)


@transaction.atomic
def deliveries_send_again(*, delivery_ids, now: datetime | None = None) -> tuple[int, int]:
    """Send the chosen deliveries again on a fresh schedule; (sent, skipped). Skipped: no longer the order's newest."""
    now = now or timezone.now()
    ids = list(delivery_ids[: MAX_SEND_AGAIN + 1])
    if len(ids) > MAX_SEND_AGAIN:
        raise ValueError(f"at most {MAX_SEND_AGAIN} deliveries at once")
    newer = Delivery.objects.filter(order=OuterRef("order"), pk__gt=OuterRef("pk"))
    chosen = list(
        Delivery.objects.filter(pk__in=ids)
        .exclude(status=DeliveryStatus.SUPERSEDED)
        .exclude(Exists(newer))
        .values_list("pk", flat=True)
    )
    Delivery.objects.filter(pk__in=chosen).update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        deadline_at=now + schedule.retry_window(),
        retry_count=0,
        claimed_until=None,
        delivered_at=None,
    )
    for delivery_id in chosen:
        enqueue(JOB, delivery_id, queue=QUEUE)
    return len(chosen), len(ids) - len(chosen)
