"""Reasons of stored signals, written from their facts for the viewing user in the active language."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.utils.translation import get_language, gettext, ngettext

from orders.choices import ContactPriority
from orders.models import RiskSignal
from orders.pii import DEVICE_IDENTIFIERS, Kind, mask, shown
from orders.risk.detection import PHONE

logger = logging.getLogger(__name__)


def _shown(user, kind: Kind, value: str) -> str:
    """Personal data in a reason as `user` may see it on one order's page (masked without a user)."""
    return shown(user, kind, value) if user is not None else mask(kind, value)


def _join(items: Iterable[str]) -> str:
    return ("、" if (get_language() or "").startswith("zh") else ", ").join(items)


def _via_text(user, via: Iterable[Sequence[str]]) -> str:
    """`deviceId 3f2a…, IMEI 8612…` or `138****0000`: what relates the orders, masked per the policy."""
    parts = []
    for kind, value in via:
        if kind == PHONE:
            parts.append(_shown(user, Kind.PHONE, value))
        else:
            parts.append(f"{DEVICE_IDENTIFIERS.get(kind, kind)} {_shown(user, Kind.DEVICE_ID, value)}")
    return _join(parts)


def _contacts_text(priorities: Sequence[int], *, one: dict[int, str], both: str) -> str:
    priorities = sorted(set(priorities))
    return both if len(priorities) > 1 else one.get(priorities[0], both) if priorities else ""


def _linked_reason(code: str, params: dict, user) -> str:
    count, via = params.get("orders", 0), _via_text(user, params.get("via", []))
    if code == "shared_device":
        return ngettext(
            "This device (%(via)s) is also used by %(count)d other order.",
            "This device (%(via)s) is also used by %(count)d other orders.",
            count,
        ) % {"via": via, "count": count}
    if code == "shared_emergency_contact":
        return ngettext(
            "The emergency contact %(via)s is also an emergency contact on %(count)d other order.",
            "The emergency contact %(via)s is also an emergency contact on %(count)d other orders.",
            count,
        ) % {"via": via, "count": count}
    return ngettext(
        "Linked to %(count)d other order through the number %(via)s.",
        "Linked to %(count)d other orders through the number %(via)s.",
        count,
    ) % {"via": via, "count": count}


def _shared_device(params: dict, user) -> list[str]:
    count = params.get("applicants", 0)
    identifiers = _via_text(user, params.get("identifiers", []))
    return [
        ngettext(
            "This device (%(identifiers)s) was also used in the orders of %(count)d other applicant.",
            "This device (%(identifiers)s) was also used in the orders of %(count)d other applicants.",
            count,
        )
        % {"identifiers": identifiers, "count": count}
    ]


def _phone_in_other_contacts(params: dict, user) -> list[str]:
    phone = _shown(user, Kind.PHONE, params.get("phone", ""))
    sentences = []
    if count := params.get("as_contact"):
        sentences.append(
            ngettext(
                "The applicant's phone %(phone)s is an emergency contact on %(count)d order of another applicant.",
                "The applicant's phone %(phone)s is an emergency contact on %(count)d orders of other applicants.",
                count,
            )
            % {"phone": phone, "count": count}
        )
    if count := params.get("in_books"):
        sentences.append(
            ngettext(
                "The applicant's phone %(phone)s is in the address book of %(count)d order of another applicant.",
                "The applicant's phone %(phone)s is in the address books of %(count)d orders of other applicants.",
                count,
            )
            % {"phone": phone, "count": count}
        )
    if count := params.get("applicants"):
        phones = _join(_shown(user, Kind.PHONE, number) for number in params.get("applicant_phones", []))
        sentences.append(
            ngettext(
                "%(count)d number in this order's emergency contacts or address book (%(phones)s) "
                "is the phone of another order's applicant.",
                "%(count)d numbers in this order's emergency contacts or address book (%(phones)s) "
                "are the phones of other orders' applicants.",
                count,
            )
            % {"phones": phones, "count": count}
        )
    return sentences


def _shared_emergency_contact(params: dict, user) -> list[str]:
    return [
        ngettext(
            "The emergency contact %(phone)s is also the emergency contact of %(count)d other applicant.",
            "The emergency contact %(phone)s is also the emergency contact of %(count)d other applicants.",
            count,
        )
        % {"phone": _shown(user, Kind.PHONE, phone), "count": count}
        for phone, count in params.get("contacts", [])
    ]


