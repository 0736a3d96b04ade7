"""Reads of orders: the shared FilterSet's choice, the phone/orderNo search, list/detail/export rows, reviewers."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet

from orders.choices import ReviewStatus
from orders.filters import OrderFilterSet, production_only
from orders.models import AddressBookEntry, Contact, Order
from orders.normalizers import phone_digits
from orders.permissions import APP_LABEL, REVIEW_ORDER_CODENAME
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


def order_review_queue() -> QuerySet[Order]:
    """The review queue: pending orders nobody holds, oldest first; never a sandbox institution's test orders,
    nor orders whose signals are still being computed.

    Every way of taking the next order (the admin's button, the review API) reads it here.
    """
    pending = Order.objects.filter(review_status=ReviewStatus.PENDING, assigned_to__isnull=True, risk_pending=False)
    return production_only(pending).order_by("received_at", "id")


def is_production_only(queryset: QuerySet[Order]) -> bool:
    """Whether the only condition on `queryset` is the FilterSet's default (no sandbox orders)."""
    return queryset.model is Order and queryset.query.where == production_only(Order.objects.all()).query.where


def order_list(*, params) -> QuerySet[Order]:
    """The list page: what one row shows comes in the same query."""
    return order_list_columns(order_filter(params=params))


def order_list_columns(orders: QuerySet[Order]) -> QuerySet[Order]:
    """`orders` with what a list row shows joined or computed in the same query, risk flags included."""
    return orders.select_related("institution", "device").annotate(risk_flags=risk_flags_annotation())


def order_detail_queryset() -> QuerySet[Order]:
    """One order with everything pushed with it: one query (risk flags included), plus one for the contacts."""
    return (
        Order.objects.select_related("institution", "device", "employer")
        .annotate(risk_flags=risk_flags_annotation())
        .prefetch_related("contacts")
    )


def order_export_rows(orders: QuerySet[Order]) -> QuerySet[Order]:
    """The orders CSV's rows: newest first, each with its risk flags (`;`-joined codes) in the same query."""
    return orders.annotate(risk_flags=risk_flags_annotation()).order_by("-received_at", "-id")


def contact_export_rows(orders: QuerySet[Order]) -> QuerySet[Contact]:
    """The emergency contacts of the given orders, grouped by order."""
    return Contact.objects.filter(order_id__in=orders.values("pk")).order_by("order_id", "priority")


def address_book_export_rows(orders: QuerySet[Order]) -> QuerySet[AddressBookEntry]:
    """The address-book entries of the given orders, grouped by order, in pushed order."""
    return AddressBookEntry.objects.filter(order_id__in=orders.values("pk")).order_by("order_id", "id")


# Fewer digits than a local landline number are not worth searching the books for (`10086`
# alone matches half the address books): such terms only match orderNo.
MIN_PHONE_SEARCH_DIGITS = 7


def order_search(queryset: QuerySet, term: str) -> QuerySet:
    """Orders whose orderNo is `term`, or where `term` is any phone number of the order.

    Phones are matched on normalized digits (`138 0000 1111`, `+8613800001111`
    and `13800001111` are one number), exactly, through the indexes on
    Order.user_phone, Contact.mobile and AddressBookEntry.phone_digits. The
    candidate order ids are one UNION of index look-ups, so the planner never
    scans the orders or the tens of millions of address-book rows.
    """
    term = term.strip()
    if not term:
        return queryset
    # Default orderings are cleared: a UNION's parts may not carry ORDER BY.
    candidates = Order.objects.filter(order_no=term).order_by().values("pk")
    digits = phone_digits(term)
    if len(digits) >= MIN_PHONE_SEARCH_DIGITS and digits.isdigit():
        candidates = candidates.union(
            Order.objects.filter(user_phone=digits).order_by().values("pk"),
            Contact.objects.filter(mobile=digits).order_by().values("order_id"),
            AddressBookEntry.objects.filter(phone_digits=digits).order_by().values("order_id"),
        )
    return queryset.filter(pk__in=candidates)


def reviewer_queryset() -> QuerySet:
    """Active staff who may review (through a group, directly, or as superusers): whom orders can be assigned to."""
    permission = Permission.objects.filter(content_type__app_label=APP_LABEL, codename=REVIEW_ORDER_CODENAME)
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=permission) | Q(user_permissions__in=permission))
        .distinct()
        .order_by("username")
    )


def table_row_estimate(model) -> int | None:
    """The planner's row estimate for `model`'s table on PostgreSQL; None where there is none.

    `reltuples` is -1 for a table never vacuumed or analysed; that is "unknown", not zero.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else None
