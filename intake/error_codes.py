"""Every error code either door can answer, with what it means and what the sender should do.

The partner guide's error table (docs/integration.md, `manage.py write_partner_docs`)
is generated from this list, in Chinese and English (the .po file translates it).
tests/intake/test_partner_guide.py reads the doors' source for the codes they
build and fails when one is missing here, so the list cannot drift from the code.
An entry with `attrs` documents the code for those envelope fields only; one
without documents it for any field of the payload (or for the whole body).
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

BOTH = "both"
REST = "rest"
CHANNEL = "channel"


@dataclass(frozen=True)
class ErrorCode:
    code: str
    door: str
    # The REST door's HTTP status; the channel answers 200 with `status: 0` except for 405 and 503.
    http: int
    meaning: str
    action: str
    attrs: tuple[str, ...] = ()

    @property
    def whole_request(self) -> bool:
        """The item is about the whole request (credentials, transport): its attr is null."""
        return not self.attrs and self.code in WHOLE_REQUEST_CODES

    @property
    def key(self) -> str:
        return f"{self.code}@{'/'.join(self.attrs)}" if self.attrs else self.code


WHOLE_REQUEST_CODES = frozenset(
    {
        "not_authenticated",
        "authentication_failed",
        "institution_disabled",
        "method_not_allowed",
        "unsupported_media_type",
        "payload_too_large",
        "length_required",
        "throttled",
        "database_unavailable",
        "error",
        "not_found",
    }
)
_FIX = _("Fix the field named by attr, then push again; do not retry unchanged.")
_RETRY_LATER = _("Retry later with exponential backoff; a fresh timeStamp on the channel.")

ERROR_CODES: tuple[ErrorCode, ...] = (
    # --- The payload (REST body or the channel's args), both doors ---------------------
    ErrorCode("required", BOTH, 400, _("A key that must be present is missing."), _FIX),
    ErrorCode("blank", BOTH, 400, _('An identifying field is "" (see the field tables).'), _FIX),
    ErrorCode("null", BOTH, 400, _("An identifying field is null."), _FIX),
    ErrorCode("invalid", BOTH, 400, _("A value is not in the accepted format (see the field tables)."), _FIX),
    ErrorCode("max_length", BOTH, 400, _("A text is longer than its maximum, or a list has too many items."), _FIX),
    ErrorCode("not_an_object", BOTH, 400, _("A section (or the whole body) is not a JSON object."), _FIX),
    ErrorCode("not_a_list", BOTH, 400, _("phoneList is not a JSON list."), _FIX),
    ErrorCode(
        "parse_error",
        BOTH,
        400,
        _("Malformed JSON, not UTF-8, nested too deeply, or an envelope that is not a JSON object."),
        _("Check how the body (or args) is serialised and encoded."),
    ),
    ErrorCode(
        "invalid_json_value",
        BOTH,
        400,
        _("NaN, Infinity, a number out of range (1e400) or an integer of more than 100 digits."),
        _("Send finite numbers or strings."),
    ),
    ErrorCode(
        "duplicate_key", BOTH, 400, _("A key repeated in one object (payload or JSON envelope)."), _("Send it once.")
    ),
    ErrorCode(
        "too_many_unknown_keys",
        BOTH,
        400,
        _("More keys the protocol does not define in one object than the limit; attr names the object."),
        _("Do not send extra keys."),
    ),
    ErrorCode(
        "null_characters_not_allowed",
        BOTH,
        400,
        _("A string holds a NUL character or a lone surrogate."),
        _("Remove them from the string."),
    ),
    ErrorCode(
        "too_deep", BOTH, 400, _("Unknown deviceInfo keys nest too deeply."), _("Send flat values for extra keys.")
    ),
    ErrorCode(
        "order_conflict",
        BOTH,
        409,
        _("The orderNo was already pushed with different content; the stored order is untouched."),
        _("Do not retry; a new order needs a new orderNo."),
    ),
    # --- The channel's envelope ----------------------------------------------------------
    ErrorCode(
        "required",
        CHANNEL,
        400,
        _("An envelope field is missing (call: on POST /channel/ only)."),
        _("Send ua, args and sign (and call on the legacy address)."),
        ("ua", "args", "sign", "call"),
    ),
    ErrorCode(
        "required",
        CHANNEL,
        400,
        _("Your institution is set to require timeStamp and none was sent."),
        _("Send timeStamp with every envelope."),
        ("timeStamp",),
    ),
    ErrorCode("blank", CHANNEL, 400, _('An envelope field is "".'), _("Send a value."), ("ua", "args", "sign")),
    ErrorCode(
        "invalid",
        CHANNEL,
        400,
        _("args was sent as a JSON object, not as a string."),
        _("Serialise the payload to a string first, sign it, send that string."),
        ("args",),
    ),
    ErrorCode(
        "invalid",
        CHANNEL,
        400,
        _("timeStamp is not Unix time in seconds (digits only)."),
        _("Send the current Unix time in seconds."),
        ("timeStamp",),
    ),
    ErrorCode(
        "invalid",
        CHANNEL,
        400,
        _("A form field sent twice, a field that is not a string, or one with lone surrogates."),
        _("Send each field once, as a string."),
        ("ua", "sign", "call"),
    ),
    ErrorCode(
        "unknown_call",
        CHANNEL,
        400,
        _("call is not Order.pushUserAdditionalInfo."),
        _("Fix call."),
        ("call",),
    ),
    ErrorCode(
        "stale_timestamp",
        CHANNEL,
        400,
        _("timeStamp is further from the server's time than the window."),
        _("Send the current Unix time in seconds (not milliseconds), fresh on every retry; sync your clock (NTP)."),
        ("timeStamp",),
    ),
    ErrorCode(
        "authentication_failed",
        CHANNEL,
        401,
        _("Unknown ua, rotated or revoked channel key, or a sign that does not match."),
        _("Check your signing code against the worked example; sign the args string exactly as sent."),
        ("sign",),
    ),
    # --- Credentials -------------------------------------------------------------------------
    ErrorCode(
        "not_authenticated",
        REST,
        401,
        _("No Authorization header."),
        _("Send Authorization: Bearer <api_token>."),
    ),
    ErrorCode(
        "authentication_failed",
        REST,
        401,
        _("Wrong, rotated or revoked API token, or not the Bearer scheme."),
        _("Check the token; ask the platform for a new one."),
    ),
    ErrorCode(
        "institution_disabled",
        BOTH,
        403,
        _("Your institution is disabled."),
        _("Contact the platform."),
    ),
    # --- Transport and operations --------------------------------------------------------------
    ErrorCode("method_not_allowed", BOTH, 405, _("A method other than POST (HTTP 405 on both doors)."), _("Use POST.")),
    ErrorCode(
        "unsupported_media_type",
        BOTH,
        415,
        _("A Content-Type or charset the door does not read."),
        _("REST: application/json; channel: JSON or application/x-www-form-urlencoded; always UTF-8."),
    ),
    ErrorCode(
        "payload_too_large",
        BOTH,
        413,
        _("The body, as encoded on the wire, is over the size limit."),
        _("Do not retry; send JSON rather than a form, or contact the platform."),
    ),
    ErrorCode(
        "length_required",
        BOTH,
        411,
        _("A chunked body the server cannot de-chunk."),
        _("Send a Content-Length."),
    ),
    ErrorCode(
        "throttled",
        BOTH,
        429,
        _("Over your institution's pushes per minute, or too many refused credentials from your address."),
        _("Wait Retry-After seconds, then retry (fix the credentials first if they were refused)."),
    ),
    ErrorCode(
        "database_unavailable",
        BOTH,
        503,
        _("The platform's database is unavailable; nothing was written (HTTP 503 on both doors)."),
        _RETRY_LATER,
    ),
    ErrorCode(
        "error",
        BOTH,
        500,
        _("An internal error; nothing was written (the channel answers it with status 0)."),
        _("Retry later; contact the platform if it persists."),
    ),
    ErrorCode("not_found", BOTH, 404, _("No such address."), _("Check the URL.")),
)


def documented(code: str, attr: str | None, door: str) -> ErrorCode | None:
    """The entry that documents an error item answered by `door`, or None."""
    for entry in ERROR_CODES:
        if entry.code != code or entry.door not in (door, BOTH):
            continue
        if entry.attrs and attr in entry.attrs:
            return entry
    for entry in ERROR_CODES:
        if entry.code == code and entry.door in (door, BOTH) and not entry.attrs:
            return entry
    return None
