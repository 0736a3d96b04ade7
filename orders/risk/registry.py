"""The one place where signals are registered (`SIGNALS`): code, labels, detecting function, relational or not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import get_language

from orders.risk.detection import Detection
from orders.risk.signals.address_book import thin_address_book
from orders.risk.signals.contacts import contact_is_applicant, contact_not_in_address_book, duplicate_contacts
from orders.risk.signals.device import rooted_device, shared_device, simulator
from orders.risk.signals.phones import phone_in_other_contacts, shared_emergency_contact

if TYPE_CHECKING:
    from orders.risk.config import RiskConfig
    from orders.risk.facts import OrderFacts
    from orders.risk.lookups import Lookups


@dataclass(frozen=True)
class Signal:
    code: str
    label_zh: str
    label_en: str
    detect: Callable[[OrderFacts, Lookups, RiskConfig], Detection | None]
    relational: bool = False  # links other orders, and so is written on them too

    @property
    def label(self) -> str:
        return self.label_zh if (get_language() or "").startswith("zh") else self.label_en


# The one place where signals are registered; the order is the order of display.
SIGNALS: dict[str, Signal] = {
    signal.code: signal
    for signal in (
        Signal("shared_device", "设备共用", "Shared device", shared_device, relational=True),
        Signal(
            "phone_in_other_contacts",
            "出现在他人联系人中",
            "Phone in others' contacts",
            phone_in_other_contacts,
            relational=True,
        ),
        Signal(
            "shared_emergency_contact",
            "紧急联系人共用",
            "Shared emergency contact",
            shared_emergency_contact,
            relational=True,
        ),
        Signal("contact_is_applicant", "联系人是本人", "Contact is the applicant", contact_is_applicant),
        Signal("duplicate_contacts", "联系人重复", "Duplicate contacts", duplicate_contacts),
        Signal(
            "contact_not_in_address_book",
            "联系人不在通讯录",
            "Contact not in address book",
            contact_not_in_address_book,
        ),
        Signal("rooted_device", "设备已 root", "Rooted device", rooted_device),
        Signal("simulator", "模拟器", "Simulator", simulator),
        Signal("thin_address_book", "通讯录过少", "Thin address book", thin_address_book),
    )
}
SIGNAL_CODES: tuple[str, ...] = tuple(SIGNALS)


def signal_choices() -> list[tuple[str, str]]:
    """(code, label in the active language), for filters and forms."""
    return [(code, signal.label) for code, signal in SIGNALS.items()]
