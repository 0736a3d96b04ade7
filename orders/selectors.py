"""Reads of the orders domain: phone/orderNo search, table-size estimates and the one-page order dossier."""

import contextlib
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet, TextField
from django.db.models.functions import Cast, Length, Substr

from orders.choices import RiskSeverity
from orders.models import AddressBookEntry, Contact, Device, Employer, Order, PushLog, ReviewEvent, RiskSignal
from orders.normalizers import phone_digits
from orders.risk import SIGNAL_CODES, SIGNALS, signal_reason

ADDRESS_BOOK_PREVIEW = 50
# Unknown deviceInfo keys listed on the order page (the first by name); a push may carry thousands.
DEVICE_EXTRA_ROWS_LIMIT = 100
# Characters of a push's errors (as JSON text) read for a page: a push can be refused with thousands.
PUSH_ERRORS_PREVIEW_CHARS = 4000
# Fewer digits than a local landline number are not worth searching the books for (`10086`
# alone matches half the address books): such terms only match orderNo.
MIN_PHONE_SEARCH_DIGITS = 7


def order_search(queryset: QuerySet, term: str) -> QuerySet:
    """Orders whose orderNo is `term`, or where `term` is any phone number of the order.

    Phones are matched on normalized digits (`138 0000 1111`, `+8613800001111`
    and `13800001111` are one number), exactly, through the indexes on
    Order.user_phone, Contact.mobile and AddressBookEntry.phone_digits. The
    candidate order ids are one UNION of index look-ups, so the planner never
    scans the orders or the tens of millions of address-book rows.
    """
    term = term.strip()
    if not term:
        return queryset
    # Default orderings are cleared: a UNION's parts may not carry ORDER BY.
    candidates = Order.objects.filter(order_no=term).order_by().values("pk")
    digits = phone_digits(term)
    if len(digits) >= MIN_PHONE_SEARCH_DIGITS and digits.isdigit():
        candidates = candidates.union(
            Order.objects.filter(user_phone=digits).order_by().values("pk"),
            Contact.objects.filter(mobile=digits).order_by().values("order_id"),
            AddressBookEntry.objects.filter(phone_digits=digits).order_by().values("order_id"),
        )
    return queryset.filter(pk__in=candidates)


def reviewer_queryset() -> QuerySet:
    """Active staff who may review (through a group, directly, or as superusers): whom orders can be assigned to."""
    permission = Permission.objects.filter(content_type__app_label="orders", codename="review_order")
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=permission) | Q(user_permissions__in=permission))
        .distinct()
        .order_by("username")
    )


def table_row_estimate(model) -> int | None:
    """The planner's row estimate for `model`'s table on PostgreSQL; None where there is none.

    `reltuples` is -1 for a table never vacuumed or analysed; that is "unknown", not zero.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else None


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
class FieldRow:
    label: str
    value: object
    name: str = ""


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


@dataclass(frozen=True)
class RiskSignalItem:
    """One signal on the order page; its label and reason follow the language active when it is shown,
    and the reason's personal data what `viewer` may see (masked without a viewer)."""

    signal: RiskSignal
    linked_orders: list[Order]
    viewer: object = None

    @property
    def code(self) -> str:
        return self.signal.code

    @property
    def label(self) -> str:
        known = SIGNALS.get(self.signal.code)
        return known.label if known else self.signal.code

    @property
    def reason(self) -> str:
        return signal_reason(self.signal, self.viewer)


# Most severe first, then in the order the signals are registered (orders.risk.SIGNALS).
_SEVERITY_RANK = {RiskSeverity.HIGH: 0, RiskSeverity.MEDIUM: 1, RiskSeverity.LOW: 2}


def _signal_sort_key(signal: RiskSignal) -> tuple[int, int, str]:
    registered = SIGNAL_CODES.index(signal.code) if signal.code in SIGNAL_CODES else len(SIGNAL_CODES)
    return _SEVERITY_RANK.get(signal.severity, len(_SEVERITY_RANK)), registered, signal.code


