"""The doors in the OpenAPI schema (`/api/schema/`): the REST push's own examples, and the channel door.

The examples are the service's real answers (tests/intake/test_openapi_examples.py
sends a request for each and compares code and message). drf-standardized-errors
would add its generic examples (`permission_denied`, "Incorrect authentication
credentials.") to every operation; the push declares its own instead. The channel
door is two plain Django views, which drf-spectacular does not see: a
postprocessing hook adds their paths.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample
from drf_standardized_errors.openapi import AutoSchema
from rest_framework import exceptions

from config.bearer import BearerTokenAuthentication
from config.errors import DatabaseUnavailable, LengthRequired
from intake.authentication import NOT_PROVIDED_MESSAGE, IsActiveInstitution

DEMO_ORDER_NO = "DEMO0001"
# The guide's worked example (docs/integration.md §3.3): these numbers are printed there.
WORKED_ENVELOPE = {
    "ua": "demolender",
    "args": '{"orderInfo":{"orderNo":"DEMO0001","loan_amount":"500000","userPhone":"13912345678"}}',
    "sign": "663237ac8ee6e8b69a43a7ea66ac83f2",
    "timeStamp": 1700000000,
}
_RECEIVED_AT = "2024-01-01T16:00:00.123456+08:00"


class PushSchema(AutoSchema):
    """The push documents its own error examples; the package's generic ones do not match its answers."""

    def _get_error_response_examples(self):
        return []


def _error(name: str, error_type: str, code: str, detail: object, attr: str | None = None) -> OpenApiExample:
    return OpenApiExample(
        name, value={"type": error_type, "errors": [{"code": code, "detail": str(detail), "attr": attr}]}
    )


def rest_examples() -> dict[int, list[OpenApiExample]]:
    """Examples of the REST push's answers, by HTTP status."""
    answer = {"orderNo": DEMO_ORDER_NO, "receivedAt": _RECEIVED_AT, "addressBookEntriesWithoutPhone": 0}
    return {
        201: [OpenApiExample("Accepted", value=answer | {"status": "accepted"})],
        200: [OpenApiExample("Duplicate", value=answer | {"status": "duplicate"})],
        **_rest_refusals(),
        **_rest_transport_refusals(),
    }


def _rest_refusals() -> dict[int, list[OpenApiExample]]:
    """The payload's and the credentials' refusals."""
    return {
        400: [
            _error("MissingSection", "validation_error", "required", "This field is required.", "userAdditional"),
            _error(
                "MalformedJson",
                "validation_error",
                "parse_error",
                "Malformed JSON: Expecting value: line 1 column 1 (char 0)",
            ),
        ],
        401: [
            _error("NotAuthenticated", "client_error", "not_authenticated", NOT_PROVIDED_MESSAGE),
            _error(
                "AuthenticationFailed",
                "client_error",
                "authentication_failed",
                BearerTokenAuthentication.invalid_message,
            ),
            _error(
                "WrongScheme", "client_error", "authentication_failed", BearerTokenAuthentication.wrong_scheme_message
            ),
        ],
        403: [_error("InstitutionDisabled", "client_error", IsActiveInstitution.code, IsActiveInstitution.message)],
        409: [
            _error(
                "OrderConflict",
                "client_error",
                "order_conflict",
                "This orderNo was already pushed with different content; the stored order is unchanged.",
                "orderInfo.orderNo",
            )
        ],
    }


def _rest_transport_refusals() -> dict[int, list[OpenApiExample]]:
    """Refusals before the payload is read: method, size, media type, rate, outage."""
    limit = settings.PUSH_MAX_BODY_BYTES
    return {
        405: [
            _error("MethodNotAllowed", "client_error", "method_not_allowed", exceptions.MethodNotAllowed("GET").detail)
        ],
        411: [_error("LengthRequired", "client_error", LengthRequired.default_code, LengthRequired.default_detail)],
        413: [
            _error(
                "PayloadTooLarge", "client_error", "payload_too_large", f"Request body is larger than {limit} bytes."
            )
        ],
        415: [
            _error(
                "UnsupportedMediaType",
                "client_error",
                "unsupported_media_type",
                "Unsupported media type 'text/plain'; send application/json encoded in UTF-8.",
            )
        ],
        429: [
            _error("Throttled", "client_error", "throttled", exceptions.Throttled(wait=42).detail),
        ],
        503: [
            _error(
                "DatabaseUnavailable",
                "server_error",
                DatabaseUnavailable.default_code,
                DatabaseUnavailable.default_detail,
            )
        ],
    }


# --- The channel door ------------------------------------------------------------------------


def _channel(name: str, status: int, message: object, response: dict) -> dict:
    return {name: {"value": {"status": status, "message": str(message), "response": response}}}


def _channel_refusal(name: str, code: str, detail: object, attr: str | None = None) -> dict:
    message = f"{attr}: {detail}" if attr else detail
    return _channel(name, 0, message, {"errors": [{"code": code, "detail": str(detail), "attr": attr}]})


