"""The REST door (`POST /api/v1/user-additional/`)."""

import json

from django.conf import settings
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import LengthRequired, PayloadTooLarge
from intake import services
from intake.authentication import NOT_PROVIDED_MESSAGE, InstitutionTokenAuthentication, IsActiveInstitution
from intake.doors.http import read_body, request_context
from intake.openapi import PushSchema, rest_examples
from intake.serializers import ErrorResponseSerializer, PushAnswerSerializer, PushSerializer
from intake.throttling import InstitutionRateThrottle
from orders.choices import Door
from orders.models import Institution, PushOutcome

_RESPONSES = {
    201: "Accepted: the order is stored.",
    200: "Identical retry: nothing new was written.",
    400: "Malformed JSON or invalid payload: every problem, by path.",
    401: "No Authorization header, or a wrong, rotated or revoked token.",
    403: "The institution is disabled.",
    405: "A method other than POST.",
    409: "Same orderNo, different content: the stored order is unchanged.",
    411: "Chunked body on a server that cannot de-chunk it.",
    413: "Body, as encoded on the wire, larger than the limit.",
    415: "Not application/json in UTF-8.",
    429: "Over the institution's pushes per minute, or too many refused credentials; see Retry-After.",
    503: "Database unavailable: nothing was written; see Retry-After.",
}
_EXAMPLE = json.loads((settings.BASE_DIR / "docs" / "samples" / "push-ios-office-worker.json").read_text("utf-8"))


class PushView(APIView):
    """推送用户补充信息: an institution pushes one order with its supplementary data."""

    authentication_classes = [InstitutionTokenAuthentication]
    permission_classes = [IsActiveInstitution]
    throttle_classes = [InstitutionRateThrottle]
    # Declared for the schema only: the body is read raw (request.data is never
    # touched) because the push log keeps it verbatim and intake.payload owns
    # decoding, so that both doors parse exactly alike.
    parser_classes = [JSONParser]

    schema = PushSchema()

    @extend_schema(
        operation_id="push_user_additional_info",
        summary="Push an order with the applicant's supplementary information",
        request=PushSerializer,
        responses={
            status: OpenApiResponse(
                PushAnswerSerializer if status in (200, 201) else ErrorResponseSerializer,
                description=_RESPONSES[status],
                examples=examples,
            )
            for status, examples in rest_examples().items()
        },
        examples=[OpenApiExample("iOS office worker", value=_EXAMPLE, request_only=True)],
        tags=["push"],
    )
    def post(self, request):
        content_type = request.META.get("CONTENT_TYPE", "")
        media_type, params = parse_header_parameters(content_type)
        if media_type != "application/json" or params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
            raise exceptions.UnsupportedMediaType(
                content_type or "(none)",
                detail=_("Unsupported media type %(type)s; send application/json encoded in UTF-8.")
                % {"type": repr(content_type or "(none)")},
            )
        body = read_body(request)
        result = services.push_receive(
            institution=request.user, context=request_context(request, Door.REST), payload_raw=body, logged_body=body
        )
        if result.errors:
            return Response({"type": result.error_type, "errors": result.errors}, status=result.http_status)
        return Response(result.answer(), status=result.http_status)

    def permission_denied(self, request, message=None, code=None):
        # DRF's own "credentials were not provided" does not say which scheme to use.
        if request.authenticators and not request.successful_authenticator:
            raise exceptions.NotAuthenticated(NOT_PROVIDED_MESSAGE)
        super().permission_denied(request, message=message, code=code)

    def handle_exception(self, exc):
        """Pushes refused before validation (credentials, size, media type) are logged too,
        without their body: a refused caller's data is not ours to keep. Refused credentials
        are logged once per client address and minute, and past their limit answered 429."""
        if isinstance(exc, _LOGGED_REFUSALS):
            institution = self.request.user if isinstance(self.request.user, Institution) else None
            context = request_context(self.request, Door.REST)
            errors = [{"code": getattr(exc.detail, "code", exc.default_code), "detail": str(exc.detail), "attr": None}]
            if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
                decision = services.push_refusal_before_authentication(
                    context=context, http_status=exc.status_code, errors=errors, outcome=PushOutcome.UNAUTHORIZED
                )
                if not decision.allowed:
                    exc = exceptions.Throttled(wait=decision.retry_after, detail=decision.reason)
            else:
                services.push_log_refusal(
                    institution=institution,
                    context=context,
                    http_status=exc.status_code,
                    errors=errors,
                    body=None,
                    outcome=PushOutcome.UNAUTHORIZED if exc.status_code == 403 else PushOutcome.REJECTED,
                )
        return super().handle_exception(exc)


_LOGGED_REFUSALS = (
    exceptions.NotAuthenticated,
    exceptions.AuthenticationFailed,
    exceptions.PermissionDenied,
    exceptions.UnsupportedMediaType,
    PayloadTooLarge,
    LengthRequired,
)
