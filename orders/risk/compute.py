"""Computing and writing signals: after a push, for one stored order, and in batches (backfill, sweep)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from orders.models import Order, RiskSignal
from orders.risk.config import RiskConfig
from orders.risk.detection import VIA_LIMIT, Detection
from orders.risk.facts import OrderFacts, facts_from_database
from orders.risk.lookups import Lookups
from orders.risk.registry import SIGNALS

logger = logging.getLogger(__name__)


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


def risk_signals_for_order(*, order_id: int) -> bool:
    """Write the signals of a pushed order if they are still pending; returns whether it wrote them.

    The job of every push (`orders.risk.tasks`), run by a worker after the
    push's commit, so it sees every order committed before it. It re-reads the
    order and does nothing once the order is no longer `risk_pending` (another
    run of the same job, or the sweep, came first): an order ends with one
    signal set however often its job ran. A database error propagates, for the
    job to retry.
    """
    config = RiskConfig.from_settings()
    with transaction.atomic():
        _serialize_signal_writers()
        order = _with_facts(Order.objects.filter(pk=order_id, risk_pending=True)).first()
        if order is None:
            return False
        _recompute_stored([order], config)
    return True


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
    """Orders fetched with what `facts_from_database` reads of them."""
    return queryset.select_related("device").prefetch_related("contacts")


def _recompute_stored(orders: list[Order], config: RiskConfig) -> list[RiskSignal]:
    """Replace the signals of stored orders (fetched by `_with_facts`) and clear their pending marks.

    The caller's transaction holds the writers' lock (`_serialize_signal_writers`)
    since before it read the orders, so their `risk_pending` is current.
    """
    findings = [finding for facts in facts_from_database(orders, config) for finding in _detect(facts, config)]
    signals = _write(findings, order_ids={order.pk for order in orders}, config=config)
    pending = [order.pk for order in orders if order.risk_pending]
    if pending:
        Order.objects.filter(pk__in=pending).update(risk_pending=False, risk_computed_at=timezone.now())
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
