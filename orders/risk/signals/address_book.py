"""Signals about the applicant's address book itself: too few entries, or too few mobile numbers."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from orders.risk.detection import Detection

if TYPE_CHECKING:
    from orders.risk.config import RiskConfig
    from orders.risk.facts import OrderFacts
    from orders.risk.lookups import Lookups


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
