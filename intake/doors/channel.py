"""The signed channel door: `POST /channel/pushUserAdditionalInfo` and the legacy `POST /channel/` dispatch.

The legacy dispatch also serves `call=Order.getOrderStatus` (`intake.doors.pull`).

Institutions that already speak the protocol family send `{ua, args, sign,
timeStamp}` envelopes (JSON or form-urlencoded). This module reads and checks
the envelope, then hands the raw `args` string to `intake.services.push_receive`,
the one service the REST door calls too: validation, idempotency and storage
are never repeated here.
"""

import logging
import re
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import csrf_exempt

from config.errors import DatabaseUnavailable, LengthRequired, PayloadTooLarge, outage_headers
from intake import payload, services, signing
from intake.doors import pull
from intake.doors.http import read_body, request_context
from intake.payload import error_item
from intake.throttling import rate_limit_consume
from orders.choices import Door
from orders.institutions import institution_channel_keys
from orders.models import Institution, PushOutcome

logger = logging.getLogger(__name__)

PUSH_CALL = "Order.pushUserAdditionalInfo"
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_MAX_FORM_FIELDS = 64
# Institution codes are slugs; anything else cannot name one and is not worth a query.
_UA_RE = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
_TIMESTAMP_RE = re.compile(r"^[0-9]{1,20}$")
# Signed against when the ua is unknown or its key revoked, so every failure costs the same.
_DUMMY_KEY = "0" * 48
_ENVELOPE_KEYS = {"": frozenset({"ua", "args", "sign", "timeStamp", "call"})}

AUTHENTICATION_FAILED = _lazy("Signature check failed: unknown ua, revoked channel key, or a sign that does not match.")
INSTITUTION_DISABLED = _lazy("This institution is disabled; contact the platform to re-enable it.")


class EnvelopeError(Exception):
    """The envelope cannot be read; `errors` are items of the contract's error format."""

    def __init__(self, errors: list[dict], *, http_status: int = 400) -> None:
        super().__init__(errors)
        self.errors = errors
        # What the REST door would answer; the channel answers 200 with status 0 whatever it is.
        self.http_status = http_status


@dataclass(frozen=True)
class Envelope:
    ua: str
    args: str
    sign: str
    call: str | None
    timestamp: int | None


# --- Reading the envelope -----------------------------------------------------------------


def envelope_parse(*, body: bytes, content_type: str, charset: str, legacy_dispatch: bool) -> Envelope:
    """The envelope's fields from a JSON or form-urlencoded body; every problem at once.

    On the legacy route `call` is required; on the named route it is optional,
    but when sent it must name the same method (and is then part of the signature).
    """
    if charset.lower() not in ("utf-8", "utf8"):
        raise EnvelopeError(
            [
                error_item(
                    "unsupported_media_type", _("Unsupported charset %(charset)r; send UTF-8.") % {"charset": charset}
                )
            ],
            http_status=415,
        )
    if content_type == _JSON:
        fields = _json_fields(body)
    elif content_type == _FORM:
        fields = _form_fields(body)
    else:
        raise EnvelopeError(
            [
                error_item(
                    "unsupported_media_type",
                    _("Unsupported Content-Type %(type)r; send %(json)s or %(form)s.")
                    % {"type": content_type or "(none)", "json": _JSON, "form": _FORM},
                )
            ],
            http_status=415,
        )

    errors: list[dict] = []
    ua = _string_field(fields, "ua", errors)
    args = _string_field(fields, "args", errors)
    sign = _string_field(fields, "sign", errors)
    timestamp = _timestamp_field(fields, errors)
    call = None
    if legacy_dispatch or "call" in fields:
        call = _string_field(fields, "call", errors, allow_blank=True)
        # The legacy dispatch also answers the decision pull; the named route only pushes.
        if call is not None and call not in ((PUSH_CALL, pull.STATUS_CALL) if legacy_dispatch else (PUSH_CALL,)):
            errors.append(
                error_item(
                    "unknown_call",
                    _("Unknown call %(call)r; this endpoint serves %(push)s.") % {"call": call, "push": PUSH_CALL},
                    "call",
                )
            )
    if errors:
        raise EnvelopeError(errors)
    return Envelope(ua=ua, args=args, sign=sign, call=call, timestamp=timestamp)


def _json_fields(body: bytes) -> dict:
    # The envelope is read as strictly as the payload: a repeated `sign` or `args`
    # (which copy was signed?) or a NaN is refused with its path.
    try:
        document = payload.loads(body, known_keys=_ENVELOPE_KEYS)
    except payload.PayloadError as error:
        raise EnvelopeError(error.errors) from None
    if not isinstance(document, dict):
        raise EnvelopeError([error_item("parse_error", _("The envelope must be a JSON object {ua, args, sign, ...}."))])
    return document


