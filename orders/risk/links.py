"""What links an order's signals to other orders, derived when read: how many orders, and the newest of them.

Nothing per pair of orders is stored. A relational signal keeps what relates
its order to others (`params["via"]`: `[identifier, value]` or `["phone",
number]`), and the orders sharing that are found again, when the order is
shown, through the same indexes the look-ups use (`lookups`): a device
identifier's partial index, the contact mobile, the address-book digits, the
applicant phone. So a later order sharing an identifier changes no row of an
earlier one beyond giving it the signal once, and the count is always current:
orders purged of their device identifiers stop matching, orders of the same
applicant never count. One statement for every signal of the order; each
identifier's part stops at `COUNT_LIMIT` orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from orders.models import AddressBookEntry, Contact, Device, Institution, Order, RiskSignal
from orders.risk.detection import PHONE
from orders.risk.facts import COMPARED_IDENTIFIERS

# Orders counted through one identifier at most: the order page's cost stays bounded for a
# fraud ring's identifier, and no real review needs the exact figure beyond it.
COUNT_LIMIT = 100_000
# Linked orders listed per signal on the order page, newest first.
SHOWN_LIMIT = 20
RELATIONAL = ("shared_device", "phone_in_other_contacts", "shared_emergency_contact")


@dataclass
class Links:
    """The other orders a signal relates its order to: how many, and the newest `SHOWN_LIMIT` of them."""

    count: int = 0
    orders: list[Order] = field(default_factory=list)


def _parts(signal: RiskSignal, applicant: str) -> list[tuple[str, str, str]]:
    """(table, column, value) of each look-up that finds the orders related through the signal."""
    params = signal.params or {}
    if signal.code not in RELATIONAL or not isinstance(params, dict):
        return []
    via = {tuple(item) for item in [*params.get("via", []), *params.get("identifiers", [])] if len(item) == 2}
    parts = set()
    for kind, value in via:
        if signal.code == "shared_device" and kind in COMPARED_IDENTIFIERS:
            parts.add(("device", kind, value))
        elif signal.code == "shared_emergency_contact" and kind == PHONE:
            parts.add(("contact", "mobile", value))
        elif signal.code == "phone_in_other_contacts" and kind == PHONE and value == applicant:
            parts |= {("contact", "mobile", value), ("book", "phone_digits", value)}
        elif signal.code == "phone_in_other_contacts" and kind == PHONE:
            parts.add(("applicant", "user_phone", value))
    return sorted(parts)


def _statement(parts: list[tuple[str, str, str, str]]) -> str:
    q = connection.ops.quote_name
    tables = {name: q(model._meta.db_table) for name, model in (("device", Device), ("contact", Contact))}
    tables["book"] = q(AddressBookEntry._meta.db_table)
    order, institution = q(Order._meta.db_table), q(Institution._meta.db_table)
    selects = []
    for _, table, column, _ in parts:
        if table == "applicant":
            inner = (
                f"SELECT o.id AS order_id FROM {order} o WHERE o.user_phone = %s AND o.id <> %s AND o.user_phone <> %s "
                f"AND o.{q('sandbox')} = %s"
            )
        else:
            inner = (
                f"SELECT DISTINCT x.order_id AS order_id FROM {tables[table]} x JOIN {order} o ON o.id = x.order_id "
                f"WHERE x.{q(column)} = %s AND x.order_id <> %s AND o.user_phone <> %s AND o.{q('sandbox')} = %s"
            )
        selects.append(f"SELECT %s AS code, p.order_id FROM ({inner} ORDER BY 1 DESC LIMIT %s) AS p")
    related = " UNION ALL ".join(selects)
    return (
        f"WITH related (code, order_id) AS ({related}), found AS (SELECT DISTINCT code, order_id FROM related) "
        "SELECT code, 0 AS listed, COUNT(*), NULL, NULL, NULL FROM found GROUP BY code "
        "UNION ALL "
        "SELECT r.code, 1, o.id, o.order_no, o.review_status, i.code FROM ("
        "SELECT code, order_id, ROW_NUMBER() OVER (PARTITION BY code ORDER BY order_id DESC) AS n FROM found"
        f") AS r JOIN {order} o ON o.id = r.order_id JOIN {institution} i ON i.id = o.institution_id "
        "WHERE r.n <= %s"
    )


def signal_links(*, order_id: int, applicant: str, sandbox: bool, signals: list[RiskSignal]) -> dict[str, Links]:
    """The linked orders of each relational signal of one order, by code: one query, none without such signals.

    `applicant` is the order's applicant phone: orders of the same applicant are
    never linked (as at computation time); nor are orders on the other side of
    the sandbox line (`sandbox`: the order's own flag), as in the look-ups."""
    parts = [(signal.code, *part) for signal in signals for part in _parts(signal, applicant)]
    if not parts:
        return {}
    params: list = []
    for code, _, _, value in parts:
        params += [code, value, order_id, applicant, sandbox, COUNT_LIMIT]
    links: dict[str, Links] = {}
    with connection.cursor() as cursor:
        cursor.execute(_statement(parts), [*params, SHOWN_LIMIT])
        rows = cursor.fetchall()
    for code, listed, number, order_no, review_status, institution_code in rows:
        found = links.setdefault(code, Links())
        if not listed:
            found.count = number
            continue
        linked = Order(pk=number, order_no=order_no, review_status=review_status)
        linked.institution = Institution(code=institution_code)
        found.orders.append(linked)
    for found in links.values():
        found.orders.sort(key=lambda linked: -linked.pk)
    return links
