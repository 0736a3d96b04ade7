"""Risk signals: what links an order to other applicants' orders, computed after each push and by backfill.

When: `risk_signals_after_push` runs right after the push's commit, once its
response has been sent (`config.after_response`); the order is `risk_pending`
until then, and `recompute_risk_signals --pending` finishes any that a dead
worker left. `risk_signals_recompute` is the backfill.

Each signal is one function `(facts, lookups, config) -> Detection | None`,
registered once in `SIGNALS` at the bottom of this module. `facts` is what the
order itself says (taken from the validated push, so it costs no query);
`lookups` runs the cross-order queries lazily, one indexed query per family,
shared by every signal that needs it, so the number of queries per order does
not depend on the size of its address book or of the tables.

Relations between orders are symmetric: when a new order links to an earlier
one, the earlier order gains the same signal (or a link on it), so the reviewer
of either sees it. Thresholds and severities come from `settings.RISK_SIGNALS`.

Reasons are stored as facts (`RiskSignal.params`: which identifier or number
matched, which contact, how many orders) and written for the reader at read
time by `signal_reason(signal, user)`: in the active language, phones and device
identifiers clear for holders of the personal-data permission and masked per
`orders.pii` for everyone else.

Read side (admin, API, CSV): `risk_flags_annotation()` gives each order's codes
joined by `;`, `filter_by_flag(queryset, code)` keeps the orders with a signal.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.db.models import CharField, Count, Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext

from orders.choices import ContactPriority, RiskSeverity
from orders.models import AddressBookEntry, Contact, Device, Order, RiskSignal
from orders.pii import Kind, mask, shown

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from orders.validated_push import ValidatedPush

# Device identifiers compared across orders, with the names the protocol uses for them.
DEVICE_IDENTIFIERS = {
    "device_id": "deviceId",
    "imei": "imei",
    "android_id": "androidId",
    "idfa": "idfa",
    "idfv": "idfv",
}

DEFAULTS = {
    "SEVERITY": {
        "shared_device": RiskSeverity.HIGH,
        "phone_in_other_contacts": RiskSeverity.MEDIUM,
        "shared_emergency_contact": RiskSeverity.MEDIUM,
        "contact_is_applicant": RiskSeverity.HIGH,
        "duplicate_contacts": RiskSeverity.MEDIUM,
        "contact_not_in_address_book": RiskSeverity.LOW,
        "rooted_device": RiskSeverity.MEDIUM,
        "simulator": RiskSeverity.HIGH,
        "thin_address_book": RiskSeverity.LOW,
    },
    "DISABLED": (),
    "THIN_ADDRESS_BOOK_MIN_ENTRIES": 10,
    "THIN_ADDRESS_BOOK_MIN_MOBILE_SHARE": 0.5,
    "LINKED_ORDERS_LIMIT": 100,
    # Placeholders that many devices report (iOS with ad tracking limited, a known
    # Android bug): matching on them would link strangers. All-zero values are ignored too.
    "IGNORED_DEVICE_IDENTIFIERS": ("unknown", "null", "none", "undefined", "9774d56d682e549c"),
}


@dataclass(frozen=True)
class RiskConfig:
    """`settings.RISK_SIGNALS` over the defaults, checked once per computation."""

    severity: dict[str, str]
    disabled: frozenset[str]
    thin_min_entries: int
    thin_min_mobile_share: float
    linked_limit: int
    ignored_identifiers: frozenset[str]

    @classmethod
    def from_settings(cls) -> RiskConfig:
        configured = getattr(settings, "RISK_SIGNALS", {})
        unknown_keys = set(configured) - set(DEFAULTS)
        if unknown_keys:
            raise ImproperlyConfigured(f"RISK_SIGNALS has unknown keys: {sorted(unknown_keys)}")
        merged = {**DEFAULTS, **configured}
        severity = {**DEFAULTS["SEVERITY"], **configured.get("SEVERITY", {})}
        for code, level in severity.items():
            if code not in SIGNALS:
                raise ImproperlyConfigured(f"RISK_SIGNALS['SEVERITY'] names an unknown signal: {code!r}")
            if level not in RiskSeverity.values:
                raise ImproperlyConfigured(f"RISK_SIGNALS['SEVERITY'][{code!r}] must be one of {RiskSeverity.values}")
        disabled = frozenset(merged["DISABLED"])
        if disabled - set(SIGNALS):
            raise ImproperlyConfigured(
                f"RISK_SIGNALS['DISABLED'] names unknown signals: {sorted(disabled - set(SIGNALS))}"
            )
        if merged["LINKED_ORDERS_LIMIT"] < 1:
            raise ImproperlyConfigured("RISK_SIGNALS['LINKED_ORDERS_LIMIT'] must be at least 1")
        return cls(
            severity=severity,
            disabled=disabled,
            thin_min_entries=int(merged["THIN_ADDRESS_BOOK_MIN_ENTRIES"]),
            thin_min_mobile_share=float(merged["THIN_ADDRESS_BOOK_MIN_MOBILE_SHARE"]),
            linked_limit=int(merged["LINKED_ORDERS_LIMIT"]),
            ignored_identifiers=frozenset(value.lower() for value in merged["IGNORED_DEVICE_IDENTIFIERS"]),
        )

    def identifier_is_meaningful(self, value: str) -> bool:
        value = value.strip()
        return bool(value.strip("0-:")) and value.lower() not in self.ignored_identifiers


# --- What the order itself says ------------------------------------------------------------


@dataclass(frozen=True)
class OrderFacts:
    """One order's own data that the signals read; built without queries from a push."""

    order_id: int
    user_phone: str
    device_identifiers: dict[str, str]
    is_root: bool | None
    is_simulator: bool | None
    # (priority, mobile) in priority order.
    contacts: tuple[tuple[int, str], ...]
    book_size: int
    book_mobile_count: int
    # The contact mobiles that the applicant's own address book holds.
    contacts_in_book: frozenset[str]

    @property
    def contact_mobiles(self) -> list[str]:
        return [mobile for _, mobile in self.contacts]

    @classmethod
    def from_push(cls, *, order: Order, push: ValidatedPush, config: RiskConfig) -> OrderFacts:
        contacts = tuple((contact["priority"], contact["mobile"]) for contact in push.contacts)
        mobiles = {mobile for _, mobile in contacts}
        in_book, mobile_count = set(), 0
        for entry in push.address_book:
            mobile_count += entry.is_mobile
            if entry.phone_digits in mobiles:
                in_book.add(entry.phone_digits)
        return cls(
            order_id=order.pk,
            user_phone=order.user_phone,
            device_identifiers=_identifiers(push.device, config),
            is_root=push.device.get("is_root"),
            is_simulator=push.device.get("is_simulator"),
            contacts=contacts,
            book_size=len(push.address_book),
            book_mobile_count=mobile_count,
            contacts_in_book=frozenset(in_book),
        )


