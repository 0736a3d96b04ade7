"""Reads behind the analysts' API and exports: orders chosen by the shared FilterSet, and what hangs off them."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from orders.filters import OrderFilterSet
from orders.models import AddressBookEntry, Contact, Order
from orders.risk import risk_flags_annotation


class InvalidFiltersError(Exception):
    """Filter values that cannot be read; `errors` maps each parameter to its `ValidationError`s."""

    def __init__(self, errors: dict[str, list[ValidationError]]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def order_filter(*, params, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """Orders matching `params` (a QueryDict or dict of the FilterSet's parameters), newest first."""
    filterset = OrderFilterSet(data=params, queryset=Order.objects.all() if queryset is None else queryset)
    if not filterset.is_valid():
        raise InvalidFiltersError(dict(filterset.errors.as_data()))
    return filterset.qs


def order_list(*, params) -> QuerySet[Order]:
    """The list page: what one row shows comes in the same query."""
    return with_list_columns(order_filter(params=params))


def with_list_columns(orders: QuerySet[Order]) -> QuerySet[Order]:
    """`orders` with what a list row shows joined or computed in the same query, risk flags included."""
    return orders.select_related("institution", "device").annotate(risk_flags=risk_flags_annotation())


def order_detail_queryset() -> QuerySet[Order]:
    """One order with everything pushed with it: one query (risk flags included), plus one for the contacts."""
    return (
        Order.objects.select_related("institution", "device", "employer")
        .annotate(risk_flags=risk_flags_annotation())
        .prefetch_related("contacts")
    )


def orders_for_export(orders: QuerySet[Order]) -> QuerySet[Order]:
    """The orders CSV's rows: newest first, each with its risk flags (`;`-joined codes) in the same query."""
    return orders.annotate(risk_flags=risk_flags_annotation()).order_by("-received_at", "-id")


def contacts_of(orders: QuerySet[Order]) -> QuerySet[Contact]:
    """The emergency contacts of the given orders, grouped by order."""
    return Contact.objects.filter(order_id__in=orders.values("pk")).order_by("order_id", "priority")


def address_book_of(orders: QuerySet[Order]) -> QuerySet[AddressBookEntry]:
    """The address-book entries of the given orders, grouped by order, in pushed order."""
    return AddressBookEntry.objects.filter(order_id__in=orders.values("pk")).order_by("order_id", "id")
