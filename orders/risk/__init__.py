"""Risk signals: what links an order to other applicants' orders, computed after each push and by backfill.

When: each push records a job in its own transaction (`tasks.risk_signals_job`,
on the `signals` queue of the job engine); a worker runs `risk_signals_for_order`
after the commit. The order is `risk_pending` until then, and the periodic sweep
(`tasks.risk_signals_sweep`) finishes any whose job was lost.
`risk_signals_recompute` is the backfill.

Locks (`locks`): a job locks its order's device identifiers and phones (applicant,
emergency contacts) before its look-ups, PostgreSQL advisory locks in one sorted
order: jobs sharing one take turns, the later seeing the earlier; unrelated jobs
never wait. Waits are counted (`locks.signal_lock_waits`). A recompute batch
holds every job off (it replaces what orders hold). SQLite needs no lock.

Each signal is one function `(facts, lookups, config) -> Detection | None` in
`signals/` (one module per family), registered once in `registry.SIGNALS`.
`facts` is what the order itself says (`facts.OrderFacts`, taken from the
validated push, so it costs no query); `lookups` runs the cross-order queries
lazily (`lookups.Lookups`, one indexed statement shared by every signal that
needs it), so the number of queries per order does not depend on the size of
its address book or of the tables.

Relations between orders are symmetric: when a new order links to an earlier
one, the earlier order gains the same signal if it lacks it, so the reviewer of
either sees it. Which orders a signal links to, and how many, is derived when
read (`links.signal_links`, through the look-ups' indexes), never stored per pair:
a job writes a fixed number of rows however many orders share its identifiers.
Thresholds and severities come from `settings.RISK_SIGNALS` over `config.DEFAULTS`.

Reasons are stored as facts (`RiskSignal.params`: which identifier or number
matched, which contact, how many orders) and written for the reader at read
time by `reasons.signal_reason(signal, user)`: in the active language, phones and
device identifiers clear for holders of the personal-data permission and masked
per `orders.pii` for everyone else.

Read side (admin, API, CSV, in `flags`): `risk_flags_annotation()` gives each
order's codes joined by `;`, `filter_by_flag(queryset, code)` keeps the orders
with a signal.
"""

from orders.risk.compute import risk_signals_compute, risk_signals_for_order, risk_signals_recompute
from orders.risk.config import DEFAULTS, RiskConfig
from orders.risk.detection import Detection
from orders.risk.facts import OrderFacts
from orders.risk.flags import RISK_FLAGS_SEPARATOR, filter_by_flag, risk_flags_annotation, risk_flags_of
from orders.risk.lookups import Lookups, PhoneLink
from orders.risk.reasons import signal_reason
from orders.risk.registry import SIGNAL_CODES, SIGNALS, Signal, signal_choices

__all__ = [
    "DEFAULTS",
    "RISK_FLAGS_SEPARATOR",
    "SIGNALS",
    "SIGNAL_CODES",
    "Detection",
    "Lookups",
    "OrderFacts",
    "PhoneLink",
    "RiskConfig",
    "Signal",
    "filter_by_flag",
    "risk_flags_annotation",
    "risk_flags_of",
    "risk_signals_compute",
    "risk_signals_for_order",
    "risk_signals_recompute",
    "signal_choices",
    "signal_reason",
]
