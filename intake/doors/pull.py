"""The institutions' decision pulls: `GET /api/v1/user-additional/decision/?orderNo=` and `Order.getOrderStatus`.

An institution reads back the conclusion on its own orders, nothing else: an
orderNo it did not push is not found, whoever else pushed it. The values are
`orders.feedback.wire`'s, the same the decision pushes carry.
"""

import json

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.authentication import InstitutionTokenAuthentication, IsActiveInstitution
from intake.payload import error_item
from intake.throttling import InstitutionRateThrottle
from orders.feedback import wire
from orders.models import Institution, Order

STATUS_CALL = "Order.getOrderStatus"
MAX_ORDER_NO_CHARS = 64


def order_no_problem(value) -> str | None:
    """Why `value` cannot be an orderNo (None: it can); checked before any query."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return _("Give the orderNo.")
    if len(value) > MAX_ORDER_NO_CHARS or not value.isprintable() or value != value.strip():
        return _("An orderNo is 1-64 visible characters.")
    return None


def _own_order(institution: Institution, order_no: str) -> Order | None:
    return Order.objects.filter(institution=institution, order_no=order_no).first()


class DecisionPullView(APIView):
    """审批结论查询: the decision on one of the institution's orders."""

    authentication_classes = [InstitutionTokenAuthentication]
    permission_classes = [IsActiveInstitution]
    throttle_classes = [InstitutionRateThrottle]

    @extend_schema(
        operation_id="pull_decision",
        summary="Read the decision on one of your orders",
        parameters=[OpenApiParameter("orderNo", OpenApiTypes.STR, required=True, description="The orderNo pushed.")],
        responses={
            200: inline_serializer(
                "DecisionPull",
                {
                    "orderNo": serializers.CharField(),
                    "decision": serializers.ChoiceField(
                        choices=["pending", "in_review", "approved", "rejected", "needs_info"]
                    ),
                    "approvedAmount": serializers.IntegerField(allow_null=True, help_text="Fen."),
                    "approvedTerm": serializers.IntegerField(allow_null=True),
                    "termUnit": serializers.ChoiceField(choices=["day", "month"], allow_null=True),
                    "reasonCode": serializers.CharField(allow_null=True),
                    "reason": serializers.CharField(),
                    "canReapplyAt": serializers.DateTimeField(allow_null=True),
                    "supplements": serializers.ListField(child=serializers.CharField()),
                    "decidedAt": serializers.DateTimeField(allow_null=True),
                },
            ),
            404: OpenApiResponse(description="No order of yours has this orderNo."),
        },
        tags=["push"],
    )
    def get(self, request):
        values = request.query_params.getlist("orderNo")
        problem = order_no_problem(values[0]) if len(values) == 1 else _("Give the orderNo once.")
        if problem:
            raise exceptions.ValidationError({"orderNo": [ErrorDetail(problem, code="invalid")]})
        order = _own_order(request.user, values[0])
        if order is None:
            raise exceptions.NotFound(_("No order of yours has this orderNo."))
        return Response(wire.rest_pull(order))


def channel_status(institution: Institution, args: str) -> tuple[int, str, dict]:
    """`Order.getOrderStatus` for an authenticated institution: (status, message, response)."""
    try:
        document = json.loads(args)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        detail = _('args must be a JSON object {"order_sn": ..., "act_type": 1}.')
        return 0, detail, {"errors": [error_item("parse_error", detail, "args")]}
    order_sn = document.get("order_sn")
    if problem := order_no_problem(order_sn):
        return 0, f"order_sn: {problem}", {"errors": [error_item("invalid", problem, "order_sn")]}
    order = _own_order(institution, str(order_sn))
    if order is None:
        detail = _("No order of yours has this orderNo.")
        return 0, detail, {"errors": [error_item("not_found", detail, "order_sn")]}
    return 1, "success", wire.channel_pull(order)
