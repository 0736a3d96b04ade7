"""What other orders say: the cross-order look-ups of one order, one indexed UNION ALL statement run on first use."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from django.db import connection

from orders.models import AddressBookEntry, Contact, Device, Order, RiskSignal

if TYPE_CHECKING:
    from orders.risk.config import RiskConfig
    from orders.risk.facts import OrderFacts


@dataclass(frozen=True)
class PhoneLink:
    """Another applicant's order related to this one through a phone number."""

    order_id: int
    phone: str  # the number that relates them
    other_applicant: str


_LOOKUP_SQL_CACHE: dict[tuple, str] = {}
# The signals that link orders, whose presence on each found order the look-up reports (`Lookups.held`).
HELD_CODES = ("shared_device", "phone_in_other_contacts", "shared_emergency_contact")


def _lookup_sql(shape: tuple[tuple[str, ...], int, int]) -> str:
    """The one UNION ALL statement of `Lookups`, for a shape (which identifiers, how many phones).

    Written as SQL and built once per shape: composing the same five-part union
    with the ORM on every push cost more than the database took to answer it.
    Each part is a subquery with its own ORDER BY and LIMIT, which PostgreSQL
    and SQLite both accept, so both give the same capped answer. Every part
    goes through an index on a normalized number or identifier and excludes the
    order itself and the orders of the same applicant phone. Identifier column
    names come from COMPARED_IDENTIFIERS, never from input.
    """
    if shape not in _LOOKUP_SQL_CACHE:
        identifiers, phone_count, contact_count = shape
        q = connection.ops.quote_name
        order, device, contact, book = (q(model._meta.db_table) for model in (Order, Device, Contact, AddressBookEntry))
        # Another order, of another applicant, on the same side of the sandbox line: a sandbox
        # institution's test orders and production orders never link (nor write reverse links).
        others = (
            f"{{order_id}} <> %s AND o.user_phone <> %s "
            f"AND o.{q('sandbox')} = (SELECT me.{q('sandbox')} FROM {order} me WHERE me.id = %s)"
        )
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
            # Entries saved without a number have empty digits: never a link (the applicant's phone never is empty).
            f"WHERE b.phone_digits = %s AND b.phone_digits <> '' AND {others.format(order_id='b.order_id')} "
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
        union = " UNION ALL ".join(f"SELECT * FROM ({part}) AS part{index}" for index, part in enumerate(parts))
        _LOOKUP_SQL_CACHE[shape] = _with_held_codes(union)
    return _LOOKUP_SQL_CACHE[shape]


def _with_held_codes(union: str) -> str:
    """The look-ups' rows with which relational signals each found order holds already (bit i: HELD_CODES[i]),
    so that a computation flags only the orders that lack one: an index probe each, no write."""
    signal = connection.ops.quote_name(RiskSignal._meta.db_table)
    held = " + ".join(
        f"(CASE WHEN EXISTS (SELECT 1 FROM {signal} s WHERE s.order_id = u.order_id AND s.code = '{code}') "
        f"THEN {1 << bit} ELSE 0 END)"
        for bit, code in enumerate(HELD_CODES)
    )
    return f"SELECT u.kind, u.order_id, u.phone, u.applicant, {held} FROM ({union}) AS u"


class Lookups:
    """Cross-order look-ups for one order, run together as one UNION ALL statement on first use.

    One round trip instead of one per family: at push time the database answers
    in well under a millisecond, and the round trips are what cost. Every part
    goes through an index on a normalized number or identifier (the partial
    indexes on device identifiers, contact mobile, address-book digits, applicant
    phone), excludes the order itself, every order of the same applicant
    phone (one person applying twice links to nobody) and every order on the
    other side of the sandbox line, and is capped at
    `LINKED_ORDERS_LIMIT` rows (by the database where it can limit the parts of a
    UNION, in Python as well so that every database gives the same answer).
    """

    def __init__(self, facts: OrderFacts, config: RiskConfig) -> None:
        self.facts = facts
        self.limit = config.linked_limit
        # The relational signals each found order already holds (filled by the look-up).
        self.held: dict[int, set[str]] = {}

    @cached_property
    def _rows(self) -> dict[str, list[tuple[int, str, str]]]:
        facts, limit = self.facts, self.limit
        phones = sorted({facts.user_phone, *facts.contact_mobiles})
        contact_mobiles = sorted(facts.contact_mobiles)
        shape = (tuple(facts.device_identifiers), len(phones), len(contact_mobiles))
        params: list = []
        others = [facts.order_id, facts.user_phone, facts.order_id]
        for value in facts.device_identifiers.values():
            params += [value, *others, limit]
        params += [*phones, *others, limit * len(phones)]
        params += [facts.user_phone, *others, limit]
        if contact_mobiles:
            params += [*contact_mobiles, *others, limit]
        params += [facts.order_id, True, *others, limit]
        rows = defaultdict(list)
        with connection.cursor() as cursor:
            cursor.execute(_lookup_sql(shape), params)
            for kind, order_id, phone, other_applicant, held in cursor.fetchall():
                rows[kind].append((order_id, phone, other_applicant))
                self.held[order_id] = {code for bit, code in enumerate(HELD_CODES) if held & (1 << bit)}
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
