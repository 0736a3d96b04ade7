"""Risk settings: `settings.RISK_SIGNALS` over the defaults (`DEFAULTS`), checked into a `RiskConfig`."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from orders.choices import RiskSeverity
from orders.risk.registry import SIGNALS

# Every key of `settings.RISK_SIGNALS`, with its value when the settings leave it out.
DEFAULTS = {
    "SEVERITY": {
        "shared_device": RiskSeverity.HIGH,
        "phone_in_other_contacts": RiskSeverity.MEDIUM,
        "shared_emergency_contact": RiskSeverity.MEDIUM,
        "contact_is_applicant": RiskSeverity.HIGH,
        "duplicate_contacts": RiskSeverity.MEDIUM,
        "contact_not_in_address_book": RiskSeverity.LOW,
        "rooted_device": RiskSeverity.MEDIUM,
        "simulator": RiskSeverity.HIGH,
        "thin_address_book": RiskSeverity.LOW,
    },
    "DISABLED": (),
    "THIN_ADDRESS_BOOK_MIN_ENTRIES": 10,
    "THIN_ADDRESS_BOOK_MIN_MOBILE_SHARE": 0.5,
    # Most orders a look-up finds per identifier (and so the most earlier orders one job flags).
    "LINKED_ORDERS_LIMIT": 100,
    # Placeholders that many devices report (iOS with ad tracking limited, a known
    # Android bug): matching on them would link strangers. All-zero values are ignored too.
    "IGNORED_DEVICE_IDENTIFIERS": ("unknown", "null", "none", "undefined", "9774d56d682e549c"),
}


@dataclass(frozen=True)
class RiskConfig:
    """`settings.RISK_SIGNALS` over the defaults, checked once per computation."""

    severity: dict[str, str]
    disabled: frozenset[str]
    thin_min_entries: int
    thin_min_mobile_share: float
    linked_limit: int
    ignored_identifiers: frozenset[str]

    @classmethod
    def from_settings(cls) -> RiskConfig:
        configured = getattr(settings, "RISK_SIGNALS", {})
        unknown_keys = set(configured) - set(DEFAULTS)
        if unknown_keys:
            raise ImproperlyConfigured(f"RISK_SIGNALS has unknown keys: {sorted(unknown_keys)}")
        merged = {**DEFAULTS, **configured}
        severity = {**DEFAULTS["SEVERITY"], **configured.get("SEVERITY", {})}
        for code, level in severity.items():
            if code not in SIGNALS:
                raise ImproperlyConfigured(f"RISK_SIGNALS['SEVERITY'] names an unknown signal: {code!r}")
            if level not in RiskSeverity.values:
                raise ImproperlyConfigured(f"RISK_SIGNALS['SEVERITY'][{code!r}] must be one of {RiskSeverity.values}")
        disabled = frozenset(merged["DISABLED"])
        if disabled - set(SIGNALS):
            raise ImproperlyConfigured(
                f"RISK_SIGNALS['DISABLED'] names unknown signals: {sorted(disabled - set(SIGNALS))}"
            )
        if merged["LINKED_ORDERS_LIMIT"] < 1:
            raise ImproperlyConfigured("RISK_SIGNALS['LINKED_ORDERS_LIMIT'] must be at least 1")
        return cls(
            severity=severity,
            disabled=disabled,
            thin_min_entries=int(merged["THIN_ADDRESS_BOOK_MIN_ENTRIES"]),
            thin_min_mobile_share=float(merged["THIN_ADDRESS_BOOK_MIN_MOBILE_SHARE"]),
            linked_limit=int(merged["LINKED_ORDERS_LIMIT"]),
            ignored_identifiers=frozenset(value.lower() for value in merged["IGNORED_DEVICE_IDENTIFIERS"]),
        )

    def identifier_is_meaningful(self, value: str) -> bool:
        value = value.strip()
        return bool(value.strip("0-:")) and value.lower() not in self.ignored_identifiers
