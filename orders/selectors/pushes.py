"""Reads of the push log for a page: rows with bounded prefixes of their bodies and errors, an orderNo's history."""

import contextlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast, Length, Substr

from orders.models import Order, PushLog

# Characters of a push's errors (as JSON text) read for a page: a push can be refused with thousands.
PUSH_ERRORS_PREVIEW_CHARS = 4000


def push_body_pretty(body_text: str) -> str:
    """The raw body indented for reading when it is JSON (the channel's `args` string unfolded); as-is otherwise."""
    try:
        document = json.loads(body_text)
    except ValueError:
        return body_text
    if isinstance(document, dict) and isinstance(document.get("args"), str):
        with contextlib.suppress(ValueError):
            document = {**document, "args": json.loads(document["args"])}
    return json.dumps(document, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class PushHistoryItem:
    """A push log row read for a page: its body and errors only as bounded prefixes (see `push_logs_bounded`)."""

    log: PushLog
    body_length: int | None  # bytes; None when no body was kept
    body_head: bytes  # at most ADMIN_PUSH_BODY_PREVIEW_BYTES
    errors_head: str  # the errors as JSON text, at most PUSH_ERRORS_PREVIEW_CHARS

    @classmethod
    def of(cls, log: PushLog) -> "PushHistoryItem":
        head = log.body_head
        return cls(log, log.body_length, bytes(head) if head is not None else b"", log.errors_head or "")

    @property
    def body_complete(self) -> bool:
        """Whether `body_head` is the whole body (it fits the preview size)."""
        return self.body_length is not None and len(self.body_head) >= self.body_length

    @property
    def errors_complete(self) -> bool:
        return len(self.errors_head) < PUSH_ERRORS_PREVIEW_CHARS


def push_logs_bounded(queryset: QuerySet | None = None) -> QuerySet:
    """Push log rows without their body and errors, with bounded prefixes of both and the body's size.

    The database cuts the prefixes (SUBSTRING / LENGTH): a page never reads a
    whole body, however large the pushes were.
    """
    queryset = PushLog.objects.all() if queryset is None else queryset
    return queryset.defer("body", "errors").annotate(
        body_length=Length("body"),
        body_head=Substr("body", 1, settings.ADMIN_PUSH_BODY_PREVIEW_BYTES),
        errors_head=Substr(Cast("errors", TextField()), 1, PUSH_ERRORS_PREVIEW_CHARS),
    )


def order_push_history(*, institution_id: int, order_no: str) -> tuple[list[PushHistoryItem], int]:
    """The newest `ADMIN_PUSH_HISTORY_LIMIT` pushes of an orderNo (bounded), and how many there are in all."""
    pushes = PushLog.objects.filter(institution_id=institution_id, order_no=order_no)
    newest = push_logs_bounded(pushes).order_by("-received_at", "-id")[: settings.ADMIN_PUSH_HISTORY_LIMIT]
    items = [PushHistoryItem.of(log) for log in newest]
    total = len(items) if len(items) < settings.ADMIN_PUSH_HISTORY_LIMIT else pushes.count()
    return items, total


def push_log_order_ids(log: PushLog) -> list[int]:
    """The order a logged push made or concerns (its institution and orderNo); none for a refused stranger."""
    if log.institution_id is None or not log.order_no:
        return []
    return list(
        Order.objects.filter(institution_id=log.institution_id, order_no=log.order_no).values_list("pk", flat=True)
    )
