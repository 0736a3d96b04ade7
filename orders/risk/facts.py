"""What an order itself says that the signals read (`OrderFacts`), from a validated push or from the database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Q

from orders.models import AddressBookEntry, Contact, Device, Order

if TYPE_CHECKING:
    from orders.risk.config import RiskConfig
    from orders.validated_push import ValidatedPush

# The device identifiers (of `orders.pii.DEVICE_IDENTIFIERS`) compared across orders: those with a
# partial index on Device, in the order a reason names them.
COMPARED_IDENTIFIERS = ("device_id", "imei", "android_id", "idfa", "idfv")


@dataclass(frozen=True)
class OrderFacts:
    """One order's own data that the signals read; built without queries from a push."""

    order_id: int
    user_phone: str
    device_identifiers: dict[str, str]
    is_root: bool | None
    is_simulator: bool | None
    # (priority, mobile) in priority order.
    contacts: tuple[tuple[int, str], ...]
    book_size: int
    book_mobile_count: int
    # The contact mobiles that the applicant's own address book holds.
    contacts_in_book: frozenset[str]

    @property
    def contact_mobiles(self) -> list[str]:
        return [mobile for _, mobile in self.contacts]

    @classmethod
    def from_push(cls, *, order: Order, push: ValidatedPush, config: RiskConfig) -> OrderFacts:
        contacts = tuple((contact["priority"], contact["mobile"]) for contact in push.contacts)
        mobiles = {mobile for _, mobile in contacts}
        in_book, mobile_count = set(), 0
        for entry in push.address_book:
            mobile_count += entry.is_mobile
            if entry.phone_digits in mobiles:
                in_book.add(entry.phone_digits)
        return cls(
            order_id=order.pk,
            user_phone=order.user_phone,
            device_identifiers=_identifiers(push.device, config),
            is_root=push.device.get("is_root"),
            is_simulator=push.device.get("is_simulator"),
            contacts=contacts,
            book_size=len(push.address_book),
            book_mobile_count=mobile_count,
            contacts_in_book=frozenset(in_book),
        )


def _identifiers(device: dict | Device | None, config: RiskConfig) -> dict[str, str]:
    if device is None:
        return {}
    get = device.get if isinstance(device, dict) else lambda name: getattr(device, name)
    values = {name: (get(name) or "") for name in COMPARED_IDENTIFIERS}
    return {name: value for name, value in values.items() if config.identifier_is_meaningful(value)}


def facts_from_database(orders: Sequence[Order], config: RiskConfig) -> list[OrderFacts]:
    """Facts of stored orders (fetched with `device` and `contacts`), in two queries per batch."""
    order_ids = [order.pk for order in orders]
    book_stats = {
        row["order_id"]: row
        for row in AddressBookEntry.objects.filter(order_id__in=order_ids)
        .values("order_id")
        .annotate(size=Count("id"), mobiles=Count("id", filter=Q(is_mobile=True)))
        .order_by()
    }
    mobiles = {contact.mobile for order in orders for contact in order.contacts.all()}
    in_book = defaultdict(set)
    if mobiles:
        for order_id, digits in AddressBookEntry.objects.filter(
            order_id__in=order_ids, phone_digits__in=mobiles
        ).values_list("order_id", "phone_digits"):
            in_book[order_id].add(digits)
    facts = []
    for order in orders:
        device = getattr(order, "device", None)
        stats = book_stats.get(order.pk, {"size": 0, "mobiles": 0})
        facts.append(
            OrderFacts(
                order_id=order.pk,
                user_phone=order.user_phone,
                device_identifiers=_identifiers(device, config),
                is_root=device.is_root if device else None,
                is_simulator=device.is_simulator if device else None,
                contacts=tuple(
                    (contact.priority, contact.mobile) for contact in sorted(order.contacts.all(), key=_by_priority)
                ),
                book_size=stats["size"],
                book_mobile_count=stats["mobiles"],
                contacts_in_book=frozenset(in_book[order.pk]),
            )
        )
    return facts


def _by_priority(contact: Contact) -> int:
    return contact.priority
