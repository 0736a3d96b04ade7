"""The review API: claim the next order, claim one, decide it with its terms (the admin's services, for tools).

Staff by session or personal token; a token must carry the `review` scope
(`create_staff_token --scope review`). Every rule is the services': a refused
decision is a 400 naming each bad input, a claim or decision the state refuses a 409.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ErrorDetail
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import pii, selectors, services
from orders.api.authentication import StaffTokenAuthentication
from orders.api.serializers import OrderDetailSerializer
from orders.api.views import JsonOnlyNegotiation, StaffOrderPermission
from orders.choices import DecisionKind, TermUnit, TokenScope
from orders.models import StaffApiToken
from orders.permissions import REVIEW_ORDER, VIEW_ORDER

DECISION_KEYS = frozenset(
    {
        "decision",
        "approved_amount",
        "approved_term",
        "term_unit",
        "reason_code",
        "reason",
        "can_reapply_at",
        "supplements",
        "confirm_high_risk",
    }
)


class ReviewConflict(exceptions.APIException):
    """The order's state refuses the claim or the decision (409), with the rule's code."""

    status_code = 409
    default_code = "conflict"


class HasReviewScope(BasePermission):
    """A personal token acts here only with the `review` scope; a session acts with its user's permissions."""

    message = "This API token lacks the review scope (create_staff_token --scope review)."

    def has_permission(self, request, view):
        token = request.auth
        return not isinstance(token, StaffApiToken) or token.has_scope(TokenScope.REVIEW)


class ReviewView(APIView):
    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [StaffOrderPermission, HasReviewScope]
    content_negotiation_class = JsonOnlyNegotiation
    parser_classes = [JSONParser]

    def required_permissions(self, request) -> list[str]:
        return [VIEW_ORDER, REVIEW_ORDER]

    def order_response(self, order_id: int) -> Response:
        """The order as `GET /api/v1/orders/<id>/` shows it to this user (its unmasked view recorded)."""
        order = selectors.order_detail_queryset().get(pk=order_id)
        unmasked = pii.can_view_personal_data(self.request.user)
        data = OrderDetailSerializer(order, context={"request": self.request, "unmasked": unmasked}).data
        pii.orders_view_record(user=self.request.user, order_ids=[order.pk], context="api:review")
        return Response(data)


def _refused(error: services.ReviewError):
    if error.code in ("already_claimed", "already_decided", "not_claimed", "sandbox_order"):
        return ReviewConflict(detail=ErrorDetail(error.message, code=error.code))
    if error.code == "not_found":
        return exceptions.NotFound(error.message)
    return exceptions.ValidationError(
        {error.field or "non_field_errors": [ErrorDetail(error.message, code=error.code)]}
    )


_ORDER = OpenApiResponse(OrderDetailSerializer, description="The order, as GET /api/v1/orders/<id>/ shows it.")
_CONFLICT = OpenApiResponse(description="already_claimed, already_decided, not_claimed or sandbox_order.")


class ReviewNextView(ReviewView):
    """Claim the oldest unassigned pending order whose risk signals are computed."""

    @extend_schema(
        request=None,
        responses={200: _ORDER, 204: OpenApiResponse(description="The queue is empty.")},
        tags=["review"],
    )
    def post(self, request):
        order = services.order_claim_next(reviewer=request.user)
        if order is None:
            return Response(status=204)
        return self.order_response(order.pk)


class OrderClaimView(ReviewView):
    """Claim one order for the caller."""

    @extend_schema(request=None, responses={200: _ORDER, 409: _CONFLICT}, tags=["review"])
    def post(self, request, pk: int):
        try:
            services.order_claim(order_id=pk, reviewer=request.user)
        except services.ReviewError as error:
            raise _refused(error) from None
        return self.order_response(pk)


class DecisionRequestSerializer(serializers.Serializer):
    """For the schema: the body is checked by the services (`DecisionTerms`), which name each bad field."""

    decision = serializers.ChoiceField(choices=DecisionKind.choices)
    approved_amount = serializers.IntegerField(required=False, help_text="Fen, 1 to the order's loan_amount.")
    approved_term = serializers.IntegerField(required=False, min_value=1)
    term_unit = serializers.ChoiceField(choices=TermUnit.choices, required=False)
    reason_code = serializers.CharField(required=False, help_text="A rejection reason's code, e.g. device_risk.")
    reason = serializers.CharField(required=False, allow_blank=True)
    can_reapply_at = serializers.DateField(required=False, help_text="YYYY-MM-DD: from 00:00 Beijing time.")
    supplements = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="needs_info: dotted leaf paths of pushed fields."
    )
    confirm_high_risk = serializers.BooleanField(required=False)


class OrderDecisionView(ReviewView):
    """Decide an order the caller holds, with its terms."""

    @extend_schema(
        request=DecisionRequestSerializer,
        responses={200: _ORDER, 400: OpenApiResponse(description="Each bad field, by name."), 409: _CONFLICT},
        tags=["review"],
    )
    def post(self, request, pk: int):
        terms = decision_terms_from_body(request.data)
        try:
            services.order_decide(order_id=pk, reviewer=request.user, terms=terms)
        except services.DecisionTermsError as invalid:
            raise exceptions.ValidationError(
                {
                    name: [ErrorDetail(message, code="invalid") for message in messages]
                    for name, messages in invalid.errors.items()
                }
            ) from None
        except services.ReviewError as error:
            raise _refused(error) from None
        return self.order_response(pk)


def decision_terms_from_body(body) -> services.DecisionTerms:
    """The body as `DecisionTerms`; a non-object, an unknown key or a non-boolean confirmation is a 400 here,
    everything else is the services' to judge."""
    if not isinstance(body, dict):
        raise exceptions.ValidationError({"non_field_errors": [ErrorDetail(_("Send a JSON object."), code="invalid")]})
    errors = {
        name: [ErrorDetail(_("Unknown field."), code="unknown")] for name in sorted(set(body) - DECISION_KEYS)[:20]
    }
    confirm = body.get("confirm_high_risk", False)
    if not isinstance(confirm, bool):
        errors["confirm_high_risk"] = [ErrorDetail(_("true or false."), code="invalid")]
    if "decision" not in body:
        errors["decision"] = [ErrorDetail(_("This field is required."), code="required")]
    if errors:
        raise exceptions.ValidationError(errors)
    supplements = body.get("supplements", ())
    return services.DecisionTerms(
        decision=body["decision"],
        approved_amount=body.get("approved_amount"),
        approved_term=body.get("approved_term"),
        term_unit=body.get("term_unit", ""),
        reason_code=body.get("reason_code", ""),
        reason=body.get("reason", ""),
        can_reapply_at=body.get("can_reapply_at"),
        supplements=tuple(supplements) if isinstance(supplements, list) else supplements,
        confirm_high_risk=confirm,
    )
