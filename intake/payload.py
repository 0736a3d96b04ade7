"""From raw bytes to a validated push: JSON decoding, hostile-input checks, error items.

Both doors hand this module the payload exactly as received (the REST body, or
the channel envelope's `args` string) and get back either a `ValidatedPush` or
the list of error items of the contract's error format.
"""

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_standardized_errors.formatter import flatten_errors
from rest_framework import serializers
from rest_framework.settings import api_settings

from intake.serializers import AddressBookField, PushSerializer, ValidatedPush

# Strings JSON can carry but a database cannot store: NUL and lone surrogates.
_UNSTORABLE_ESCAPE_RE = re.compile(r"\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_NON_FIELD_SUFFIX = "." + api_settings.NON_FIELD_ERRORS_KEY
MAX_EXTRA_DEPTH = 16
# Longest integer literal read. No field needs a tenth of it, and it stays far
# below the 4,300 digits past which Python refuses to convert an integer.
MAX_INTEGER_DIGITS = 100
# The object form of an address-book item.
ADDRESS_BOOK_ITEM_KEYS = frozenset({"name", "phone"})
_UNSTORABLE_DETAIL = gettext_lazy("NUL characters and lone surrogates are not allowed.")


class PayloadError(Exception):
    """The payload cannot be accepted; `errors` are items of the contract's error format."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors


def error_item(code: str, detail: str, attr: str | None = None) -> dict:
    return {"code": code, "detail": str(detail), "attr": attr}


def parse(raw: bytes | str) -> object:
    """Decode UTF-8 JSON; every failure is a `PayloadError`, never an exception of its own."""
    return loads(raw, known_keys=push_known_keys())


def loads(raw: bytes | str, *, known_keys: Mapping[str, frozenset[str]]) -> object:
    """Strict JSON: no NaN or infinities, no repeated keys, no value the database cannot store.

    Python's decoder accepts `NaN`, `Infinity` and `1e400` (as float infinity),
    keeps the last of repeated keys, and gives up on integers past 4,300 digits
    with a message about its own internals. The hooks (`_MarkingHooks`) mark such values
    instead; only when one fired (or an object is large, or an escape the
    database cannot store occurs) is the document walked to name each by its
    path. `known_keys` maps a path (list indexes as `*`) to the keys the
    protocol defines there; more than `PUSH_MAX_UNKNOWN_KEYS` others in one
    object refuse it.
    """
    text = _text(raw)
    limit = settings.PUSH_MAX_UNKNOWN_KEYS
    hooks = _MarkingHooks(limit)
    try:
        document = json.loads(
            text,
            parse_constant=hooks.constant,
            parse_float=hooks.number,
            parse_int=hooks.integer,
            object_pairs_hook=hooks.obj,
        )
    except RecursionError:
        raise PayloadError([error_item("parse_error", _("JSON is nested too deeply."))]) from None
    except ValueError as error:
        raise PayloadError([error_item("parse_error", _("Malformed JSON: %(error)s") % {"error": error})]) from None
    unstorable = _UNSTORABLE_ESCAPE_RE.search(text) is not None
    if hooks.marked or unstorable:
        problems = list(_problems(document, known_keys=known_keys, limit=limit, unstorable=unstorable))
        if problems:
            raise PayloadError(problems)
    return document


def _text(raw: bytes | str) -> str:
    try:
        return raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise PayloadError(
            [error_item("parse_error", _("Body is not valid UTF-8 (byte %(byte)s).") % {"byte": error.start})]
        ) from None


class _Refused:
    """Stands where the decoder met a value JSON does not allow; `_problems` names its path."""

    __slots__ = ("detail",)

    def __init__(self, detail: str) -> None:
        self.detail = detail


class _RepeatedKeys(dict):
    """An object that repeated a key; the names repeated are kept for the error."""

    def __init__(self, document: dict, pairs: list[tuple[str, object]]) -> None:
        super().__init__(document)
        seen: set[str] = set()
        self.repeated = sorted({key for key, _value in pairs if key in seen or seen.add(key)})


class _MarkingHooks:
    """The decoder's hooks: each value JSON does not allow becomes a `_Refused` and is noted in `marked`.

    Objects with repeated keys, or more keys than `limit`, are noted too, so that
    `loads` walks the document only when one of these fired.
    """

    __slots__ = ("limit", "marked")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.marked: list[object] = []

    def constant(self, name: str) -> _Refused:
        self.marked.append(name)
        return _Refused(_("%(value)s is not a valid JSON value; send a number or a string.") % {"value": name})

    def number(self, literal: str) -> float | _Refused:
        value = float(literal)
        if math.isinf(value):
            self.marked.append(literal)
            return _Refused(_("%(value)s is out of range for a JSON number.") % {"value": literal[:32]})
        return value

    def integer(self, literal: str) -> int | _Refused:
        digits = len(literal.lstrip("-"))
        if digits > MAX_INTEGER_DIGITS:
            self.marked.append(literal)
            return _Refused(
                _("Integer of %(digits)s digits; no field accepts more than %(max)s.")
                % {"digits": digits, "max": MAX_INTEGER_DIGITS}
            )
        return int(literal)

    def obj(self, pairs: list[tuple[str, object]]) -> dict:
        document = dict(pairs)
        if len(document) != len(pairs):
            self.marked.append(pairs)
            return _RepeatedKeys(document, pairs)
        if len(document) > self.limit:
            self.marked.append(pairs)
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


def _problems(
    node: object, *, known_keys: Mapping[str, frozenset[str]], limit: int, unstorable: bool
) -> Iterator[dict]:
    """Error items for every refused value, repeated key, oversized object and unstorable string."""
    stack: list[tuple[object, str | None, str]] = [(node, None, "")]
    while stack:
        node, path, pattern = stack.pop()
        if isinstance(node, _Refused):
            yield error_item("invalid_json_value", node.detail, path)
        elif isinstance(node, str):
            if unstorable and _unstorable(node):
                yield error_item("null_characters_not_allowed", str(_UNSTORABLE_DETAIL), path)
        elif isinstance(node, dict):
            if len(node) > limit:
                known = known_keys.get(pattern, frozenset())
                if sum(1 for key in node if key not in known) > limit:
                    # Not walked further: the section is refused whole, cheaply.
                    yield error_item(
                        "too_many_unknown_keys",
                        _("More than %(limit)s keys the protocol does not define in this object.") % {"limit": limit},
                        path,
                    )
                    continue
            for key in getattr(node, "repeated", ()):
                yield error_item(
                    "duplicate_key", _("This key appears more than once in its object; send it once."), _join(path, key)
                )
            for key, value in node.items():
                if unstorable and _unstorable(key):
                    yield error_item("null_characters_not_allowed", str(_UNSTORABLE_DETAIL), path)
                else:
                    stack.append((value, _join(path, key), f"{pattern}.{key}" if pattern else key))
        elif isinstance(node, list):
            stack.extend(
                (value, _join(path, index), f"{pattern}.*" if pattern else "*") for index, value in enumerate(node)
            )


@functools.cache
def push_known_keys() -> dict[str, frozenset[str]]:
    """The keys the protocol defines, by path (list indexes as `*`), read from the serializers."""
    known: dict[str, frozenset[str]] = {}

    def visit(serializer: serializers.Serializer, pattern: str) -> None:
        known[pattern] = frozenset(serializer.fields)
        for name, field in serializer.fields.items():
            child = f"{pattern}.{name}" if pattern else name
            if isinstance(field, serializers.Serializer):
                visit(field, child)
            elif isinstance(field, AddressBookField):
                known[f"{child}.*"] = ADDRESS_BOOK_ITEM_KEYS

    visit(PushSerializer(), "")
    return known


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
        raise PayloadError([error_item("too_deep", _("Unknown keys nest too deeply."), "userAdditional.deviceInfo")])
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
        raise PayloadError([error_item("parse_error", _("JSON is nested too deeply."))]) from None
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def order_no_hint(document: object) -> str:
    """The orderNo a rejected push meant, for the push log; empty when there is none."""
    if isinstance(document, dict) and isinstance(document.get("orderInfo"), dict):
        value = document["orderInfo"].get("orderNo")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # read as its text, as the serializer does
        if isinstance(value, str) and not _unstorable(value):
            return value[:64]
    return ""