def _form_fields(body: bytes) -> dict:
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        raise EnvelopeError([error_item("parse_error", _("Form body is not valid (percent-encoded) UTF-8."))]) from None
    except ValueError:
        raise EnvelopeError(
            [error_item("parse_error", _("More than %(max)s form fields.") % {"max": _MAX_FORM_FIELDS})]
        ) from None
    fields: dict = {}
    repeated = set()
    for name, value in pairs:
        if name in fields:
            repeated.add(name)
        fields[name] = value
    if repeated:
        # Which copy was signed is anyone's guess; refuse rather than pick one.
        raise EnvelopeError(
            [error_item("invalid", _("This field was sent more than once."), name) for name in sorted(repeated)]
        )
    return fields


def _string_field(fields: dict, name: str, errors: list[dict], *, allow_blank: bool = False) -> str | None:
    value = fields.get(name)
    if value is None:
        errors.append(error_item("required", _("This field is required."), name))
        return None
    if not isinstance(value, str):
        if name == "args":
            detail = _("Must be a string (args is the payload serialised as a JSON string, not an object).")
        else:
            detail = _("Must be a string.")
        errors.append(error_item("invalid", detail, name))
        return None
    if not value and not allow_blank:
        errors.append(error_item("blank", _("This field may not be blank."), name))
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors.append(
            error_item("invalid", _("Contains characters that are not valid Unicode (lone surrogates)."), name)
        )
        return None
    return value


def _timestamp_field(fields: dict, errors: list[dict]) -> int | None:
    value = fields.get("timeStamp")
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
        return value
    if isinstance(value, str) and _TIMESTAMP_RE.match(value):
        return int(value)
    errors.append(error_item("invalid", _("timeStamp must be Unix time in seconds (digits only)."), "timeStamp"))
    return None


# --- Checking it ---------------------------------------------------------------------


def envelope_authenticate(envelope: Envelope) -> Institution | None:
    """The institution whose key signed the envelope, or None; one outcome for every failure.

    A disabled institution is returned (its signature is good): the caller
    refuses it with its own reason, as the REST door answers 403 after 401.
    """
    institution = Institution.objects.filter(code=envelope.ua).first() if _UA_RE.match(envelope.ua) else None
    # The current key, and the previous one while a rotation's overlap lasts (orders.institutions).
    keys = institution_channel_keys(institution) if institution is not None else []
    matches = [
        signing.channel_sign_matches(
            ua=envelope.ua, key=key, args=envelope.args, sign=envelope.sign, call=envelope.call
        )
        for key in keys or [_DUMMY_KEY]
    ]
    return institution if keys and any(matches) else None


def _timestamp_errors(envelope: Envelope, institution: Institution) -> list[dict]:
    window = settings.CHANNEL_TIMESTAMP_WINDOW_SECONDS
    if envelope.timestamp is None:
        if institution.require_timestamp:
            return [error_item("required", _("This institution must send timeStamp (Unix seconds)."), "timeStamp")]
        return []
    if not signing.timestamp_within_window(timestamp=envelope.timestamp, now=time.time(), window_seconds=window):
        return [
            error_item(
                "stale_timestamp",
                _(
                    "timeStamp is more than %(window)s seconds away from server time; "
                    "send the current Unix time in seconds and check the sender's clock."
                )
                % {"window": window},
                "timeStamp",
            )
        ]
    return []


# --- The views ---------------------------------------------------------------------------


@csrf_exempt  # a machine endpoint: authenticated by its signature, never by a browser session
def push_user_additional_info(request):
    """推送用户补充信息 through the signed envelope, method named by the URL."""
    return _handle(request, legacy_dispatch=False)


@csrf_exempt
def dispatch(request):
    """The legacy dispatch: the method is named by the envelope's `call` field."""
    return _handle(request, legacy_dispatch=True)