def _identifiers(device: dict | Device | None, config: RiskConfig) -> dict[str, str]:
    if device is None:
        return {}
    get = device.get if isinstance(device, dict) else lambda name: getattr(device, name)
    values = {name: (get(name) or "") for name in DEVICE_IDENTIFIERS}
    return {name: value for name, value in values.items() if config.identifier_is_meaningful(value)}


def _facts_from_database(orders: Sequence[Order], config: RiskConfig) -> list[OrderFacts]:
    """Facts of stored orders (fetched with `device` and `contacts`), in two queries per batch."""
    order_ids = [order.pk for order in orders]
    book_stats = {
        row["order_id"]: row
        for row in AddressBookEntry.objects.filter(order_id__in=order_ids)
        .values("order_id")
        .annotate(size=Count("id"), mobiles=Count("id", filter=Q(is_mobile=True)))
        .order_by()
    }
    mobiles = {contact.mobile for order in orders for contact in order.contacts.all()}
    in_book = defaultdict(set)
    if mobiles:
        for order_id, digits in AddressBookEntry.objects.filter(
            order_id__in=order_ids, phone_digits__in=mobiles
        ).values_list("order_id", "phone_digits"):
            in_book[order_id].add(digits)
    facts = []
    for order in orders:
        device = getattr(order, "device", None)
        stats = book_stats.get(order.pk, {"size": 0, "mobiles": 0})
        facts.append(
            OrderFacts(
                order_id=order.pk,
                user_phone=order.user_phone,
                device_identifiers=_identifiers(device, config),
                is_root=device.is_root if device else None,
                is_simulator=device.is_simulator if device else None,
                contacts=tuple(
                    (contact.priority, contact.mobile) for contact in sorted(order.contacts.all(), key=_by_priority)
                ),
                book_size=stats["size"],
                book_mobile_count=stats["mobiles"],
                contacts_in_book=frozenset(in_book[order.pk]),
            )
        )
    return facts


def _by_priority(contact: Contact) -> int:
    return contact.priority


# --- What other orders say: one indexed query per family, run only when a signal asks ----------


@dataclass(frozen=True)
class PhoneLink:
    """Another applicant's order related to this one through a phone number."""

    order_id: int
    phone: str  # the number that relates them
    other_applicant: str


_LOOKUP_SQL_CACHE: dict[tuple, str] = {}


