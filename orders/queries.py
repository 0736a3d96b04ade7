"""The old import path of the filtered-order reads, merged into `orders.selectors`; new code imports from there."""

from orders.selectors import (
    InvalidFiltersError,
    address_book_of,
    contacts_of,
    order_detail_queryset,
    order_filter,
    order_list,
    orders_for_export,
    with_list_columns,
)

__all__ = [
    "InvalidFiltersError",
    "address_book_of",
    "contacts_of",
    "order_detail_queryset",
    "order_filter",
    "order_list",
    "orders_for_export",
    "with_list_columns",
]