def _handle(request, *, legacy_dispatch: bool) -> JsonResponse:
    if request.method != "POST":
        response = _answer(
            0,
            _("Method not allowed; use POST."),
            [error_item("method_not_allowed", _("%(method)s is not allowed.") % {"method": request.method})],
        )
        response.status_code = 405
        response["Allow"] = "POST"
        return response
    context = request_context(request, Door.CHANNEL)
    try:
        return _receive(request, context, legacy_dispatch=legacy_dispatch)
    except (OperationalError, InterfaceError):
        # As on the REST door: 503, so clients and proxies retry. The transaction
        # of push_receive rolled back, so nothing (not even the log row) was written.
        logger.warning("Channel push refused: database unavailable", exc_info=True)
        detail = str(DatabaseUnavailable.default_detail)
        response = _answer(0, detail, [error_item(DatabaseUnavailable.default_code, detail)], http_status=503)
        for header, value in outage_headers().items():
            response[header] = value
        return response
    except Exception:
        # Never a 500 or an HTML page on this door: the protocol's clients read
        # only the JSON. The durable transaction of push_receive rolled back.
        logger.exception("Channel push failed")
        detail = _("Server error; nothing was written. Retry later; if it persists, contact the platform.")
        return _answer(0, detail, [error_item("error", detail)])


def _receive(request, context: services.PushContext, *, legacy_dispatch: bool) -> JsonResponse:
    # Refusals answer HTTP 200 with status 0, as the protocol does (docs/contract.md
    # §3: HTTP 200 with `status: 0` for everything else); its clients branch on
    # `status` and treat other HTTP codes as a transport failure worth retrying,
    # which an oversized or wrongly signed envelope is not. The push-log row
    # records that 200 too (what was answered); its outcome and error codes say
    # why. Only a database outage, which a retry does cure, keeps its 503.
    try:
        body = read_body(request)
    except (PayloadTooLarge, LengthRequired) as error:
        return _refuse(context, None, error.status_code, [error_item(error.default_code, str(error.detail))])
    try:
        envelope = envelope_parse(
            body=body,
            content_type=request.content_type or "",
            charset=request.content_params.get("charset", "utf-8"),
            legacy_dispatch=legacy_dispatch,
        )
    except EnvelopeError as error:
        return _refuse(context, None, error.http_status, error.errors)

    institution = envelope_authenticate(envelope)
    if institution is None:
        # No body kept: an unauthenticated caller's data is not ours to keep (as on REST).
        return _refuse(
            context, None, 401, [error_item("authentication_failed", AUTHENTICATION_FAILED, "sign")], unauthorized=True
        )
    if not institution.is_active:
        return _refuse(
            context, institution, 403, [error_item("institution_disabled", INSTITUTION_DISABLED)], unauthorized=True
        )
    if not (rate := rate_limit_consume(institution=institution)).allowed:
        # Like the REST door's 429, but in this protocol's form; not push-logged, as a flood must not grow the log.
        response = _answer(0, rate.reason, [error_item("throttled", rate.reason)])
        response["Retry-After"] = str(rate.retry_after)
        return response
    if errors := _timestamp_errors(envelope, institution):
        return _refuse(context, institution, 400, errors, body=body)
    if envelope.call == pull.STATUS_CALL:
        return _answer(*pull.channel_status(institution, envelope.args))

    result = services.push_receive(
        institution=institution, context=context, payload_raw=envelope.args, logged_body=body
    )
    if result.outcome in (PushOutcome.ACCEPTED, PushOutcome.DUPLICATE, PushOutcome.REVISED):
        return _answer(1, "success", result.answer())
    return _answer(0, _message(result.errors), result.errors)


def _refuse(
    context: services.PushContext,
    institution: Institution | None,
    http_status: int,
    errors: list[dict],
    *,
    body: bytes | None = None,
    unauthorized: bool = False,
) -> JsonResponse:
    outcome = PushOutcome.UNAUTHORIZED if unauthorized else PushOutcome.REJECTED
    if institution is None:
        # Before authentication anyone can send anything: bounded log, limited per address.
        decision = services.push_refusal_before_authentication(
            context=context, http_status=http_status, errors=errors, outcome=outcome
        )
        if not decision.allowed:
            response = _answer(0, decision.reason, [error_item("throttled", decision.reason)])
            response["Retry-After"] = str(decision.retry_after)
            return response
    else:
        services.push_log_refusal(
            institution=institution, context=context, http_status=http_status, errors=errors, body=body, outcome=outcome
        )
    return _answer(0, _message(errors), errors)


def _message(errors: list[dict]) -> str:
    if len(errors) == 1:
        error = errors[0]
        return f"{error['attr']}: {error['detail']}" if error["attr"] else error["detail"]
    return _("%(count)s problems; see response.errors.") % {"count": len(errors)}


def _answer(status: int, message: str, response: dict | list, *, http_status: int = 200) -> JsonResponse:
    """The protocol's answer: `{"status": 1|0, "message": ..., "response": {...}}`."""
    if isinstance(response, list):
        response = {"errors": response}
    return JsonResponse(
        {"status": status, "message": message, "response": response},
        status=http_status,
        json_dumps_params={"ensure_ascii": False},
    )
