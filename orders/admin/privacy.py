"""The admin's face of the privacy policy: every personal field and push body it draws goes through `orders.pii`.

- `PERSONAL_FIELDS` says which model fields hold which kind of personal data.
- `PersonalDataAdminMixin` draws them on changelists (masked unless the user may
  list personal data, an unmasked page then logged like an export) and on detail
  pages (one order: clear for personal-data holders, each view recorded).
- `dossier_as_shown` does the same for the order page, and `push_shown` /
  `body_view_text` for stored push bodies: masked by default for everyone,
  bounded in size, never raw for those without the right.
"""

import contextlib
import copy
import dataclasses
import json
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import escape

from orders import exports, pii
from orders.models import AddressBookEntry, Contact, Device, Employer, Order
from orders.pii import Kind
from orders.selectors import DEVICE_EXTRA_ROWS_LIMIT, FieldRow, OrderDossier, PushHistoryItem

PERSONAL_FIELDS: dict[type, dict[str, Kind]] = {
    Order: {"user_phone": Kind.PHONE},
    Device: {
        **dict.fromkeys(
            ("device_id", "idfa", "idfv", "android_id", "udid", "uuid", "imsi", "imei", "mac"), Kind.DEVICE_ID
        ),
        "ip": Kind.IP,
        "gps_longitude": Kind.GPS,
        "gps_latitude": Kind.GPS,
        "gps_address": Kind.ADDRESS,
    },
    Contact: {"name": Kind.NAME, "mobile": Kind.PHONE},
    Employer: {"tel_no": Kind.PHONE, "address": Kind.ADDRESS},
    AddressBookEntry: {"name": Kind.NAME, "phone": Kind.PHONE, "phone_digits": Kind.PHONE},
}
# deviceInfo keys the protocol does not define: masked by key, like a push body (identifier-like keys).
DEVICE_EXTRA_FIELD = "extra"
# Characters of one unknown deviceInfo key or value drawn on a page.
DEVICE_EXTRA_TEXT_LIMIT = 200


def _masked_device_extra(user, extra: dict) -> dict:
    return extra if pii.can_view_personal_data(user) else pii.mask_document({"deviceInfo": extra})["deviceInfo"]