def channel_examples(*, legacy: bool) -> dict[int, dict]:
    """Examples of the channel's answers, by HTTP status (OpenAPI example objects)."""
    from intake.doors.channel import AUTHENTICATION_FAILED, PUSH_CALL

    window = settings.CHANNEL_TIMESTAMP_WINDOW_SECONDS
    answer = {"orderNo": DEMO_ORDER_NO, "receivedAt": _RECEIVED_AT, "addressBookEntriesWithoutPhone": 0}
    ok = _channel("Accepted", 1, "success", answer | {"status": "accepted"})
    ok |= _channel("Duplicate", 1, "success", answer | {"status": "duplicate"})
    ok |= _channel_refusal("SignatureFailed", "authentication_failed", AUTHENTICATION_FAILED, "sign")
    ok |= _channel_refusal(
        "StaleTimestamp",
        "stale_timestamp",
        f"timeStamp is more than {window} seconds away from server time; "
        "send the current Unix time in seconds and check the sender's clock.",
        "timeStamp",
    )
    if legacy:
        ok |= _channel_refusal(
            "UnknownCall", "unknown_call", f"Unknown call 'Order.noSuchCall'; this endpoint serves {PUSH_CALL}.", "call"
        )
    else:
        ok |= _channel_refusal("WorkedExample", "required", "This field is required.", "userAdditional")
    return {
        200: ok,
        405: _channel(
            "MethodNotAllowed",
            0,
            "Method not allowed; use POST.",
            {"errors": [{"code": "method_not_allowed", "detail": "GET is not allowed.", "attr": None}]},
        ),
        503: _channel_refusal(
            "DatabaseUnavailable", DatabaseUnavailable.default_code, DatabaseUnavailable.default_detail
        ),
    }


_DESCRIPTIONS = {
    200: "Every envelope the door reads: `status` 1 (accepted or duplicate) or 0 (refused; `response.errors` "
    "holds items of the REST error format). Branch on `status`, not on the HTTP status.",
    405: "A method other than POST.",
    503: "Database unavailable: nothing was written; `Retry-After` says when to retry.",
}


def _envelope_schema(*, legacy: bool) -> dict:
    return {
        "type": "object",
        "required": ["ua", "args", "sign", "call"] if legacy else ["ua", "args", "sign"],
        "properties": {
            "ua": {"type": "string", "description": "The institution's code (create_institution CODE)."},
            "args": {
                "type": "string",
                "description": "The push object {orderInfo, userAdditional} serialised as a JSON string; "
                "signed exactly as sent.",
            },
            "sign": {
                "type": "string",
                "pattern": "^[0-9a-fA-F]{32}$",
                "description": "md5(signKey + args + signKey), or md5(signKey + call + signKey + args + signKey) "
                "when call is sent; signKey = ua + key + ua.",
            },
            "timeStamp": {
                "oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]{1,20}$"}],
                "description": "Unix time in seconds, fresh on every attempt; not signed. Checked when sent "
                "(within the window); required when the platform set the institution to require it.",
            },
            "call": {"type": "string", "enum": ["Order.pushUserAdditionalInfo"]},
        },
    }


_ANSWER_SCHEMA = {
    "type": "object",
    "required": ["status", "message", "response"],
    "properties": {
        "status": {"type": "integer", "enum": [0, 1], "description": "1 accepted or duplicate, 0 refused."},
        "message": {"type": "string", "description": '"success", or the reason ("attr: detail").'},
        "response": {
            "type": "object",
            "description": "status 1: {orderNo, status, receivedAt} as the REST door's 201/200; "
            "status 0: {errors: [{code, detail, attr}]}.",
        },
    },
}


def _channel_operation(*, legacy: bool) -> dict:
    envelope = _envelope_schema(legacy=legacy)
    request_example = {
        "WorkedExample": {"value": WORKED_ENVELOPE | ({"call": "Order.pushUserAdditionalInfo"} if legacy else {})}
    }
    return {
        "post": {
            "operationId": "channel_dispatch" if legacy else "channel_push_user_additional_info",
            "summary": "Legacy dispatch: the method is named by call" if legacy else "Push through the signed channel",
            "tags": ["channel"],
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": envelope, "examples": request_example},
                    "application/x-www-form-urlencoded": {"schema": envelope},
                },
            },
            "responses": {
                str(status): {
                    "description": _DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": _ANSWER_SCHEMA, "examples": examples}},
                }
                for status, examples in channel_examples(legacy=legacy).items()
            },
        }
    }


def channel_paths(result, generator, request, public):
    """drf-spectacular postprocessing hook: the channel door's two addresses."""
    result.setdefault("paths", {})
    result["paths"]["/channel/pushUserAdditionalInfo"] = _channel_operation(legacy=False)
    result["paths"]["/channel/"] = _channel_operation(legacy=True)
    return result