def _contact_is_applicant(params: dict, user) -> list[str]:
    return [
        _contacts_text(
            params.get("contacts", []),
            one={
                ContactPriority.PRIMARY: gettext("The first emergency contact has the applicant's own number."),
                ContactPriority.SPARE: gettext("The second emergency contact has the applicant's own number."),
            },
            both=gettext("Both emergency contacts have the applicant's own number."),
        )
    ]


def _duplicate_contacts(params: dict, user) -> list[str]:
    phones = _join(_shown(user, Kind.PHONE, phone) for phone in params.get("phones", []))
    return [gettext("Both emergency contacts have the same number, %(phone)s.") % {"phone": phones}]


def _contact_not_in_address_book(params: dict, user) -> list[str]:
    return [
        _contacts_text(
            params.get("contacts", []),
            one={
                ContactPriority.PRIMARY: gettext(
                    "The first emergency contact's number is not in the applicant's address book."
                ),
                ContactPriority.SPARE: gettext(
                    "The second emergency contact's number is not in the applicant's address book."
                ),
            },
            both=gettext("Neither emergency contact's number is in the applicant's address book."),
        )
    ]


def _rooted_device(params: dict, user) -> list[str]:
    return [gettext("The device is rooted or jailbroken.")]


def _simulator(params: dict, user) -> list[str]:
    return [gettext("The application came from an emulator or simulator.")]


def _thin_address_book(params: dict, user) -> list[str]:
    if "size" in params:
        size = params["size"]
        return [
            ngettext(
                "The address book has only %(count)d entry (fewer than %(minimum)d).",
                "The address book has only %(count)d entries (fewer than %(minimum)d).",
                size,
            )
            % {"count": size, "minimum": params.get("minimum", 0)}
        ]
    return [
        gettext("Only %(percent)d%% of the address book are mobile numbers (below %(threshold)d%%).")
        % {"percent": params.get("percent", 0), "threshold": params.get("threshold", 0)}
    ]


# The sentences of each signal's own reason (`(params, user) -> sentences`), by code.
_SENTENCES: dict[str, Callable[[dict, Any], list[str]]] = {
    "shared_device": _shared_device,
    "phone_in_other_contacts": _phone_in_other_contacts,
    "shared_emergency_contact": _shared_emergency_contact,
    "contact_is_applicant": _contact_is_applicant,
    "duplicate_contacts": _duplicate_contacts,
    "contact_not_in_address_book": _contact_not_in_address_book,
    "rooted_device": _rooted_device,
    "simulator": _simulator,
    "thin_address_book": _thin_address_book,
}


def _reason_sentences(code: str, params: dict, user, linked_count: int | None) -> list[str]:
    """The reason of signal `code` from its facts, one sentence per finding, in the active language.

    `linked_count`: how many other orders the signal relates its order to now
    (`orders.risk.links`, derived when read). A row another order created
    (`linked`) says that; an order's own finding is told as found, until more
    orders than it found relate to it and the count tells more than its facts.
    """
    if params.get("purged"):
        return [gettext("This device was shared with other applicants; its identifiers were purged after retention.")]
    found = params.get("orders")
    if params.get("linked") or (linked_count is not None and found is not None and linked_count > found):
        count = linked_count if linked_count is not None else params.get("orders", 0)
        return [_linked_reason(code, {**params, "orders": count}, user)]
    sentences = _SENTENCES.get(code)
    return sentences(params, user) if sentences else []


def signal_reason(signal: RiskSignal, user=None, linked_count: int | None = None) -> str:
    """The reason of `signal` in the active language, for `user` on one order's page: phones and device
    identifiers clear for holders of the personal-data permission, masked per `orders.pii` for everyone
    else (and without a user). `linked_count`: the other orders it relates to, derived when read (see
    `_reason_sentences`). Rows stored before reasons had facts show their stored text."""
    if signal.params is None:
        return signal.reason_zh if (get_language() or "").startswith("zh") else signal.reason_en
    try:
        separator = "" if (get_language() or "").startswith("zh") else " "  # Chinese puts no space after 。
        return separator.join(_reason_sentences(signal.code, signal.params, user, linked_count))
    except (TypeError, ValueError, KeyError, AttributeError):
        # Facts of an unexpected shape (written by a later version, say) must not break the order page.
        logger.warning("Risk signal %s has facts of an unexpected shape", signal.pk)
        return ""
