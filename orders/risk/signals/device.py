"""Signals about the device: shared with other applicants' orders, rooted or jailbroken, an emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orders.risk.detection import Detection, grouped_links, via_facts

if TYPE_CHECKING:
    from orders.risk.config import RiskConfig
    from orders.risk.facts import OrderFacts
    from orders.risk.lookups import Lookups


def shared_device(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    matches = lookups.device_matches
    if not matches:
        return None
    links = grouped_links(
        (order_id, (name, facts.device_identifiers[name])) for order_id, _, names in matches for name in names
    )
    matched = {name for _, _, names in matches for name in names}
    return Detection(
        {
            "identifiers": [
                [name, facts.device_identifiers[name]] for name in facts.device_identifiers if name in matched
            ],
            "applicants": len({phone for _, phone, _ in matches}),
            "via": via_facts(links),
        },
        links,
    )


def rooted_device(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    if facts.is_root is not True:
        return None
    return Detection({})


def simulator(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    if facts.is_simulator is not True:
        return None
    return Detection({})
