"""From raw bytes to a validated push: JSON decoding, hostile-input checks, error items.

Both doors hand this module the payload exactly as received (the REST body, or
the channel envelope's `args` string) and get back either a `ValidatedPush` or
the list of error items of the contract's error format.
"""

import hashlib
import json
import re
from collections.abc import Iterator

from drf_standardized_errors.formatter import flatten_errors
from rest_framework.settings import api_settings

from intake.serializers import PushSerializer, ValidatedPush

# Strings JSON can carry but a database cannot store: NUL and lone surrogates.
_UNSTORABLE_ESCAPE_RE = re.compile(r"\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_NON_FIELD_SUFFIX = "." + api_settings.NON_FIELD_ERRORS_KEY
MAX_EXTRA_DEPTH = 16


class PayloadError(Exception):
    """The payload cannot be accepted; `errors` are items of the contract's error format."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors


def error_item(code: str, detail: str, attr: str | None = None) -> dict:
    return {"code": code, "detail": detail, "attr": attr}


def parse(raw: bytes | str) -> object:
    """Decode UTF-8 JSON; every failure is a `PayloadError`, never an exception of its own."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise PayloadError([error_item("parse_error", f"Body is not valid UTF-8 (byte {error.start}).")]) from None
    try:
        document = json.loads(text)
    except RecursionError:
        raise PayloadError([error_item("parse_error", "JSON is nested too deeply.")]) from None
    except ValueError as error:
        raise PayloadError([error_item("parse_error", f"Malformed JSON: {error}")]) from None
    # The escapes are rare; only when the raw text contains one do we walk the
    # document to find (and name) the strings that hold them.
    if _UNSTORABLE_ESCAPE_RE.search(text):
        problems = [
            error_item("null_characters_not_allowed", "NUL characters and lone surrogates are not allowed.", path)
            for path in _unstorable_paths(document, None)
        ]
        if problems:
            raise PayloadError(problems)
    return document


def _unstorable(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _join(path: str | None, key: object) -> str:
    return f"{path}.{key}" if path is not None else str(key)


def _unstorable_paths(node: object, path: str | None) -> Iterator[str | None]:
    stack = [(node, path)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if _unstorable(node):
                yield path
        elif isinstance(node, dict):
            for key, value in node.items():
                if _unstorable(key):
                    yield path
                else:
                    stack.append((value, _join(path, key)))
        elif isinstance(node, list):
            stack.extend((value, _join(path, index)) for index, value in enumerate(node))


def _depth(node: object) -> int:
    deepest, stack = 0, [(node, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
    return deepest


def validate(document: object) -> ValidatedPush:
    serializer = PushSerializer(data=document)
    if not serializer.is_valid():
        raise PayloadError([_as_item(error) for error in flatten_errors(serializer.errors)])
    push = serializer.to_push()
    # Unknown device keys are stored as JSON; bound them so no document can
    # make the database or the admin recurse without end.
    if _depth(push.device["extra"]) > MAX_EXTRA_DEPTH:
        raise PayloadError([error_item("too_deep", "Unknown keys nest too deeply.", "userAdditional.deviceInfo")])
    return push


def _as_item(error) -> dict:
    """DRF names a section's own errors `<path>.non_field_errors`; the contract names the path."""
    attr = error.attr
    if attr == api_settings.NON_FIELD_ERRORS_KEY:
        attr = None
    elif attr and attr.endswith(_NON_FIELD_SUFFIX):
        attr = attr.removesuffix(_NON_FIELD_SUFFIX)
    return error_item(error.code, error.detail, attr)


def fingerprint(document: object) -> str:
    """SHA-256 of the canonical JSON: equal JSON values, whatever their key order or spacing."""
    try:
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except RecursionError:
        raise PayloadError([error_item("parse_error", "JSON is nested too deeply.")]) from None
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def order_no_hint(document: object) -> str:
    """The orderNo a rejected push meant, for the push log; empty when there is none."""
    if isinstance(document, dict) and isinstance(document.get("orderInfo"), dict):
        value = document["orderInfo"].get("orderNo")
        if isinstance(value, str) and not _unstorable(value):
            return value[:64]
    return ""
