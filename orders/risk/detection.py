"""What a signal function returns (`Detection`): the facts of its reason and the orders it links, and through what."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

# What relates two orders, as stored in a reason's facts: `["phone", number]` or `[identifier, value]`
# with an identifier name of `orders.pii.DEVICE_IDENTIFIERS`. A reason keeps at most this many.
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


def grouped_links(pairs: Iterable[tuple[int, tuple[str, str]]]) -> dict[int, frozenset[tuple[str, str]]]:
    """The links of a detection: `(order id, (kind, value))` pairs grouped by order."""
    grouped = defaultdict(set)
    for order_id, via in pairs:
        grouped[order_id].add(via)
    return {order_id: frozenset(vias) for order_id, vias in grouped.items()}


def via_facts(links: dict[int, frozenset[tuple[str, str]]]) -> list[list[str]]:
    """Everything that relates the linked orders, for the reason's facts (sorted, capped)."""
    return [list(via) for via in sorted({via for vias in links.values() for via in vias})[:VIA_LIMIT]]
