"""The staff read API: filtered order lists (JSON pages or a streamed CSV), one order in full, companion CSVs.

Staff only, by session or personal token (`orders.api.authentication`); an
institution's push token is unknown here. Every query parameter is checked: an
unknown, repeated or unreadable one is a 400 naming it, because a filter that
is silently dropped turns an export of ten rows into an export of the table.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ErrorDetail
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import exports, pii, selectors
from orders.api.authentication import StaffTokenAuthentication
from orders.api.serializers import OrderDetailSerializer, OrderListSerializer
from orders.choices import ExportKind
from orders.filters import OrderFilterSet
from orders.permissions import EXPORT_ORDER, VIEW_ORDER
from orders.pii import can_list_personal_data, can_view_personal_data

_BOOLEAN_PARAM = {"1": True, "true": True, "0": False, "false": False}


class JsonOnlyNegotiation(BaseContentNegotiation):
    """`format` is this API's own parameter (json or csv), not DRF's renderer override, and
    errors are JSON whatever was asked for."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StaffOrderPermission(BasePermission):
    """An active staff user holding every permission the view asks for this request."""

    def has_permission(self, request, view):
        user = request.user
        if not (isinstance(user, get_user_model()) and user.is_active and user.is_staff):
            return False
        return user.has_perms(view.required_permissions(request))


class OrderCursorPagination(CursorPagination):
    """Keyset pages on the list's index, so page 1,000 costs what page 1 does."""

    ordering = ("-received_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [ErrorDetail("Invalid cursor.", code="invalid")]}) from None


def _error(message: str, code: str = "invalid") -> list[ErrorDetail]:
    return [ErrorDetail(message, code=code)]


def filtered_orders(request, *, extra_params: frozenset[str] = frozenset()):
    """The orders the query string selects, or a 400 listing every bad parameter."""
    params = request.query_params
    allowed = set(OrderFilterSet.base_filters) | extra_params
    errors = {}
    for name, values in params.lists():
        if name not in allowed:
            errors[name] = _error(f"Unknown parameter. Filters: {', '.join(sorted(OrderFilterSet.base_filters))}.")
        elif len(values) > 1:
            errors[name] = _error("Give this parameter once.")
    try:
        orders = selectors.order_filter(params=params)
    except selectors.InvalidFiltersError as invalid:
        for name, problems in invalid.errors.items():
            errors.setdefault(
                name, [ErrorDetail(problem.messages[0], code=problem.code or "invalid") for problem in problems]
            )
        orders = None
    return orders, errors


def boolean_param(request, name: str, errors: dict) -> bool:
    raw = request.query_params.get(name, "0").strip().lower()
    if raw not in _BOOLEAN_PARAM:
        errors.setdefault(name, _error("Use 1 or 0."))
        return False
    return _BOOLEAN_PARAM[raw]


def header_language_param(request, errors: dict) -> str:
    language = request.query_params.get("headers", "en")
    if language not in exports.HEADER_LANGUAGES:
        errors.setdefault("headers", _error(f"Use {' or '.join(exports.HEADER_LANGUAGES)}."))
    return language


def export_or_400(request, *, kind: str, orders, errors: dict):
    bom = boolean_param(request, "bom", errors)
    headers = header_language_param(request, errors)
    if errors:
        raise exceptions.ValidationError(errors)
    params = request.query_params.copy()
    for name in ("format", "bom", "headers"):
        params.pop(name, None)
    return exports.export_response(
        user=request.user,
        kind=kind,
        orders=orders,
        source=exports.ExportSource.API,
        filters=exports.filters_for_log(params),
        bom=bom,
        headers=headers,
    )


_FILTER_PARAMETERS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=str(getattr(filter_, "extra", {}).get("help_text", "")))
    for name, filter_ in OrderFilterSet.base_filters.items()
]
_BOM_PARAMETER = OpenApiParameter("bom", OpenApiTypes.BOOL, description="1: start the CSV with a UTF-8 BOM (Excel).")
_HEADERS_PARAMETER = OpenApiParameter(
    "headers", OpenApiTypes.STR, enum=list(exports.HEADER_LANGUAGES), description="zh: the CSV's header row in Chinese."
)


class StaffReadView(GenericAPIView):
    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [StaffOrderPermission]
    content_negotiation_class = JsonOnlyNegotiation

    def required_permissions(self, request) -> list[str]:
        return [VIEW_ORDER]

    def may_unmask(self, user) -> bool:
        """One order at a time: the personal-data permission is enough."""
        return can_view_personal_data(user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "unmasked": self.may_unmask(self.request.user)}