def _lookup_sql(shape: tuple[tuple[str, ...], int, int]) -> str:
    """The one UNION ALL statement of `Lookups`, for a shape (which identifiers, how many phones).

    Written as SQL and built once per shape: composing the same five-part union
    with the ORM on every push cost more than the database took to answer it.
    Each part is a subquery with its own ORDER BY and LIMIT, which PostgreSQL
    and SQLite both accept, so both give the same capped answer. Every part
    goes through an index on a normalized number or identifier and excludes the
    order itself and the orders of the same applicant phone. Identifier column
    names come from DEVICE_IDENTIFIERS, never from input.
    """
    if shape not in _LOOKUP_SQL_CACHE:
        identifiers, phone_count, contact_count = shape
        q = connection.ops.quote_name
        order, device, contact, book = (q(model._meta.db_table) for model in (Order, Device, Contact, AddressBookEntry))
        others = "{order_id} <> %s AND o.user_phone <> %s"
        parts = [
            f"SELECT '{name}' AS kind, d.order_id AS order_id, '' AS phone, o.user_phone AS applicant "
            f"FROM {device} d JOIN {order} o ON o.id = d.order_id "
            f"WHERE d.{q(name)} = %s AND d.{q(name)} <> '' AND {others.format(order_id='d.order_id')} "
            f"ORDER BY d.order_id DESC LIMIT %s"
            for name in identifiers
        ]
        parts.append(
            f"SELECT 'contact' AS kind, c.order_id AS order_id, c.mobile AS phone, o.user_phone AS applicant "
            f"FROM {contact} c JOIN {order} o ON o.id = c.order_id "
            f"WHERE c.mobile IN ({', '.join(['%s'] * phone_count)}) AND {others.format(order_id='c.order_id')} "
            f"ORDER BY c.order_id DESC LIMIT %s"
        )
        parts.append(
            f"SELECT DISTINCT 'book' AS kind, b.order_id AS order_id, b.phone_digits AS phone, "
            f"o.user_phone AS applicant FROM {book} b JOIN {order} o ON o.id = b.order_id "
            f"WHERE b.phone_digits = %s AND {others.format(order_id='b.order_id')} "
            f"ORDER BY b.order_id DESC LIMIT %s"
        )
        applicants = (
            f"SELECT 'applicant' AS kind, o.id AS order_id, o.user_phone AS phone, o.user_phone AS applicant "
            f"FROM {order} o WHERE o.user_phone IN ({{phones}}) AND {others.format(order_id='o.id')} "
            f"ORDER BY o.id DESC LIMIT %s"
        )
        if contact_count:
            parts.append(applicants.format(phones=", ".join(["%s"] * contact_count)))
        parts.append(
            applicants.format(
                phones=f"SELECT own.phone_digits FROM {book} own WHERE own.order_id = %s AND own.is_mobile = %s"
            )
        )
        _LOOKUP_SQL_CACHE[shape] = " UNION ALL ".join(
            f"SELECT * FROM ({part}) AS part{index}" for index, part in enumerate(parts)
        )
    return _LOOKUP_SQL_CACHE[shape]


class Lookups:
    """Cross-order look-ups for one order, run together as one UNION ALL statement on first use.

    One round trip instead of one per family: at push time the database answers
    in well under a millisecond, and the round trips are what cost. Every part
    goes through an index on a normalized number or identifier (the partial
    indexes on device identifiers, contact mobile, address-book digits, applicant
    phone), excludes the order itself and every order of the same applicant
    phone (one person applying twice links to nobody), and is capped at
    `LINKED_ORDERS_LIMIT` rows (by the database where it can limit the parts of a
    UNION, in Python as well so that every database gives the same answer).
    """

    def __init__(self, facts: OrderFacts, config: RiskConfig) -> None:
        self.facts = facts
        self.limit = config.linked_limit

    @cached_property
    def _rows(self) -> dict[str, list[tuple[int, str, str]]]:
        facts, limit = self.facts, self.limit
        phones = sorted({facts.user_phone, *facts.contact_mobiles})
        contact_mobiles = sorted(facts.contact_mobiles)
        shape = (tuple(facts.device_identifiers), len(phones), len(contact_mobiles))
        params: list = []
        for value in facts.device_identifiers.values():
            params += [value, facts.order_id, facts.user_phone, limit]
        params += [*phones, facts.order_id, facts.user_phone, limit * len(phones)]
        params += [facts.user_phone, facts.order_id, facts.user_phone, limit]
        if contact_mobiles:
            params += [*contact_mobiles, facts.order_id, facts.user_phone, limit]
        params += [facts.order_id, True, facts.order_id, facts.user_phone, limit]
        rows = defaultdict(list)
        with connection.cursor() as cursor:
            cursor.execute(_lookup_sql(shape), params)
            for kind, order_id, phone, other_applicant in cursor.fetchall():
                rows[kind].append((order_id, phone, other_applicant))
        for found in rows.values():
            found.sort(key=lambda row: (-row[0], row[1]))
        return rows

    def _distinct_orders(self, kind: str) -> list[tuple[int, str, str]]:
        seen, rows = set(), []
        for row in self._rows.get(kind, []):
            if row[0] not in seen:
                seen.add(row[0])
                rows.append(row)
        return rows[: self.limit]

    @property
    def device_matches(self) -> list[tuple[int, str, list[str]]]:
        """(order, applicant phone, matched identifier names) of other applicants on this device."""
        matches: dict[int, tuple[str, list[str]]] = {}
        for name in self.facts.device_identifiers:
            for order_id, _, phone in self._rows.get(name, []):
                matches.setdefault(order_id, (phone, []))[1].append(name)
        return [(order_id, *matches[order_id]) for order_id in sorted(matches, reverse=True)[: self.limit]]

    @property
    def contact_links(self) -> list[PhoneLink]:
        """Other orders whose emergency contacts hold the applicant's phone or one of its contacts' phones."""
        phones = {self.facts.user_phone, *self.facts.contact_mobiles}
        return [PhoneLink(*row) for row in self._rows.get("contact", [])[: self.limit * len(phones)]]

    @property
    def book_links(self) -> list[PhoneLink]:
        """Other orders whose address book holds the applicant's phone (one indexed equality)."""
        return [PhoneLink(*row) for row in self._distinct_orders("book")]

    @property
    def applicant_links(self) -> list[PhoneLink]:
        """Other applicants whose phone is among this order's emergency contacts or address book."""
        return [PhoneLink(*row) for row in self._distinct_orders("applicant")]


