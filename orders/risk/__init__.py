"""Risk signals (`compute` holds them all until they are carved into one module per concern)."""

from orders.risk.compute import (
    DEFAULTS,
    SIGNAL_CODES,
    SIGNALS,
    RiskConfig,
    filter_by_flag,
    risk_flags_annotation,
    risk_flags_of,
    risk_signals_after_push,
    risk_signals_compute,
    risk_signals_recompute,
    signal_choices,
    signal_reason,
)

__all__ = [
    "DEFAULTS",
    "SIGNALS",
    "SIGNAL_CODES",
    "RiskConfig",
    "filter_by_flag",
    "risk_flags_annotation",
    "risk_flags_of",
    "risk_signals_after_push",
    "risk_signals_compute",
    "risk_signals_recompute",
    "signal_choices",
    "signal_reason",
]
