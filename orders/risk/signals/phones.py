"""Signals about phone numbers that relate orders of different applicants (contacts, address books, applicants)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from orders.risk.detection import PHONE, VIA_LIMIT, Detection, grouped_links, via_facts

if TYPE_CHECKING:
    from orders.risk.config import RiskConfig
    from orders.risk.facts import OrderFacts
    from orders.risk.lookups import Lookups


def phone_in_other_contacts(facts: OrderFacts, lookups: Lookups, config: RiskConfig) -> Detection | None:
    as_contact = [link for link in lookups.contact_links if link.phone == facts.user_phone]
    in_books = lookups.book_links
    applicants = lookups.applicant_links
    if not (as_contact or in_books or applicants):
        return None
    links = grouped_links(
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
            "via": via_facts(links),
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
    links = grouped_links((link.order_id, (PHONE, phone)) for phone, found in shared.items() for link in found)
    return Detection(
        {
            "contacts": [
                [phone, len({link.other_applicant for link in found})] for phone, found in sorted(shared.items())
            ],
            "via": via_facts(links),
        },
        links,
    )