# --- The signals ---------------------------------------------------------------------------


# What relates two orders, as stored in a reason's facts: `["phone", number]` or `[identifier, value]`
# with an identifier name of DEVICE_IDENTIFIERS. A reason keeps at most this many.
VIA_LIMIT = 10
PHONE = "phone"


@dataclass(frozen=True)
class Detection:
    """What a signal function found: the facts of its reason (`params`, JSON) and the orders it links,
    each with what relates it to this order (`links`: order id -> `(kind, value)` pairs)."""

    params: dict
    links: dict[int, frozenset[tuple[str, str]]] = field(default_factory=dict)

    @property
    def linked(self) -> tuple[int, ...]:
        return tuple(sorted(self.links))


@dataclass(frozen=True)
class Signal:
    code: str
    label_zh: str
    label_en: str
    detect: Callable[[OrderFacts, Lookups, RiskConfig], Detection | None]
    relational: bool = False  # links other orders, and so is written on them too

    @property
    def label(self) -> str:
        return self.label_zh if (get_language() or "").startswith("zh") else self.label_en


def _links(pairs: Iterable[tuple[int, tuple[str, str]]]) -> dict[int, frozenset[tuple[str, str]]]:
    grouped = defaultdict(set)
    for order_id, via in pairs:
        grouped[order_id].add(via)
    return {order_id: frozenset(vias) for order_id, vias in grouped.items()}


def _via(links: dict[int, frozenset[tuple[str, str]]]) -> list[list[str]]:
    """Everything that relates the linked orders, for the reason's facts (sorted, capped)."""
    return [list(via) for via in sorted({via for vias in links.values() for via in vias})[:VIA_LIMIT]]


