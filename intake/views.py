"""The REST door (`POST /api/v1/user-additional/`) and the health check."""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils.http import parse_header_parameters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from intake import services
from intake.authentication import InstitutionTokenAuthentication, IsActiveInstitution
from intake.errors import PayloadTooLarge
from intake.models import Institution, PushOutcome
from intake.serializers import ErrorResponseSerializer, PushAnswerSerializer, PushSerializer
from intake.throttling import InstitutionRateThrottle
from orders.choices import Door

_EXAMPLE = json.loads((settings.BASE_DIR / "docs" / "samples" / "push-ios-office-worker.json").read_text("utf-8"))


def request_context(request, door: str) -> services.PushContext:
    return services.PushContext(
        door=door,
        remote_addr=request.META.get("REMOTE_ADDR") or None,
        request_id=request.META.get("HTTP_X_REQUEST_ID", "")[:64],
    )


def read_body(request) -> bytes:
    """The raw body, refused early when over the push limit (413) so it is never buffered."""
    limit = settings.PUSH_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.") from None
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    return body


class PushView(APIView):
    """推送用户补充信息: an institution pushes one order with its supplementary data."""

    authentication_classes = [InstitutionTokenAuthentication]
    permission_classes = [IsActiveInstitution]
    throttle_classes = [InstitutionRateThrottle]
    # Declared for the schema only: the body is read raw (request.data is never
    # touched) because the push log keeps it verbatim and intake.payload owns
    # decoding, so that both doors parse exactly alike.
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="push_user_additional_info",
        summary="Push an order with the applicant's supplementary information",
        request=PushSerializer,
        responses={
            201: OpenApiResponse(PushAnswerSerializer, description="Accepted: the order is stored."),
            200: OpenApiResponse(PushAnswerSerializer, description="Identical retry: nothing new was written."),
            400: OpenApiResponse(
                ErrorResponseSerializer, description="Malformed JSON or invalid payload: every problem, by path."
            ),
            409: OpenApiResponse(
                ErrorResponseSerializer, description="Same orderNo, different content: the stored order is unchanged."
            ),
            413: OpenApiResponse(ErrorResponseSerializer, description="Body larger than the limit."),
            503: OpenApiResponse(ErrorResponseSerializer, description="Database unavailable: nothing was written."),
        },
        examples=[OpenApiExample("iOS office worker", value=_EXAMPLE, request_only=True)],
        tags=["push"],
    )
    def post(self, request):
        content_type = request.META.get("CONTENT_TYPE", "")
        media_type, params = parse_header_parameters(content_type)
        if media_type != "application/json" or params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
            raise exceptions.UnsupportedMediaType(content_type or "(none)")
        body = read_body(request)
        result = services.push_receive(
            institution=request.user, context=request_context(request, Door.REST), payload_raw=body, logged_body=body
        )
        if result.errors:
            return Response({"type": result.error_type, "errors": result.errors}, status=result.http_status)
        return Response(result.answer(), status=result.http_status)

    def handle_exception(self, exc):
        """Pushes refused before validation (credentials, size, media type) are logged too,
        without their body: a refused caller's data is not ours to keep."""
        if isinstance(exc, _LOGGED_REFUSALS):
            institution = self.request.user if isinstance(self.request.user, Institution) else None
            unauthorized = isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed))
            services.push_log_refusal(
                institution=institution,
                context=request_context(self.request, Door.REST),
                http_status=exc.status_code,
                errors=[
                    {"code": getattr(exc.detail, "code", exc.default_code), "detail": str(exc.detail), "attr": None}
                ],
                body=None,
                outcome=PushOutcome.UNAUTHORIZED if unauthorized or exc.status_code == 403 else PushOutcome.REJECTED,
            )
        return super().handle_exception(exc)


_LOGGED_REFUSALS = (
    exceptions.NotAuthenticated,
    exceptions.AuthenticationFailed,
    exceptions.PermissionDenied,
    exceptions.UnsupportedMediaType,
    PayloadTooLarge,
)


def healthz(request):
    """200 when the database answers, 503 otherwise; for load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