class OrderListView(StaffReadView):
    """Orders matching the filters, newest first: JSON pages, or every row as CSV with `format=csv`.

    Pages are lists: unmasked only for users who may also export (a reviewer paging the
    table unmasked would be an export without the right), and then logged like an export.
    """

    def may_unmask(self, user) -> bool:
        return can_list_personal_data(user)

    serializer_class = OrderListSerializer
    pagination_class = OrderCursorPagination

    def wants_csv(self, request) -> bool:
        return request.query_params.get("format") == "csv"

    def required_permissions(self, request) -> list[str]:
        return [VIEW_ORDER, EXPORT_ORDER] if self.wants_csv(request) else [VIEW_ORDER]

    @extend_schema(
        parameters=[
            *_FILTER_PARAMETERS,
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"], description="csv: stream every row."),
            _BOM_PARAMETER,
            _HEADERS_PARAMETER,
        ],
        responses={200: OrderListSerializer(many=True), 400: OpenApiResponse(description="A bad parameter.")},
        tags=["orders"],
    )
    def get(self, request):
        orders, errors = filtered_orders(
            request, extra_params=frozenset({"format", "bom", "headers", "cursor", "page_size"})
        )
        output = request.query_params.get("format", "json")
        if output not in ("json", "csv"):
            errors.setdefault("format", _error("Use json or csv."))
        if output == "csv":
            for name in ("cursor", "page_size"):
                if name in request.query_params:
                    errors.setdefault(name, _error("Not with format=csv: the CSV holds every matching row."))
            return export_or_400(request, kind=ExportKind.ORDERS, orders=orders, errors=errors)
        for name in ("bom", "headers"):
            if name in request.query_params:
                errors.setdefault(name, _error("Only with format=csv."))
        self._check_page_size(request, errors)
        if errors:
            raise exceptions.ValidationError(errors)
        page = self.paginate_queryset(selectors.order_list_columns(orders))
        serializer = self.get_serializer(page, many=True)
        pii.list_view_record(
            user=request.user,
            source=exports.ExportSource.API,
            kind=ExportKind.ORDERS,
            filters=exports.filters_for_log(request.query_params),
            rows=page,
        )
        pii.orders_view_record(
            user=request.user, order_ids=[order.pk for order in page], context="api:list", in_list=True
        )
        return self.get_paginated_response(serializer.data)

    def _check_page_size(self, request, errors: dict) -> None:
        raw = request.query_params.get("page_size")
        maximum = self.pagination_class.max_page_size
        if raw is not None and not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= maximum):
            errors.setdefault("page_size", _error(f"Use a whole number from 1 to {maximum}."))


class OrderDetailView(StaffReadView):
    """One order with its device, emergency contacts, employer and address-book size."""

    serializer_class = OrderDetailSerializer

    def get_queryset(self):
        return selectors.order_detail_queryset()

    @extend_schema(responses={200: OrderDetailSerializer}, tags=["orders"])
    def get(self, request, pk: int):
        order = self.get_object()
        serializer = self.get_serializer(order)
        pii.orders_view_record(user=request.user, order_ids=[order.pk], context="api:detail")
        return Response(serializer.data)


class CompanionExportView(APIView):
    """A CSV of what hangs off the filtered orders (same filters as the order list)."""

    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [StaffOrderPermission]
    content_negotiation_class = JsonOnlyNegotiation
    kind: str = ""

    def required_permissions(self, request) -> list[str]:
        return [VIEW_ORDER, EXPORT_ORDER]

    @extend_schema(
        parameters=[*_FILTER_PARAMETERS, _BOM_PARAMETER, _HEADERS_PARAMETER],
        responses={(200, "text/csv"): OpenApiTypes.STR, 400: OpenApiResponse(description="A bad parameter.")},
        tags=["orders"],
    )
    def get(self, request):
        orders, errors = filtered_orders(request, extra_params=frozenset({"bom", "headers"}))
        return export_or_400(request, kind=self.kind, orders=orders, errors=errors)


class ContactsExportView(CompanionExportView):
    """The emergency contacts of the filtered orders, one row per contact."""

    kind = ExportKind.CONTACTS


class AddressBookExportView(CompanionExportView):
    """The address-book entries of the filtered orders, one row per entry with its order number."""

    kind = ExportKind.ADDRESS_BOOK
