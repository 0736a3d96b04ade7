"""JSON errors everywhere: the API exception handler and the project's 404/500 views.

An integrator must get the contract's error body for every failure, including
the ones Django raises before or outside DRF (unknown URL, crash, database down).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _lazy
from django.views import defaults
from drf_standardized_errors.handler import ExceptionHandler as BaseExceptionHandler
from rest_framework import exceptions, status


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _lazy("The database is unavailable; nothing was written. Retry later.")
    default_code = "database_unavailable"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _lazy("Request body is too large.")
    default_code = "payload_too_large"


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = _lazy(
        "This server cannot read a chunked body (Transfer-Encoding: chunked); send it with a Content-Length."
    )
    default_code = "length_required"


class ExceptionHandler(BaseExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, (OperationalError, InterfaceError)):
            return DatabaseUnavailable()
        if isinstance(exc, RequestDataTooBig):
            return PayloadTooLarge()
        return super().convert_known_exceptions(exc)

    def get_headers(self, exc: exceptions.APIException) -> dict:
        headers = super().get_headers(exc)
        if exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
            headers.update(outage_headers())
        return headers


def outage_headers() -> dict:
    """Headers of every 503: when to come back, so clients wait instead of hammering a recovering database."""
    return {"Retry-After": str(settings.OUTAGE_RETRY_AFTER_SECONDS)}


def error_body(error_type: str, code: str, detail: str, attr: str | None = None) -> dict:
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def _wants_json(request) -> bool:
    return not request.path.startswith("/admin/")


def not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse(error_body("client_error", "not_found", str(_lazy("Not found."))), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _wants_json(request):
        return JsonResponse(
            error_body("server_error", "error", str(_lazy("Server error; nothing was written."))), status=500
        )
    return defaults.server_error(request)


class DatabaseUnavailableMiddleware:
    """Turns a database outage outside DRF (sessions, admin, plain views) into a 503.

    DRF views answer through the exception handler above; this catches the rest,
    so an outage is never reported as a 500 with a traceback page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)) or (
            isinstance(exception, DatabaseError) and "connection" in str(exception).lower()
        ):
            return JsonResponse(
                error_body("server_error", DatabaseUnavailable.default_code, str(DatabaseUnavailable.default_detail)),
                status=503,
                headers=outage_headers(),
            )
        return None
