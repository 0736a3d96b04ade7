"""The order page's reads: the one-page order dossier and its risk signals (the push history comes from `pushes`)."""

import json
from dataclasses import dataclass, field

from django.db.models import F

from orders.choices import RiskSeverity
from orders.models import (
    AddressBookEntry,
    Contact,
    Decision,
    Device,
    Employer,
    Order,
    OrderRevision,
    ReviewEvent,
    RiskSignal,
)
from orders.risk import SIGNAL_CODES, SIGNALS, signal_reason
from orders.risk.links import Links, signal_links
from orders.selectors.pushes import PushHistoryItem, order_push_history

ADDRESS_BOOK_PREVIEW = 50
# Unknown deviceInfo keys listed on the order page (the first by name); a push may carry thousands.
DEVICE_EXTRA_ROWS_LIMIT = 100
# The newest decisions and revisions the order page lists (an order loops through needs-info a few times at most).
DECISIONS_SHOWN = 20
REVISIONS_SHOWN = 5


@dataclass(frozen=True)
class FieldRow:
    label: str
    value: object
    name: str = ""


@dataclass(frozen=True)
class RiskSignalItem:
    """One signal on the order page; its label and reason follow the language active when it is shown,
    and the reason's personal data what `viewer` may see (masked without a viewer). `links`: the other
    orders it relates this one to (derived when read; empty for a signal of the order alone)."""

    signal: RiskSignal
    links: Links = field(default_factory=Links)
    viewer: object = None

    @property
    def linked_orders(self) -> list[Order]:
        """The newest linked orders (at most `orders.risk.links.SHOWN_LIMIT`)."""
        return self.links.orders

    @property
    def more_linked(self) -> int:
        """Linked orders beyond those listed."""
        return max(self.links.count - len(self.links.orders), 0)

    @property
    def code(self) -> str:
        return self.signal.code

    @property
    def label(self) -> str:
        known = SIGNALS.get(self.signal.code)
        return known.label if known else self.signal.code

    @property
    def reason(self) -> str:
        relational = self.signal.code in SIGNALS and SIGNALS[self.signal.code].relational
        return signal_reason(self.signal, self.viewer, linked_count=self.links.count if relational else None)


# Most severe first, then in the order the signals are registered (orders.risk.SIGNALS).
_SEVERITY_RANK = {RiskSeverity.HIGH: 0, RiskSeverity.MEDIUM: 1, RiskSeverity.LOW: 2}


def _signal_sort_key(signal: RiskSignal) -> tuple[int, int, str]:
    registered = SIGNAL_CODES.index(signal.code) if signal.code in SIGNAL_CODES else len(SIGNAL_CODES)
    return _SEVERITY_RANK.get(signal.severity, len(_SEVERITY_RANK)), registered, signal.code


def order_risk_signals(*, order_id: int, viewer=None) -> list[RiskSignalItem]:
    """The order's risk signals with their linked orders (derived, newest first): two queries, however many
    signals and linked orders, one when no signal relates the order to others."""
    signals = list(
        RiskSignal.objects.filter(order_id=order_id).annotate(
            applicant=F("order__user_phone"), sandbox=F("order__sandbox")
        )
    )
    applicant = signals[0].applicant if signals else ""
    sandbox = signals[0].sandbox if signals else False
    links = signal_links(order_id=order_id, applicant=applicant, sandbox=sandbox, signals=signals)
    return [
        RiskSignalItem(signal, links.get(signal.code, Links()), viewer)
        for signal in sorted(signals, key=_signal_sort_key)
    ]


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
    decisions: list[Decision] = field(default_factory=list)  # newest first
    revisions: list[OrderRevision] = field(default_factory=list)  # newest first

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
        decisions=list(
            Decision.objects.filter(order_id=order.pk).select_related("decided_by", "reason_code")[:DECISIONS_SHOWN]
        ),
        revisions=list(OrderRevision.objects.filter(order_id=order.pk)[:REVISIONS_SHOWN]),
    )
