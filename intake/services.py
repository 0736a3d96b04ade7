"""Business rules of the intake doors: receiving a push (credentials are issued by `orders.institutions`).

`push_receive` is the one entry point both doors call (REST and signed
channel): it parses, validates, decides accepted / duplicate / conflict and
records the push log, so the two doors cannot drift apart.
"""

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from intake import payload
from intake.throttling import RefusalDecision, refusal_consume
from orders.choices import Door, ReviewStatus
from orders.models import Institution, Order, PushLog, PushOutcome
from orders.services import order_create_from_push, order_revise_from_push

# --- Receiving a push --------------------------------------------------------------------


@dataclass(frozen=True)
class PushContext:
    """Where a push came from; recorded on its push-log row."""

    door: str
    remote_addr: str | None = None
    request_id: str = ""
    started: float = field(default_factory=time.perf_counter)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def answered_status(self, http_status: int) -> int:
        """The HTTP status the sender received: the channel protocol answers 200 to every push it
        reads (`status` 1 or 0 says the outcome), so its log rows must not claim a 400 or 401."""
        return 200 if self.door == Door.CHANNEL else http_status


@dataclass(frozen=True)
class PushResult:
    outcome: str
    http_status: int
    order: Order | None = None
    errors: list[dict] = field(default_factory=list)
    # Address-book entries pushed without a number (kept with an empty phone); said in the answer.
    entries_without_phone: int = 0

    @property
    def error_type(self) -> str:
        return "validation_error" if self.http_status == 400 else "client_error"

    def answer(self) -> dict:
        """The success body: `orderNo`, `status`, and when the order was first accepted."""
        return {
            "orderNo": self.order.order_no,
            "status": self.outcome,
            "receivedAt": timezone.localtime(self.order.received_at).isoformat(),
            "addressBookEntriesWithoutPhone": self.entries_without_phone,
        }


def push_receive(
    *, institution: Institution, context: PushContext, payload_raw: bytes | str, logged_body: bytes
) -> PushResult:
    """Accept, recognise a retry of, or refuse one push; always leaves its push-log row.

    The whole order is written in one durable transaction with its log row and
    the job that computes its risk signals on a worker, after the commit (the
    order is marked `risk_pending` until then). Who wins a race
    for the same orderNo is decided by the database's unique constraint, not
    by a prior SELECT: the loser's INSERT fails and it then compares
    fingerprints to answer duplicate (200) or conflict (409), or, while the
    order needs information, revised (201: the order supplied again).
    """
    document = None
    try:
        document = payload.parse(payload_raw)
        push = payload.validate(document)
        fingerprint = payload.fingerprint(document)
    except payload.PayloadError as error:
        return push_log_refusal(
            institution=institution,
            context=context,
            http_status=400,
            errors=error.errors,
            body=logged_body,
            order_no=payload.order_no_hint(document),
            outcome=PushOutcome.REJECTED,
        )

    without_phone = sum(1 for entry in push.address_book if not entry.phone)
    try:
        with transaction.atomic(durable=True):
            order = order_create_from_push(
                institution=institution, door=context.door, push=push, payload_sha256=fingerprint
            )
            result = PushResult(PushOutcome.ACCEPTED, 201, order, entries_without_phone=without_phone)
            _push_log_write(institution, context, result, logged_body, push.order_no)
        return result
    except IntegrityError:
        existing = Order.objects.filter(institution=institution, order_no=push.order_no).first()
        if existing is None:
            raise  # some other constraint: a bug, not a retry
    if existing.payload_sha256 != fingerprint and existing.review_status == ReviewStatus.NEEDS_INFO:
        revised, existing = _push_revise(institution, context, push, fingerprint, logged_body)
        if revised is not None:
            return replace(revised, entries_without_phone=without_phone)
    result = replace(_duplicate_or_conflict(existing, fingerprint), entries_without_phone=without_phone)
    _push_log_write(institution, context, result, logged_body, push.order_no)
    return result


def _duplicate_or_conflict(existing: Order, fingerprint: str) -> PushResult:
    if existing.payload_sha256 == fingerprint:
        return PushResult(PushOutcome.DUPLICATE, 200, existing)
    return PushResult(
        PushOutcome.CONFLICT,
        409,
        existing,
        [
            payload.error_item(
                "order_conflict",
                _("This orderNo was already pushed with different content; the stored order is unchanged."),
                "orderInfo.orderNo",
            )
        ],
    )


def _push_revise(
    institution: Institution, context: PushContext, push, fingerprint: str, logged_body: bytes
) -> tuple[PushResult | None, Order]:
    """Supply an order again that needs information: (the result, the order), or (None, the order as it now is).

    The order row is locked and its state read again under the lock, so a
    reviewer's decision or a concurrent revision that got there first wins and
    this push is then answered as a duplicate or a conflict of what they left.
    """
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().get(institution=institution, order_no=push.order_no)
        if order.review_status != ReviewStatus.NEEDS_INFO or order.payload_sha256 == fingerprint:
            return None, order
        order_revise_from_push(order=order, push=push, payload_sha256=fingerprint)
        result = PushResult(PushOutcome.REVISED, 201, order)
        _push_log_write(institution, context, result, logged_body, push.order_no)
    return result, order


def push_log_refusal(
    *,
    institution: Institution | None,
    context: PushContext,
    http_status: int,
    errors: list[dict],
    body: bytes | None,
    order_no: str = "",
    outcome: str = PushOutcome.REJECTED,
) -> PushResult:
    """Record a push refused before it reached the orders (bad payload, credentials, size)."""
    result = PushResult(outcome, http_status, None, errors)
    _push_log_write(institution, context, result, body, order_no)
    return result


def push_refusal_before_authentication(
    *, context: PushContext, http_status: int, errors: list[dict], outcome: str
) -> RefusalDecision:
    """Count a push refused before its sender was known, and log it boundedly.

    Anyone on the internet can send these, so each client address gets one
    push-log row per minute, its `refusal_count` raised by later refusals of
    that minute, and past `PUSH_REFUSALS_PER_MINUTE` the caller answers 429
    (the decision says so). A rate-limit cache that failed open counts
    nothing; the refusal is then logged on a row of its own, as before.
    """
    decision = refusal_consume(client_addr=context.remote_addr)
    if decision.count <= 1:
        push_log_refusal(
            institution=None, context=context, http_status=http_status, errors=errors, body=None, outcome=outcome
        )
    else:
        PushLog.objects.filter(
            institution=None,
            remote_addr=context.remote_addr,
            received_at__gte=datetime.fromtimestamp(decision.window_start, tz=UTC),
            refusal_count__lt=decision.count,
        ).update(refusal_count=decision.count)
    return decision


def _push_log_write(
    institution: Institution | None, context: PushContext, result: PushResult, body: bytes | None, order_no: str
) -> None:
    PushLog.objects.create(
        institution=institution,
        door=context.door,
        order_no=order_no,
        outcome=result.outcome,
        http_status=context.answered_status(result.http_status),
        body=body,
        body_size=len(body) if body is not None else 0,
        errors=result.errors,
        duration_ms=round(context.elapsed_ms(), 3),
        remote_addr=context.remote_addr,
        request_id=context.request_id,
    )