def _clip(text: str, limit: int = DEVICE_EXTRA_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


def _column(name: str, label, kind: Kind, user, *, in_list: bool):
    """A per-request display callable: the field as `user` may see it here."""

    @admin.display(description=label)
    def column(obj):
        return pii.shown(user, kind, getattr(obj, name), in_list=in_list)

    column.__name__ = name  # the column's CSS class, as for a plain field
    return column


def _device_extra_column(user):
    @admin.display(description=Device._meta.get_field(DEVICE_EXTRA_FIELD).verbose_name)
    def extra(device):
        keys = sorted(device.extra or {})
        shown = _masked_device_extra(user, {key: device.extra[key] for key in keys[:DEVICE_EXTRA_ROWS_LIMIT]})
        text = "\n".join(
            f"{_clip(key)}: {_clip(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))}"
            for key, value in shown.items()
        )
        hidden = len(keys) - len(shown)
        return f"{text}\n… {hidden} more" if hidden > 0 else text

    return extra


class PersonalDataAdminMixin:
    """For admins of pushed data: personal fields on changelists and detail pages through the policy.

    Lists are masked unless the user may list personal data (`pii.can_list_personal_data`);
    an unmasked page is recorded in the export log. A detail page shows one order's data:
    clear for personal-data holders, recorded in the access log.
    """

    # The export log's kind for an unmasked page of this changelist.
    list_record_kind = ""

    def _personal_fields(self) -> dict[str, Kind]:
        return PERSONAL_FIELDS.get(self.model, {})

    def _shown(self, names, user, *, in_list: bool) -> list:
        fields = self._personal_fields()
        shown = []
        for name in names:
            if isinstance(name, str) and name in fields:
                label = self.model._meta.get_field(name).verbose_name
                shown.append(_column(name, label, fields[name], user, in_list=in_list))
            elif name == DEVICE_EXTRA_FIELD and self.model is Device:
                shown.append(_device_extra_column(user))
            else:
                shown.append(name)
        return shown

    def get_list_display(self, request):
        return self._shown(super().get_list_display(request), request.user, in_list=True)

    def get_fields(self, request, obj=None):
        # Read-only admins draw every field with display_for_value: personal ones become callables.
        return self._shown(super().get_fields(request, obj), request.user, in_list=False)

    def _lists_personal_data(self, request) -> bool:
        fields = self._personal_fields()
        return any(callable(name) and name.__name__ in fields for name in self.get_list_display(request))

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None and self._lists_personal_data(request):
            pii.list_view_record(
                user=request.user,
                source=exports.ExportSource.ADMIN,
                kind=self.list_record_kind or self.opts.model_name,
                filters=exports.filters_for_log(request.GET),
                rows=changelist.result_list,
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = (getattr(response, "context_data", None) or {}).get("original")
        if response.status_code == 200 and original is not None:
            pii.orders_view_record(
                user=request.user, order_ids=[original.order_id], context=f"admin:{self.opts.model_name}_change"
            )
        return response


# --- The order page ----------------------------------------------------------------------------


def _display_copy(instance, user, **extra):
    """A copy of `instance` (never saved) whose personal fields hold what `user` may see on one order's page."""
    shown = copy.copy(instance)
    for name, kind in PERSONAL_FIELDS.get(type(instance), {}).items():
        setattr(shown, name, pii.shown(user, kind, getattr(instance, name)))
    for name, value in extra.items():
        setattr(shown, name, value)
    return shown


def dossier_as_shown(dossier: OrderDossier, user) -> OrderDossier:
    """The dossier with every personal value as `user` may see it on one order's page (templates never decide)."""
    device_kinds = PERSONAL_FIELDS[Device]
    device_rows = [
        dataclasses.replace(row, value=pii.shown(user, device_kinds[row.name], row.value))
        if row.name in device_kinds
        else row
        for row in dossier.device_rows
    ]
    extra = (dossier.device.extra or {}) if dossier.device else {}
    masked_extra = _masked_device_extra(user, {row.name: extra[row.name] for row in dossier.device_extra_rows})
    device_extra_rows = [
        FieldRow(
            _clip(key), _clip(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)), _clip(key)
        )
        for key, value in masked_extra.items()
    ]
    return dataclasses.replace(
        dossier,
        device_rows=device_rows,
        device_extra_rows=device_extra_rows,
        contacts=[_display_copy(contact, user) for contact in dossier.contacts],
        employer=_display_copy(dossier.employer, user) if dossier.employer else None,
        address_book=[_display_copy(entry, user) for entry in dossier.address_book],
        # Whoever may open the order may read its pushes masked; the unmasked body is a recorded click away.
        push_history=[push_shown(item, PushLinks.for_user(user, item.log.pk)) for item in dossier.push_history],
    )


# --- Push bodies ---------------------------------------------------------------------------------

# The signed channel door's form-encoded envelope (its `args` is the payload as a JSON string).
_ENVELOPE_KEYS = frozenset({"ua", "args", "sign", "timeStamp", "call"})


def parse_body(raw: bytes):
    """A stored body as a document (JSON, or the channel envelope with `args` unfolded); None when it is neither."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        pairs = parse_qsl(text, keep_blank_values=True)
        keys = {key for key, _value in pairs}
        if not pairs or "args" not in keys or not keys <= _ENVELOPE_KEYS:
            return None
        document = dict(pairs)
    if isinstance(document, dict) and isinstance(document.get("args"), str):
        with contextlib.suppress(ValueError, RecursionError):
            document = {**document, "args": json.loads(document["args"])}
    return document


def _pretty(document) -> str | None:
    try:
        return json.dumps(document, ensure_ascii=False, indent=2)
    except (ValueError, RecursionError):
        return None


def masked_body_text(raw: bytes) -> str | None:
    """The body with the masking table applied to its parsed JSON; None when it cannot be parsed (never shown raw)."""
    document = parse_body(raw)
    return None if document is None else _pretty(pii.mask_document(document))


def unmasked_body_text(raw: bytes) -> str:
    """The body as pushed, indented when it parses."""
    document = parse_body(raw)
    pretty = None if document is None else _pretty(document)
    return pretty if pretty is not None else raw.decode("utf-8", errors="replace")


def bounded_text(text: str, limit_bytes: int) -> tuple[str, bool]:
    """`text` cut so that, HTML-escaped and UTF-8 encoded, it stays within `limit_bytes`; and whether it was cut."""
    if len(text) > limit_bytes:
        text, cut = text[:limit_bytes], True
    else:
        cut = False
    size = len(escape(text).encode())
    while size > limit_bytes:
        # Quotes escape to six bytes and CJK characters take three: cut in proportion, then check again.
        text, cut = text[: len(text) * limit_bytes // size], True
        size = len(escape(text).encode())
    return text, cut


@dataclasses.dataclass(frozen=True)
class PushLinks:
    """Where the admin serves one stored body; an empty URL means the user may not use it."""

    body_url: str = ""  # the body's page, masked
    unmasked_url: str = ""  # the body's page, unmasked and recorded (personal-data holders)
    download_url: str = ""  # the stored body (masked for those without the right)

    @classmethod
    def for_user(cls, user, log_id: int) -> "PushLinks":
        """The push log's body views (intake.admin.PushLogAdmin), which check the user's rights again."""
        return cls(
            body_url=reverse("admin:orders_pushlog_body", args=[log_id]),
            unmasked_url=reverse("admin:orders_pushlog_body_unmasked", args=[log_id])
            if pii.can_view_personal_data(user)
            else "",
            download_url=reverse("admin:orders_pushlog_body_download", args=[log_id]),
        )


class BodyState:
    SHOWN = "shown"
    TOO_LARGE = "too_large"
    UNPARSABLE = "unparsable"
    NONE = "none"


@dataclasses.dataclass(frozen=True)
class ShownPush:
    """One push as a page draws it: its summary, its errors and its body masked, everything bounded."""

    log: object
    size: int | None
    state: str
    text: str
    truncated: bool
    errors_text: str
    links: PushLinks


def errors_text(item: PushHistoryItem) -> str:
    """A push's errors, indented, from the bounded prefix the page read (cut with `…` when longer)."""
    if not item.errors_head or item.errors_head in ("[]", "{}"):
        return ""
    if item.errors_complete:
        with contextlib.suppress(ValueError):
            return json.dumps(json.loads(item.errors_head), ensure_ascii=False, indent=1)
    return f"{item.errors_head}…"


def push_shown(item: PushHistoryItem, links: PushLinks) -> ShownPush:
    """A push of the order page's history: masked for everyone (the unmasked body is a link away)."""
    limit = settings.ADMIN_PUSH_BODY_PREVIEW_BYTES
    if item.body_length is None:
        state, text, truncated = BodyState.NONE, "", False
    elif not item.body_complete:
        state, text, truncated = BodyState.TOO_LARGE, "", False
    else:
        masked = masked_body_text(item.body_head)
        if masked is None:
            state, text, truncated = BodyState.UNPARSABLE, "", False
        else:
            text, truncated = bounded_text(masked, limit)
            state = BodyState.SHOWN
    return ShownPush(item.log, item.body_length, state, text, truncated, errors_text(item), links)


def body_view_text(raw: bytes | None, *, unmasked: bool) -> tuple[str, str, bool]:
    """For one body's own page: (state, text, truncated); masked unless `unmasked`, bounded either way."""
    if raw is None:
        return BodyState.NONE, "", False
    text = unmasked_body_text(raw) if unmasked else masked_body_text(raw)
    if text is None:
        return BodyState.UNPARSABLE, "", False
    text, truncated = bounded_text(text, settings.ADMIN_PUSH_BODY_PREVIEW_BYTES)
    return BodyState.SHOWN, text, truncated
