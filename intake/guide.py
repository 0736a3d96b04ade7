"""The generated parts of the partner guide (docs/integration.md): field tables, error codes, limits.

Each part is rendered from the code that enforces it (the push serializers and
`intake.field_formats`, `intake.error_codes`, the settings), once in Chinese and
once in English, and written between markers by `manage.py write_partner_docs`.
tests/intake/test_partner_guide.py renders them in memory and fails when the
file differs, so the guide cannot drift from the code.
"""

import re
from collections.abc import Callable, Iterator

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from rest_framework import serializers

from intake import error_codes, field_formats
from intake.serializers import AddressBookField, ProtocolField, PushSerializer
from orders import normalizers

LANGUAGES = ("zh-hans", "en")
BLOCK_RE = re.compile(
    r"(?P<begin><!-- generated:(?P<part>[a-z]+):(?P<language>[a-z-]+) begin[^>]*-->\n)"
    r"(?P<body>.*?)"
    r"(?P<end><!-- generated:(?P=part):(?P=language) end -->)",
    re.DOTALL,
)
_NONE = "—"


def _cell(value: object) -> str:
    text = str(value) if value not in (None, "") else _NONE
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def _yes(flag: bool) -> str:
    return _("yes") if flag else _("no")


# --- Field tables ----------------------------------------------------------------------------


def _field_row(name: str, field: serializers.Field) -> list[object]:
    value_format = field.value_format
    may_be_blank = not field.identifying
    return [
        f"`{name}`",
        _yes(field.required),
        _yes(may_be_blank),
        value_format.format,
        value_format.accepted,
        value_format.max_length,
    ]


def _entry_accepted(item: object) -> bool:
    """Whether the address book keeps `item`: asked of the normalizer itself, so the table follows it."""
    try:
        normalizers.address_book_entry(item)
    except normalizers.NormalizationError:
        return False
    return True


def _address_book_rows(name: str) -> Iterator[list[object]]:
    formats = field_formats
    yield [f"`{name}`", _yes(True), _yes(False), formats.PHONE_LIST.format, formats.PHONE_LIST.accepted, None]
    item = formats.PHONE_LIST_ITEM
    yield [f"`{name}[i]`", _NONE, _yes(_entry_accepted("")), item.format, item.accepted, None]
    for key, entry in (("name", formats.PHONE_LIST_NAME), ("phone", formats.PHONE_LIST_PHONE)):
        other = {"name": "张三", "phone": "13800138000"}
        present = not _entry_accepted({k: v for k, v in other.items() if k != key})
        blank = _entry_accepted(other | {key: ""})
        yield [f"`{name}[i].{key}`", _yes(present), _yes(blank), entry.format, entry.accepted, entry.max_length]


def _section_rows(section: serializers.Serializer) -> list[list[object]]:
    rows = []
    for name, field in section.fields.items():
        if isinstance(field, ProtocolField):
            rows.append(_field_row(name, field))
        elif isinstance(field, AddressBookField):
            rows.extend(_address_book_rows(name))
        elif isinstance(field, serializers.Serializer):
            blank = _('all values "" (or null): absent') if not field.required else _yes(False)
            rows.append([f"`{name}`", _yes(field.required), blank, _("JSON object"), _("see its table"), None])
    return rows


def _sections(serializer: serializers.Serializer, path: str = "") -> Iterator[tuple[str, serializers.Serializer]]:
    for name, field in serializer.fields.items():
        if isinstance(field, serializers.Serializer):
            child = f"{path}.{name}" if path else name
            yield child, field
            yield from _sections(field, child)


def fields_part() -> list[str]:
    header = [_("key"), _("must be present"), _('may be ""'), _("format"), _("accepted values"), _("max length")]
    lines = []
    for path, section in _sections(PushSerializer()):
        lines += ["", f"**`{path}`**", "", *_table(header, _section_rows(section))]
    return lines[1:]


# --- Error codes -----------------------------------------------------------------------------


def _door(door: str) -> str:
    return {error_codes.BOTH: _("both"), error_codes.REST: "REST", error_codes.CHANNEL: _("channel")}[door]


def errors_part() -> list[str]:
    header = [_("code"), "attr", _("door"), _("REST HTTP"), _("meaning"), _("what to do")]
    rows = [
        [
            f"`{entry.code}`",
            ", ".join(f"`{attr}`" for attr in entry.attrs)
            or ("`null`" if entry.whole_request else _("the field's path, or null")),
            _door(entry.door),
            entry.http if entry.door != error_codes.CHANNEL else None,
            entry.meaning,
            entry.action,
        ]
        for entry in error_codes.ERROR_CODES
    ]
    return _table(header, rows)


# --- Limits ----------------------------------------------------------------------------------


def limits_part() -> list[str]:
    rows = [
        [_("largest body, counted as encoded on the wire"), f"{settings.PUSH_MAX_BODY_BYTES:,} B"],
        [_("address-book entries per order"), f"{settings.PUSH_MAX_ADDRESS_BOOK_ENTRIES:,}"],
        [_("keys the protocol does not define, per object"), settings.PUSH_MAX_UNKNOWN_KEYS],
        [_("pushes per minute per institution, both doors together"), settings.PUSH_RATE_LIMIT_PER_MINUTE],
        [_("refused credentials per minute per client address"), settings.PUSH_REFUSALS_PER_MINUTE],
        [_("channel timeStamp window, seconds either side"), settings.CHANNEL_TIMESTAMP_WINDOW_SECONDS],
        [_("Retry-After of a 503, seconds"), settings.OUTAGE_RETRY_AFTER_SECONDS],
    ]
    return _table([_("limit"), _("value")], rows)


PARTS: dict[str, Callable[[], list[str]]] = {"fields": fields_part, "errors": errors_part, "limits": limits_part}


def render(part: str, language: str) -> str:
    with translation.override(language):
        return "\n".join(PARTS[part]()) + "\n"


def fill(document: str) -> str:
    """`document` with every generated block rendered afresh; the text around them untouched."""

    def replace(match: re.Match) -> str:
        return match["begin"] + render(match["part"], match["language"]) + match["end"]

    return BLOCK_RE.sub(replace, document)


def blocks(document: str) -> list[tuple[str, str]]:
    """The (part, language) of every generated block, in order."""
    return [(match["part"], match["language"]) for match in BLOCK_RE.finditer(document)]
