"""Computing and writing signals: after a push, for one stored order, and in batches (backfill, sweep)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from orders.models import Order, RiskSignal
from orders.risk.config import RiskConfig
from orders.risk.detection import VIA_LIMIT, Detection
from orders.risk.facts import OrderFacts, facts_from_database
from orders.risk.locks import lock_all_writers, lock_identifiers, order_lock_keys
from orders.risk.lookups import Lookups
from orders.risk.registry import SIGNALS

logger = logging.getLogger(__name__)


@dataclass
class _Finding:
    order_id: int
    code: str
    detection: Detection
    # The relational signals each linked order already holds (`Lookups.held`): those are not written again.
    held: dict[int, set[str]]


def _detect(facts: OrderFacts, config: RiskConfig) -> list[_Finding]:
    lookups = Lookups(facts, config)
    findings = []
    for code, signal in SIGNALS.items():
        if code in config.disabled:
            continue
        detection = signal.detect(facts, lookups, config)
        if detection is not None:
            findings.append(_Finding(facts.order_id, code, detection, lookups.held))
    return findings


def risk_signals_for_order(*, order_id: int) -> bool:
    """Write the signals of a pushed order if they are still pending; returns whether it wrote them.

    The job of every push (`orders.risk.tasks`), run by a worker after the
    push's commit, so it sees every order committed before it. It locks what
    its order can share with others (`locks.lock_identifiers`) before its
    look-ups, so a computation sharing one of them waits and then sees its
    writes, while unrelated ones run side by side. It does nothing once the
    order is no longer `risk_pending` (another run of the same job, or the
    sweep, came first), and running it twice writes the same rows: an order
    ends with one signal set however often its job ran. A database error
    propagates, for the job to retry.
    """
    config = RiskConfig.from_settings()
    with transaction.atomic():
        order = _with_facts(Order.objects.filter(pk=order_id, risk_pending=True)).first()
        if order is None:
            return False
        (facts,) = facts_from_database([order], config)
        lock_identifiers(
            order_lock_keys(
                device_identifiers=facts.device_identifiers, phones=[facts.user_phone, *facts.contact_mobiles]
            )
        )
        _write_pending(_detect(facts, config), order_id=order_id, config=config)
        Order.objects.filter(pk=order_id).update(risk_pending=False, risk_computed_at=timezone.now())
    return True


@transaction.atomic(savepoint=False)
def risk_signals_compute(*, order: Order) -> list[RiskSignal]:
    """Recompute one stored order's signals, replacing what it had, and flag the orders it links to."""
    config = RiskConfig.from_settings()
    lock_all_writers()
    return _recompute_stored([_with_facts(Order.objects.filter(pk=order.pk)).get()], config)


def risk_signals_recompute(
    *, queryset: QuerySet[Order], batch_size: int = 200, progress: Callable[[int, int], None] | None = None
) -> int:
    """Recompute the signals of every order in `queryset`, a batch per transaction; returns the count.

    Each batch replaces what its orders hold, so it holds every signal writer
    off while it runs (`locks.lock_all_writers`): computations wait for at most
    one batch. An order of the queryset that its push's job wrote meanwhile (a
    sweep of pending orders) is read and written again within its batch, with
    the same result.
    """
    config = RiskConfig.from_settings()
    total = queryset.count()
    done, last_pk = 0, 0
    while True:
        with transaction.atomic():
            lock_all_writers()
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

    The caller's transaction holds every writer off (`locks.lock_all_writers`)
    since before it read the orders, so their `risk_pending` is current and
    nothing writes on their signals between the look-ups and the writes.
    """
    findings = [finding for facts in facts_from_database(orders, config) for finding in _detect(facts, config)]
    order_ids = {order.pk for order in orders}
    now = timezone.now()
    RiskSignal.objects.filter(order_id__in=order_ids).delete()
    signals = RiskSignal.objects.bulk_create([_own_row(finding, config, now) for finding in findings])
    # An order recomputed in the same batch already holds its own rows.
    _flag_linked(
        {key: via for key, via in _linked(findings).items() if key[0] not in order_ids}, config=config, now=now
    )
    pending = [order.pk for order in orders if order.risk_pending]
    if pending:
        Order.objects.filter(pk__in=pending).update(risk_pending=False, risk_computed_at=timezone.now())
    return signals


def _own_params(detection: Detection) -> dict:
    # How many orders it linked when computed: the order page tells later ones apart (`reasons`).
    return {**detection.params, "orders": len(detection.links)} if detection.links else detection.params


def _own_row(finding: _Finding, config: RiskConfig, now) -> RiskSignal:
    return RiskSignal(
        order_id=finding.order_id,
        code=finding.code,
        severity=config.severity[finding.code],
        params=_own_params(finding.detection),
        computed_at=now,
    )


def _linked(findings: list[_Finding]) -> dict[tuple[int, str], set[tuple[str, str]]]:
    """(linked order, code) -> what relates it to the computed orders, for each linked order lacking the signal.

    Once the orders sharing an identifier hold the signal (from the second
    applicant on), this is empty: a later order writes nothing on them."""
    linked = defaultdict(set)
    for finding in findings:
        for order_id, via in finding.detection.links.items():
            if finding.code not in finding.held.get(order_id, ()):
                linked[(order_id, finding.code)] |= via
    return linked


def _linked_row(order_id: int, code: str, via: set[tuple[str, str]], config: RiskConfig, now) -> RiskSignal:
    """The signal a linked order gets when it lacks it: what relates the orders, and no count.

    The count of related orders and the list of them are derived when the
    order is shown (`orders.risk.links`), so no later order rewrites this row.
    """
    params = {"linked": True, "via": [list(item) for item in sorted(via)][:VIA_LIMIT]}
    return RiskSignal(order_id=order_id, code=code, severity=config.severity[code], params=params, computed_at=now)


def _flag_linked(linked: dict[tuple[int, str], set[tuple[str, str]]], *, config: RiskConfig, now) -> None:
    """Give each linked order the signal if it lacks it: one INSERT that leaves existing rows alone."""
    if linked:
        RiskSignal.objects.bulk_create(
            [_linked_row(order_id, code, via, config, now) for (order_id, code), via in sorted(linked.items())],
            ignore_conflicts=True,
        )


def _write_pending(findings: list[_Finding], *, order_id: int, config: RiskConfig) -> None:
    """Write a pending order's signals and flag the orders it links to, in a constant number of statements.

    Nothing is deleted: a pending order holds only rows that other orders'
    computations created on it, and those stay (an order whose push committed
    after this one's look-ups wrote them). Rows already held are left as they
    are on linked orders (no later order rewrites an earlier one's rows, so the
    work does not grow with how many orders share an identifier), and take this
    order's own facts on the order itself. The first INSERT takes its rows in
    one sorted order (order, code), so two computations inserting on each other
    wait for one another instead of deadlocking.
    """
    if not findings:
        return
    now = timezone.now()
    own = {finding.code: finding for finding in findings}
    rows = {(order_id, code): _own_row(finding, config, now) for code, finding in own.items()}
    for (linked_id, code), via in _linked(findings).items():
        rows.setdefault((linked_id, code), _linked_row(linked_id, code, via, config, now))
    RiskSignal.objects.bulk_create([rows[key] for key in sorted(rows)], ignore_conflicts=True)
    RiskSignal.objects.bulk_create(
        [_own_row(finding, config, now) for finding in own.values()],
        update_conflicts=True,
        unique_fields=["order", "code"],
        update_fields=["severity", "params", "computed_at"],
    )
