"""Locks of the signal writers: one per identifier two orders can share, so only computations that conflict wait.

A computation (one order's job, `compute.risk_signals_for_order`) locks, before
its look-ups, every identifier its order can share with another order's and
through which a signal links them: each compared device identifier (shared_device),
the applicant's phone and each emergency contact's phone (phone_in_other_contacts,
shared_emergency_contact; one `phone` key whatever the role, since an applicant's
phone meets another order's contact). Two computations sharing one of these take
turns: the second waits for the first to commit and then sees what it wrote.
Computations sharing nothing never wait for each other.

Address-book phones take no lock. A book holds up to thousands of numbers (a
lock each would fill PostgreSQL's lock table), and the relation it carries,
phone_in_other_contacts between the book's order and the order whose applicant
has that phone, needs none: a computation never removes a signal row another
computation created (`compute._write_pending`), both orders' look-ups find each
other, and whichever computation runs after both pushes committed writes the
signal on both orders.

Recomputing stored orders (backfill, `risk_signals_compute`) replaces what the
orders hold, including rows other orders' computations created, so it must not
interleave with any computation: every computation holds a shared lock on one
gate key (shared holders never wait for each other) and a recompute batch holds
it exclusively, pausing computations for the length of one batch.

All keys go in one statement, in one sorted order (no deadlock), each tried
first (`pg_try_advisory_xact_lock`); one that is held elsewhere records one wait
(`nextval` of a sequence: outside the transaction, visible at once to every
process, no row to contend on) before blocking on it. Locks last until the
transaction ends. SQLite needs none: its transactions take the database's
write lock at BEGIN (IMMEDIATE).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import connection

from orders.risk.detection import PHONE

# The sequence counting waits (created by migration orders.0009 on PostgreSQL).
WAITS_SEQUENCE = "orders_risk_signal_lock_waits"
# Any 64-bit number no other advisory lock of the database uses: "RISKGATE".
GATE_KEY = 0x5249534B_47415445

_LOCK_SQL = f"""
SELECT coalesce(sum(CASE
    WHEN CASE WHEN t.shared THEN pg_try_advisory_xact_lock_shared(t.k) ELSE pg_try_advisory_xact_lock(t.k) END
    THEN 0
    ELSE (SELECT 1 FROM (SELECT nextval('{WAITS_SEQUENCE}'),
                                CASE WHEN t.shared THEN pg_advisory_xact_lock_shared(t.k)
                                     ELSE pg_advisory_xact_lock(t.k) END) AS waited)
END), 0)
FROM unnest(%s::bigint[], %s::boolean[]) WITH ORDINALITY AS t(k, shared, n)
"""


def identifier_key(kind: str, value: str) -> int:
    """The advisory-lock key of an identifier (`imei`, `phone`...): 64 bits of its hash, signed as bigint wants."""
    digest = hashlib.blake2b(f"{kind}\x1f{value}".encode(), digest_size=8, person=b"risk-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


def order_lock_keys(*, device_identifiers: dict[str, str], phones: Iterable[str]) -> list[int]:
    """The sorted keys of what an order can share with another: its device identifiers and phones."""
    keys = {identifier_key(name, value) for name, value in device_identifiers.items()}
    keys |= {identifier_key(PHONE, phone) for phone in phones if phone}
    keys.discard(GATE_KEY)
    return sorted(keys)


def _lock(keys: list[int], shared: list[bool]) -> int:
    if connection.vendor != "postgresql" or not keys:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [keys, shared])
        return cursor.fetchone()[0]


def lock_identifiers(keys: list[int]) -> int:
    """Lock the gate (shared) and `keys` (sorted) until the transaction ends; returns how many had to wait."""
    return _lock([GATE_KEY, *sorted(keys)], [True] + [False] * len(keys))


def lock_all_writers() -> int:
    """Lock the gate exclusively until the transaction ends (a recompute): no computation runs meanwhile."""
    return _lock([GATE_KEY], [False])


def signal_lock_waits() -> int:
    """Waits recorded since the database was created (0 on SQLite): compare two readings."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {WAITS_SEQUENCE}")
        return cursor.fetchone()[0]