def shared_device(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    matches = lookups.device_matches
    if not matches:
        return None
    links = _links(
        (order_id, (name, facts.device_identifiers[name])) for order_id, _, names in matches for name in names
    )
    matched = {name for _, _, names in matches for name in names}
    return Detection(
        {
            "identifiers": [
                [name, facts.device_identifiers[name]] for name in facts.device_identifiers if name in matched
            ],
            "applicants": len({phone for _, phone, _ in matches}),
            "via": _via(links),
        },
        links,
    )


def phone_in_other_contacts(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    as_contact = [link for link in lookups.contact_links if link.phone == facts.user_phone]
    in_books = lookups.book_links
    applicants = lookups.applicant_links
    if not (as_contact or in_books or applicants):
        return None
    links = _links(
        [(link.order_id, (PHONE, facts.user_phone)) for link in (*as_contact, *in_books)]
        + [(link.order_id, (PHONE, link.phone)) for link in applicants]
    )
    applicant_phones = sorted({link.phone for link in applicants})
    return Detection(
        {
            "phone": facts.user_phone,
            "as_contact": len(as_contact),
            "in_books": len(in_books),
            "applicants": len(applicant_phones),
            "applicant_phones": applicant_phones[:VIA_LIMIT],
            "via": _via(links),
        },
        links,
    )


def shared_emergency_contact(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    shared = defaultdict(list)
    for link in lookups.contact_links:
        if link.phone != facts.user_phone:
            shared[link.phone].append(link)
    if not shared:
        return None
    links = _links((link.order_id, (PHONE, phone)) for phone, found in shared.items() for link in found)
    return Detection(
        {
            "contacts": [
                [phone, len({link.other_applicant for link in found})] for phone, found in sorted(shared.items())
            ],
            "via": _via(links),
        },
        links,
    )


def contact_is_applicant(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    own = [priority for priority, mobile in facts.contacts if mobile == facts.user_phone]
    if not own:
        return None
    return Detection({"contacts": own})


def duplicate_contacts(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    mobiles = facts.contact_mobiles
    repeated = sorted({mobile for mobile in mobiles if mobiles.count(mobile) > 1})
    if not repeated:
        return None
    return Detection({"phones": repeated})


def contact_not_in_address_book(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    # An empty book (permission refused on the phone) is thin_address_book's finding, not this one's.
    if facts.book_size == 0:
        return None
    missing = [priority for priority, mobile in facts.contacts if mobile not in facts.contacts_in_book]
    if not missing:
        return None
    return Detection({"contacts": missing})


def rooted_device(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    if facts.is_root is not True:
        return None
    return Detection({})


def simulator(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    if facts.is_simulator is not True:
        return None
    return Detection({})


def thin_address_book(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    size, minimum = facts.book_size, config.thin_min_entries
    if size < minimum:
        return Detection({"size": size, "minimum": minimum})
    if size == 0:
        return None
    share = facts.book_mobile_count / size
    if share < config.thin_min_mobile_share:
        percent, threshold = math.floor(share * 100), round(config.thin_min_mobile_share * 100)
        return Detection({"percent": percent, "threshold": threshold})
    return None


# The one place where signals are registered; the order is the order of display.
SIGNALS: dict[str, Signal] = {
    signal.code: signal
    for signal in (
        Signal("shared_device", "设备共用", "Shared device", shared_device, relational=True),
        Signal(
            "phone_in_other_contacts",
            "出现在他人联系人中",
            "Phone in others' contacts",
            phone_in_other_contacts,
            relational=True,
        ),
        Signal(
            "shared_emergency_contact",
            "紧急联系人共用",
            "Shared emergency contact",
            shared_emergency_contact,
            relational=True,
        ),
        Signal("contact_is_applicant", "联系人是本人", "Contact is the applicant", contact_is_applicant),
        Signal("duplicate_contacts", "联系人重复", "Duplicate contacts", duplicate_contacts),
        Signal(
            "contact_not_in_address_book",
            "联系人不在通讯录",
            "Contact not in address book",
            contact_not_in_address_book,
        ),
        Signal("rooted_device", "设备已 root", "Rooted device", rooted_device),
        Signal("simulator", "模拟器", "Simulator", simulator),
        Signal("thin_address_book", "通讯录过少", "Thin address book", thin_address_book),
    )
}
SIGNAL_CODES: tuple[str, ...] = tuple(SIGNALS)


def signal_choices() -> list[tuple[str, str]]:
    """(code, label in the active language), for filters and forms."""
    return [(code, signal.label) for code, signal in SIGNALS.items()]


# --- Computing and writing ------------------------------------------------------------------


@dataclass
class _Finding:
    order_id: int
    code: str
    detection: Detection


def _detect(facts: OrderFacts, config: RiskConfig) -> list[_Finding]:
    lookups = Lookups(facts, config)
    findings = []
    for code, signal in SIGNALS.items():
        if code in config.disabled:
            continue
        detection = signal.detect(facts, lookups, config)
        if detection is not None:
            findings.append(_Finding(facts.order_id, code, detection))
    return findings


def risk_signals_after_push(*, order: Order, push: ValidatedPush) -> bool:
    """Write the signals of an order whose push has just committed; returns whether it wrote them.

    Runs after the push's response has been sent (`intake.services.push_receive`),
    so the integrator does not wait for the look-ups, and in its own transaction,
    after the push's commit, so it sees every order committed before it,
    including one pushed at the same moment that the push's own transaction
    could not have seen. The order's own data comes from the validated push.

    If a sweep already did the work (the order is no longer `risk_pending`),
    nothing is written. If the database refuses the work, the mark stays for
    `recompute_risk_signals --pending`; the push is stored and answered either way.
    """
    config = RiskConfig.from_settings()
    facts = OrderFacts.from_push(order=order, push=push, config=config)
    try:
        with transaction.atomic():
            _serialize_signal_writers()
            if not Order.objects.filter(pk=order.pk, risk_pending=True).update(risk_pending=False):
                return False
            _write(_detect(facts, config), order_ids={order.pk}, config=config)
        return True
    except DatabaseError as error:
        logger.warning(
            "Risk signals of order %s left pending for recompute_risk_signals --pending: %s (SQLSTATE %s)",
            order.pk,
            type(error).__name__,
            getattr(error.__cause__, "sqlstate", None),
        )
        return False


@transaction.atomic(savepoint=False)
def risk_signals_compute(*, order: Order) -> list[RiskSignal]:
    """Recompute one stored order's signals, replacing what it had, and add the reverse links."""
    config = RiskConfig.from_settings()
    _serialize_signal_writers()
    return _recompute_stored([_with_facts(Order.objects.filter(pk=order.pk)).get()], config)


def risk_signals_recompute(
    *, queryset: QuerySet[Order], batch_size: int = 200, progress: Callable[[int, int], None] | None = None
) -> int:
    """Recompute the signals of every order in `queryset`, a batch per transaction; returns the count.

    An order of the queryset that its push wrote meanwhile (a sweep of pending
    orders) is still read and written again within its batch: the result is
    the same, and the batch holds the writers' lock, so nothing is lost.
    """
    config = RiskConfig.from_settings()
    total = queryset.count()
    done, last_pk = 0, 0
    while True:
        with transaction.atomic():
            _serialize_signal_writers()
            batch = list(_with_facts(queryset.filter(pk__gt=last_pk).order_by("pk"))[:batch_size])
            if not batch:
                break
            _recompute_stored(batch, config)
        done += len(batch)
        last_pk = batch[-1].pk
        if progress:
            progress(done, total)
    return done


def _with_facts(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Orders fetched with what `_facts_from_database` reads of them."""
    return queryset.select_related("device").prefetch_related("contacts")


def _recompute_stored(orders: list[Order], config: RiskConfig) -> list[RiskSignal]:
    """Replace the signals of stored orders (fetched by `_with_facts`) and clear their pending marks.

    The caller's transaction holds the writers' lock (`_serialize_signal_writers`)
    since before it read the orders, so their `risk_pending` is current.
    """
    findings = [finding for facts in _facts_from_database(orders, config) for finding in _detect(facts, config)]
    signals = _write(findings, order_ids={order.pk for order in orders}, config=config)
    pending = [order.pk for order in orders if order.risk_pending]
    if pending:
        Order.objects.filter(pk__in=pending).update(risk_pending=False)
    return signals


# Any 64-bit number that no other advisory lock of the database uses.
_SIGNAL_WRITERS_LOCK = 0x5249534B_5349474E  # "RISKSIGN"


def _serialize_signal_writers() -> None:
    """Make the writers of signals (a push's computation, a recompute batch) take turns.

    Each holds the lock for its look-ups and writes, until its transaction
    ends. Taking turns, a computation sees every order whose own computation
    came before it, and nothing writes onto its signals between its look-ups
    and its writes. Two computations at once would lose each other's reverse
    links (each replaces what its orders held) or deadlock on each other's
    signal rows. A push's computation holds it for a few milliseconds.
    PostgreSQL: a transaction-level advisory lock. SQLite needs none: its
    transactions take the database's write lock at BEGIN (IMMEDIATE).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SIGNAL_WRITERS_LOCK])


def _backlink_params(*, count: int, via: Iterable[Sequence[str]]) -> dict:
    """The facts on a signal that other orders linked to: how many orders, through what.

    (Recomputing the order writes its own detailed facts again.)"""
    return {
        "linked": True,
        "orders": count,
        "via": [list(item) for item in sorted({tuple(v) for v in via})][:VIA_LIMIT],
    }


def _write(findings: list[_Finding], *, order_ids: set[int], config: RiskConfig) -> list[RiskSignal]:
    """Replace the orders' signals and their links in bulk, then add the reverse links on linked orders.

    What the orders held is replaced, including links that other orders added
    to them: every relation is symmetric, so the orders' own look-ups find
    those other orders again.
    """
    now = timezone.now()
    through = RiskSignal.linked_orders.through
    RiskSignal.objects.filter(order_id__in=order_ids).delete()
    signals = RiskSignal.objects.bulk_create(
        [
            RiskSignal(
                order_id=finding.order_id,
                code=finding.code,
                severity=config.severity[finding.code],
                params=finding.detection.params,
                computed_at=now,
            )
            for finding in findings
        ]
    )
    links = [
        through(risksignal_id=signal.pk, order_id=linked)
        for signal, finding in zip(signals, findings, strict=True)
        for linked in finding.detection.linked
    ]
    if links:
        through.objects.bulk_create(links)
        reverse = defaultdict(dict)
        for finding in findings:
            for linked, via in finding.detection.links.items():
                reverse[(linked, finding.code)][finding.order_id] = via
        # An order recomputed in the same batch already holds its own full links.
        _write_reverse_links(
            {key: sources for key, sources in reverse.items() if key[0] not in order_ids}, config=config, now=now
        )
    return signals


def _write_reverse_links(
    reverse: dict[tuple[int, str], dict[int, frozenset[tuple[str, str]]]], *, config: RiskConfig, now
) -> None:
    """Give each linked order the signal (created if missing) with a link back: a constant number of queries.

    `reverse[(linked order, code)]` maps each source order to what relates the two."""
    if not reverse:
        return
    through = RiskSignal.linked_orders.through
    keys = sorted(reverse)  # one lock order for concurrent pushes
    RiskSignal.objects.bulk_create(
        [
            RiskSignal(
                order_id=order_id,
                code=code,
                severity=config.severity[code],
                params=_backlink_params(count=0, via=()),
                computed_at=now,
            )
            for order_id, code in keys
        ],
        ignore_conflicts=True,
    )
    existing = {
        (signal.order_id, signal.code): signal
        for signal in RiskSignal.objects.filter(
            order_id__in={order_id for order_id, _ in keys}, code__in={code for _, code in keys}
        ).annotate(link_count=Count("linked_orders"))
    }
    # A linked order may already hold the link: its own look-up found this order first.
    sources = {source for group in reverse.values() for source in group}
    already = set(
        through.objects.filter(
            risksignal_id__in=[signal.pk for signal in existing.values()], order_id__in=sources
        ).values_list("risksignal_id", "order_id")
    )
    new_links, changed = [], []
    for key in keys:
        signal = existing[key]
        added = [source for source in sorted(reverse[key]) if (signal.pk, source) not in already]
        if not added:
            continue
        new_links.extend(through(risksignal_id=signal.pk, order_id=source) for source in added)
        known = (signal.params or {}).get("via", [])
        signal.params = _backlink_params(
            count=signal.link_count + len(added),
            via=[*known, *(via for source in added for via in reverse[key][source])],
        )
        signal.computed_at = now
        changed.append(signal)
    if new_links:
        through.objects.bulk_create(new_links, ignore_conflicts=True)
        RiskSignal.objects.bulk_update(changed, ["params", "computed_at"])


# --- Reasons, rendered for the viewing user -----------------------------------------------------


def _shown(user, kind: Kind, value: str) -> str:
    """Personal data in a reason as `user` may see it on one order's page (masked without a user)."""
    return shown(user, kind, value) if user is not None else mask(kind, value)


def _join(items: Iterable[str]) -> str:
    return ("、" if (get_language() or "").startswith("zh") else ", ").join(items)


def _via_text(user, via: Iterable[Sequence[str]]) -> str:
    """`deviceId 3f2a…, IMEI 8612…` or `138****0000`: what relates the orders, masked per the policy."""
    parts = []
    for kind, value in via:
        if kind == PHONE:
            parts.append(_shown(user, Kind.PHONE, value))
        else:
            parts.append(f"{DEVICE_IDENTIFIERS.get(kind, kind)} {_shown(user, Kind.DEVICE_ID, value)}")
    return _join(parts)


def _contacts_text(priorities: Sequence[int], *, one: dict[int, str], both: str) -> str:
    priorities = sorted(set(priorities))
    return both if len(priorities) > 1 else one.get(priorities[0], both) if priorities else ""


def _linked_reason(code: str, params: dict, user) -> str:
    count, via = params.get("orders", 0), _via_text(user, params.get("via", []))
    if code == "shared_device":
        return ngettext(
            "This device (%(via)s) is also used by %(count)d other order.",
            "This device (%(via)s) is also used by %(count)d other orders.",
            count,
        ) % {"via": via, "count": count}
    if code == "shared_emergency_contact":
        return ngettext(
            "The emergency contact %(via)s is also an emergency contact on %(count)d other order.",
            "The emergency contact %(via)s is also an emergency contact on %(count)d other orders.",
            count,
        ) % {"via": via, "count": count}
    return ngettext(
        "Linked to %(count)d other order through the number %(via)s.",
        "Linked to %(count)d other orders through the number %(via)s.",
        count,
    ) % {"via": via, "count": count}


def _reason_sentences(code: str, params: dict, user) -> list[str]:
    """The reason of signal `code` from its facts, one sentence per finding, in the active language."""
    if params.get("linked"):
        return [_linked_reason(code, params, user)]
    if code == "shared_device":
        count = params.get("applicants", 0)
        identifiers = _via_text(user, params.get("identifiers", []))
        return [
            ngettext(
                "This device (%(identifiers)s) was also used in the orders of %(count)d other applicant.",
                "This device (%(identifiers)s) was also used in the orders of %(count)d other applicants.",
                count,
            )
            % {"identifiers": identifiers, "count": count}
        ]
    if code == "phone_in_other_contacts":
        phone = _shown(user, Kind.PHONE, params.get("phone", ""))
        sentences = []
        if count := params.get("as_contact"):
            sentences.append(
                ngettext(
                    "The applicant's phone %(phone)s is an emergency contact on %(count)d order of another applicant.",
                    "The applicant's phone %(phone)s is an emergency contact on %(count)d orders of other applicants.",
                    count,
                )
                % {"phone": phone, "count": count}
            )
        if count := params.get("in_books"):
            sentences.append(
                ngettext(
                    "The applicant's phone %(phone)s is in the address book of %(count)d order of another applicant.",
                    "The applicant's phone %(phone)s is in the address books of %(count)d orders of other applicants.",
                    count,
                )
                % {"phone": phone, "count": count}
            )
        if count := params.get("applicants"):
            phones = _join(_shown(user, Kind.PHONE, number) for number in params.get("applicant_phones", []))
            sentences.append(
                ngettext(
                    "%(count)d number in this order's emergency contacts or address book (%(phones)s) "
                    "is the phone of another order's applicant.",
                    "%(count)d numbers in this order's emergency contacts or address book (%(phones)s) "
                    "are the phones of other orders' applicants.",
                    count,
                )
                % {"phones": phones, "count": count}
            )
        return sentences
    if code == "shared_emergency_contact":
        return [
            ngettext(
                "The emergency contact %(phone)s is also the emergency contact of %(count)d other applicant.",
                "The emergency contact %(phone)s is also the emergency contact of %(count)d other applicants.",
                count,
            )
            % {"phone": _shown(user, Kind.PHONE, phone), "count": count}
            for phone, count in params.get("contacts", [])
        ]
    if code == "contact_is_applicant":
        return [
            _contacts_text(
                params.get("contacts", []),
                one={
                    ContactPriority.PRIMARY: gettext("The first emergency contact has the applicant's own number."),
                    ContactPriority.SPARE: gettext("The second emergency contact has the applicant's own number."),
                },
                both=gettext("Both emergency contacts have the applicant's own number."),
            )
        ]
    if code == "duplicate_contacts":
        phones = _join(_shown(user, Kind.PHONE, phone) for phone in params.get("phones", []))
        return [gettext("Both emergency contacts have the same number, %(phone)s.") % {"phone": phones}]
    if code == "contact_not_in_address_book":
        return [
            _contacts_text(
                params.get("contacts", []),
                one={
                    ContactPriority.PRIMARY: gettext(
                        "The first emergency contact's number is not in the applicant's address book."
                    ),
                    ContactPriority.SPARE: gettext(
                        "The second emergency contact's number is not in the applicant's address book."
                    ),
                },
                both=gettext("Neither emergency contact's number is in the applicant's address book."),
            )
        ]
    if code == "rooted_device":
        return [gettext("The device is rooted or jailbroken.")]
    if code == "simulator":
        return [gettext("The application came from an emulator or simulator.")]
    if code == "thin_address_book":
        if "size" in params:
            size = params["size"]
            return [
                ngettext(
                    "The address book has only %(count)d entry (fewer than %(minimum)d).",
                    "The address book has only %(count)d entries (fewer than %(minimum)d).",
                    size,
                )
                % {"count": size, "minimum": params.get("minimum", 0)}
            ]
        return [
            gettext("Only %(percent)d%% of the address book are mobile numbers (below %(threshold)d%%).")
            % {"percent": params.get("percent", 0), "threshold": params.get("threshold", 0)}
        ]
    return []


def signal_reason(signal: RiskSignal, user=None) -> str:
    """The reason of `signal` in the active language, for `user` on one order's page: phones and device
    identifiers clear for holders of the personal-data permission, masked per `orders.pii` for everyone
    else (and without a user). Rows stored before reasons had facts show their stored text."""
    if signal.params is None:
        return signal.reason_zh if (get_language() or "").startswith("zh") else signal.reason_en
    try:
        separator = "" if (get_language() or "").startswith("zh") else " "  # Chinese puts no space after 。
        return separator.join(_reason_sentences(signal.code, signal.params, user))
    except (TypeError, ValueError, KeyError):
        # Facts of an unexpected shape (written by a later version, say) must not break the order page.
        logger.warning("Risk signal %s has facts of an unexpected shape", signal.pk)
        return ""


# --- Reading: flags per order and filtering ----------------------------------------------------

RISK_FLAGS_SEPARATOR = ";"


class _JoinedSignalCodes(Func):
    """The order's signal codes in code order joined by `;` (NULL when none), as a correlated subquery.

    Written by hand because Django 5.2 has no portable string aggregate
    (StringAgg is PostgreSQL-only); one index range scan per order row.
    """

    output_field = CharField()

    def as_sql(self, compiler, connection, **extra_context):
        (outer_pk,) = self.source_expressions
        pk_sql, params = compiler.compile(outer_pk)
        table = connection.ops.quote_name(RiskSignal._meta.db_table)
        separator = RISK_FLAGS_SEPARATOR
        if connection.vendor == "postgresql":
            sql = (
                f"(SELECT STRING_AGG(rs.code, '{separator}' ORDER BY rs.code) "
                f"FROM {table} rs WHERE rs.order_id = {pk_sql})"
            )
        else:
            # SQLite keeps the order of an ordered subquery in group_concat.
            sql = (
                f"(SELECT GROUP_CONCAT(code, '{separator}') FROM "
                f"(SELECT rs.code FROM {table} rs WHERE rs.order_id = {pk_sql} ORDER BY rs.code))"
            )
        return sql, params


def risk_flags_annotation(order_path: str = "pk"):
    """An expression for `.annotate(risk_flags=...)` on Order querysets: `'shared_device;simulator'` or `''`.

    `order_path` points at the order's primary key from another model's queryset (`"order"`)."""
    return Coalesce(_JoinedSignalCodes(F(order_path)), Value(""), output_field=CharField())


def risk_flags_of(order: Order) -> list[str]:
    """Codes of an order fetched with `risk_flags_annotation()` (or with `risk_signals` prefetched)."""
    joined = getattr(order, "risk_flags", None)
    if joined is not None:
        return [code for code in joined.split(RISK_FLAGS_SEPARATOR) if code]
    return sorted(signal.code for signal in order.risk_signals.all())


def filter_by_flag(queryset: QuerySet[Order], code: str, order_path: str = "pk") -> QuerySet:
    """The orders of `queryset` that carry signal `code` (an EXISTS on the (order, code) unique index)."""
    if code not in SIGNALS:
        raise ValueError(f"Unknown risk signal {code!r}; expected one of {', '.join(SIGNAL_CODES)}")
    return queryset.filter(Exists(RiskSignal.objects.filter(order_id=OuterRef(order_path), code=code)))