def order_risk_signals(*, order_id: int, viewer=None) -> list[RiskSignalItem]:
    """The order's risk signals with their linked orders: two queries, however many signals and links."""
    linked = (
        Order.objects.select_related("institution")
        .only("pk", "order_no", "review_status", "received_at", "institution__code")
        .order_by("received_at", "pk")
    )
    signals = RiskSignal.objects.filter(order_id=order_id).prefetch_related(
        Prefetch("linked_orders", queryset=linked, to_attr="linked_list")
    )
    return [RiskSignalItem(signal, signal.linked_list, viewer) for signal in sorted(signals, key=_signal_sort_key)]


@dataclass
class OrderDossier:
    """Everything pushed for one order and its review trail, as the order page shows it."""

    order: Order
    device: Device | None
    device_rows: list[FieldRow]
    device_extra_rows: list[FieldRow]
    contacts: list[Contact]
    employer: Employer | None
    address_book: list[AddressBookEntry]
    address_book_count: int
    push_history: list[PushHistoryItem]
    events: list[ReviewEvent] = field(default_factory=list)
    risk_signals: list[RiskSignalItem] = field(default_factory=list)
    push_count: int = 0  # all pushes of the orderNo; `push_history` holds the newest few
    device_extra_count: int = 0  # all unknown deviceInfo keys; `device_extra_rows` holds the first few

    @property
    def push_history_truncated(self) -> bool:
        return self.push_count > len(self.push_history)

    @property
    def device_extra_truncated(self) -> bool:
        return self.device_extra_count > len(self.device_extra_rows)

    @property
    def address_book_truncated(self) -> bool:
        return self.address_book_count > len(self.address_book)


def _device_rows(device: Device | None) -> tuple[list[FieldRow], list[FieldRow]]:
    if device is None:
        return [], []
    rows = [
        FieldRow(str(model_field.verbose_name), getattr(device, model_field.attname), model_field.name)
        for model_field in Device._meta.concrete_fields
        # Not `editable`: the stored pseudonyms, derived data for the CSV export.
        if model_field.name not in ("order", "extra") and model_field.editable
    ]
    extra = [
        FieldRow(key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), key)
        for key, value in sorted((device.extra or {}).items())[:DEVICE_EXTRA_ROWS_LIMIT]
    ]
    return rows, extra


def order_dossier(*, order_id: int, address_book_limit: int = ADDRESS_BOOK_PREVIEW, viewer=None) -> OrderDossier | None:
    """The order page's data in a fixed number of queries, whatever the address book's size; `viewer` is
    the user the risk reasons are written for."""
    order = Order.objects.select_related("institution", "assigned_to", "device", "employer").filter(pk=order_id).first()
    if order is None:
        return None
    device = getattr(order, "device", None)
    device_rows, device_extra_rows = _device_rows(device)
    push_history, push_count = order_push_history(institution_id=order.institution_id, order_no=order.order_no)
    return OrderDossier(
        order=order,
        device=device,
        device_rows=device_rows,
        device_extra_rows=device_extra_rows,
        contacts=list(Contact.objects.filter(order_id=order.pk).order_by("priority")),
        employer=getattr(order, "employer", None),
        # The count is denormalized at push time: no COUNT over a table of tens of millions.
        address_book=list(AddressBookEntry.objects.filter(order_id=order.pk).order_by("id")[:address_book_limit]),
        address_book_count=order.address_book_count,
        push_history=push_history,
        push_count=push_count,
        device_extra_count=len(device.extra or {}) if device else 0,
        events=list(
            ReviewEvent.objects.filter(order_id=order.pk)
            .select_related("actor", "from_assignee", "to_assignee")
            .order_by("created_at", "id")
        ),
        risk_signals=order_risk_signals(order_id=order.pk, viewer=viewer),
    )
