"""Signals about the order's own emergency contacts: the applicant's number, repeated, not in the address book."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orders.risk.detection import Detection

if TYPE_CHECKING:
    from orders.risk.config import RiskConfig
    from orders.risk.facts import OrderFacts
    from orders.risk.lookups import Lookups


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
