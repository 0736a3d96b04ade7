"""Reads of the orders domain, one module per concern; the names callers use are re-exported here.

orders: the FilterSet's choice, the search, list/detail/export rows, reviewers. dossier: the order page.
pushes: push log rows with bounded bodies. The old names of the export rows and list columns stay importable.
"""

from orders.selectors.dossier import (
    ADDRESS_BOOK_PREVIEW,
    DEVICE_EXTRA_ROWS_LIMIT,
    FieldRow,
    OrderDossier,
    RiskSignalItem,
    order_dossier,
    order_risk_signals,
)
from orders.selectors.orders import (
    MIN_PHONE_SEARCH_DIGITS,
    InvalidFiltersError,
    address_book_export_rows,
    contact_export_rows,
    is_production_only,
    order_detail_queryset,
    order_export_rows,
    order_filter,
    order_list,
    order_list_columns,
    order_review_queue,
    order_search,
    reviewer_queryset,
    table_row_estimate,
)
from orders.selectors.pushes import (
    PUSH_ERRORS_PREVIEW_CHARS,
    PushHistoryItem,
    order_push_history,
    push_body_pretty,
    push_log_order_ids,
    push_logs_bounded,
)

__all__ = [
    "ADDRESS_BOOK_PREVIEW",
    "DEVICE_EXTRA_ROWS_LIMIT",
    "MIN_PHONE_SEARCH_DIGITS",
    "PUSH_ERRORS_PREVIEW_CHARS",
    "FieldRow",
    "InvalidFiltersError",
    "OrderDossier",
    "PushHistoryItem",
    "RiskSignalItem",
    "address_book_export_rows",
    "contact_export_rows",
    "is_production_only",
    "order_detail_queryset",
    "order_dossier",
    "order_export_rows",
    "order_filter",
    "order_list",
    "order_list_columns",
    "order_push_history",
    "order_review_queue",
    "order_risk_signals",
    "order_search",
    "push_body_pretty",
    "push_log_order_ids",
    "push_logs_bounded",
    "reviewer_queryset",
    "table_row_estimate",
]
