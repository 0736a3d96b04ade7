"""Structured logs: a JSON-lines formatter and the middleware that gives every request an id.

Each log line is one JSON object (time, level, logger, message, request_id and,
for the access line, method, path, status, duration_ms and institution). Logs
never carry personal data: the access line has the path without its query
string (filters hold phone numbers), and as a second line of defence the
formatter masks anything shaped like a mobile number or a device identifier
in messages and tracebacks.
"""

import contextvars
import json
import logging
import re
import time
import traceback
import uuid
from datetime import UTC, datetime

from django.db import DatabaseError
from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# A caller's id is echoed back and stored (push log: 64 characters), so only a sane one is kept.
_SANE_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
# Mainland mobiles, optionally with +86/0086 and separators, not inside a longer digit run.
_MOBILE_RE = re.compile(r"(?<![\d])(?:\+?86[\s\-]?|0086[\s\-]?)?1[3-9]\d(?:[\s\-]?\d){8}(?![\d])")
# Device identifiers: UUID/IDFA shapes, and long hex or digit runs (IMEI, Android id, md5 ids).
_DEVICE_ID_RE = re.compile(
    r"\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b|\b[0-9A-Fa-f]{15,}\b"
)
_WITHHELD = "(message withheld: database errors quote the values they refused)"
# Attributes of a LogRecord that the JSON line carries when a caller passes them in `extra`.
_EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "institution", "user_id", "limit", "count")


def current_request_id() -> str:
    return _request_id.get()


def redact(text: str) -> str:
    """Masks mobile numbers and device identifiers in free text."""
    text = _MOBILE_RE.sub("[phone]", text)
    return _DEVICE_ID_RE.sub("[id]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `ensure_ascii=False` keeps Chinese messages readable."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or current_request_id() or None,
        }
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)

    def formatException(self, exc_info) -> str:  # noqa: N802 - logging's name
        kind, error, trace = exc_info
        if isinstance(error, DatabaseError):
            # A database error quotes the values it refused (its DETAIL and CONTEXT
            # lines): pushed personal data. Keep where it happened, not what.
            return "".join(traceback.format_tb(trace)) + f"{kind.__module__}.{kind.__qualname__}: {_WITHHELD}"
        return super().formatException(exc_info)


class ExpectedClientErrorFilter(logging.Filter):
    """Drops the traceback from the log line of a 4xx answer: a refusal is expected, not a fault.

    Django logs a denied permission or a 404 raised in a view at WARNING with the exception
    attached (`django.request`, `status_code` in the record); on a busy admin every 403 then
    spends twenty lines on a stack that says nothing. The line itself stays, so refusals are
    still counted; 5xx keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True


access_logger = logging.getLogger("access")


class RequestIdMiddleware:
    """Outermost middleware: assigns the request id, answers it as `X-Request-ID`, logs one access line.

    The id is the caller's `X-Request-ID` when it is sane (1-64 of `A-Za-z0-9._:-`),
    otherwise a new one; it is written back into `request.META` so that code
    reading the header (the push log) sees the same id.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if _SANE_REQUEST_ID_RE.fullmatch(offered) else uuid.uuid4().hex
        request.META["HTTP_X_REQUEST_ID"] = request_id
        request.request_id = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    **_who(request),
                },
            )
            return response
        finally:
            _request_id.reset(token)


def _who(request) -> dict:
    """The institution's code for pushes, the staff user's id otherwise; never a name."""
    user = request.__dict__.get("user")
    # A session user nobody looked at stays unloaded: logging must not query (or fail in an outage).
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return {}
    # An authenticated caller that is not a staff user (an institution) names itself: config imports no app.
    log_fields = getattr(user, "log_fields", None)
    if callable(log_fields):
        return log_fields()
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "pk", None):
        return {"user_id": user.pk}
    return {}
