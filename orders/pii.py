"""The one privacy policy: who may see personal data unmasked, how it is masked, and the access records.

Reviewers call applicants and need full numbers, one order at a time; analysts
work on aggregates and see personal data masked. A list (API page, admin
changelist, CSV) is a bulk read: it is unmasked only for users who hold both the
export and the personal-data permission, and it is then logged like an export.
Every unmasked view leaves a record (`PersonalDataAccess` or `ExportLog`): that
log is how misuse is found.

Masking (the README's "Personal data" table):

- phones with 7+ digits keep their first 3 and last 4 digits (`138****0000`),
  shorter ones their last 2;
- names keep their first character (`张*`);
- device identifiers become keyed pseudonyms (first 16 hex digits of
  HMAC-SHA256 under `PII_PSEUDONYM_KEY`), equal in every surface so analysts can
  still join and count;
- IPv4 addresses keep their /24 (`117.136.0.*`), IPv6 their /48;
- GPS coordinates keep 2 decimals; addresses their province/city/district part.

`orders.exports` mirrors the phone, name, IP and GPS rules in SQL for the
PostgreSQL export path (a test holds both to the same bytes); pseudonyms and the
masked GPS address are stored with the device row (`device_stored_masks`).
"""

import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Iterable, Sized
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from functools import cache

from django.conf import settings
from django.utils import timezone

from orders.models import ExportLog, PersonalDataAccess
from orders.permissions import EXPORT_ORDER, VIEW_PERSONAL_DATA

# Characters a phone number is written with that carry no digit: dropped before masking, so
# `+86 139-0000-2222` and `8613900002222` mask alike. Anything else counts as a digit (and is
# hidden like one), so junk in an address book cannot pass through unmasked.
PHONE_SEPARATORS = " +-()."
_PHONE_SEPARATORS_TABLE = str.maketrans("", "", PHONE_SEPARATORS)
MASKED = "*"


def can_view_personal_data(user) -> bool:
    """Unmasked personal data of one order at a time (the order page, the API detail)."""
    return bool(user and user.is_active and user.has_perm(VIEW_PERSONAL_DATA))


def can_list_personal_data(user) -> bool:
    """Unmasked personal data in lists (API pages, admin changelists, CSVs): a bulk read is an
    export, so it needs the export permission as well as the personal-data one."""
    return can_view_personal_data(user) and user.has_perm(EXPORT_ORDER)


# --- Masking functions (CONTRACT-level table in the README) -------------------------------------


def mask_phone(value: str) -> str:
    """`13812340000` → `138****0000`; under 7 digits all but the last 2 are `*` (`***86`)."""
    if not value:
        return ""
    digits = str(value).translate(_PHONE_SEPARATORS_TABLE)
    if len(digits) >= 7:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_name(value: str) -> str:
    """`张三` → `张*`, `Mary` → `M*`; one code point is kept, whatever it is."""
    if not value:
        return ""
    return f"{str(value)[:1]}*"


@cache
def _pseudonym_key(configured: str, secret: str) -> bytes:
    if configured:
        return configured.encode()
    # A key of its own, derived so that the pseudonyms reveal nothing about SECRET_KEY.
    return hmac.new(secret.encode(), b"orders.pii.pseudonym", hashlib.sha256).digest()


def pseudonym_key() -> bytes:
    return _pseudonym_key(settings.PII_PSEUDONYM_KEY, settings.SECRET_KEY)


def pseudonym(value: str) -> str:
    """The first 16 hex digits of HMAC-SHA256(`PII_PSEUDONYM_KEY`, value); `""` stays `""`."""
    if value is None or value == "":
        return ""
    return hmac.new(pseudonym_key(), str(value).encode(), hashlib.sha256).hexdigest()[:16]


# The device's identifiers (Device fields) with the names the push protocol gives them, defined
# here once: masked as DEVICE_ID, cleared by the retention purge (`orders.retention`), and, for the
# indexed ones, compared across orders by the risk signals (`orders.risk.facts.COMPARED_IDENTIFIERS`).
DEVICE_IDENTIFIERS: dict[str, str] = {
    "device_id": "deviceId",
    "imei": "imei",
    "android_id": "androidId",
    "idfa": "idfa",
    "idfv": "idfv",
    "imsi": "imsi",
    "udid": "udid",
    "uuid": "uuid",
    "mac": "mac",
}

# Masked forms stored on the device row for the CSV export, which then only selects them: the
# pseudonyms of the identifiers it carries (`<name>_pseudonym`, an HMAC each) and the masked GPS
# address (a regular expression that PostgreSQL runs at 8 µs a row).
STORED_PSEUDONYMS = ("device_id", "imei", "android_id", "idfa")
STORED_MASK_SOURCES = (*STORED_PSEUDONYMS, "gps_address")
STORED_MASK_FIELDS = (*(f"{name}_pseudonym" for name in STORED_PSEUDONYMS), "gps_address_masked")


def device_stored_masks(device) -> dict[str, str]:
    """The stored masked columns (STORED_MASK_FIELDS) for a device's values (a dict or a Device)."""
    get = device.get if isinstance(device, dict) else lambda name, default="": getattr(device, name, default)
    masks = {f"{name}_pseudonym": pseudonym(get(name, "") or "") for name in STORED_PSEUDONYMS}
    masks["gps_address_masked"] = mask_address(get("gps_address", "") or "")
    return masks


def mask_ip(value) -> str:
    """IPv4 to its /24 (`117.136.0.*`), IPv6 to its /48 (`2408:8456:1234::/48`); not an address: `*`."""
    if value is None or value == "":
        return ""
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        return MASKED
    if address.version == 4:
        return ".".join(str(address).split(".")[:3]) + ".*"
    return str(ipaddress.ip_network(f"{address}/48", strict=False))


_CENT = Decimal("0.01")


def mask_gps(value) -> str:
    """A coordinate rounded to 2 decimals (about 1 km), half away from zero: `121.5103` → `121.51`."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite():
            return MASKED
        rounded = number.quantize(_CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return MASKED
    return format(abs(rounded) if rounded == 0 else rounded, "f")


# Administrative divisions at the start of an address. The name parts never hold a division's
# suffix character, so each part stops at the first suffix and the greedy pattern has one reading
# (the same in Python and in PostgreSQL's regular expressions, which the SQL export uses).
_NAME = "[^省市区县盟旗0-9A-Za-z\\s,，、;；:：()（）#-]"
_PROVINCE = f"(?:北京市|天津市|上海市|重庆市|{_NAME}{{2,10}}(?:省|自治区|特别行政区))"
_CITY = f"(?:{_NAME}{{1,15}}(?:市|地区|盟))"
_DISTRICT = f"(?:{_NAME}{{1,15}}(?:区|县|市|旗))"
ADDRESS_AREA_PATTERN = f"^(?:{_PROVINCE}{_CITY}?{_DISTRICT}?|{_CITY}{_DISTRICT}?)"
_ADDRESS_AREA_RE = re.compile(ADDRESS_AREA_PATTERN)


def mask_address(value: str) -> str:
    """`广东省深圳市南山区科技园南区` → `广东省深圳市南山区`; without a province or city: `*`."""
    if not value:
        return ""
    match = _ADDRESS_AREA_RE.match(str(value))
    return match.group(0) if match else MASKED


class Kind(StrEnum):
    PHONE = "phone"
    NAME = "name"
    DEVICE_ID = "device_id"
    IP = "ip"
    GPS = "gps"
    ADDRESS = "address"


_MASKERS = {
    Kind.PHONE: mask_phone,
    Kind.NAME: mask_name,
    Kind.DEVICE_ID: pseudonym,
    Kind.IP: mask_ip,
    Kind.GPS: mask_gps,
    Kind.ADDRESS: mask_address,
}


def mask(kind: Kind, value) -> str:
    """`value` masked as personal data of `kind`; None and `""` give `""`."""
    if value is None:
        return ""
    return _MASKERS[Kind(kind)](value)


def shown(user, kind: Kind, value, *, in_list: bool = False) -> str:
    """`value` as `user` may see it here: clear with the right (lists need the list right), else masked."""
    if not (can_list_personal_data(user) if in_list else can_view_personal_data(user)):
        return mask(kind, value)
    return "" if value is None else str(value)


# --- Parsed push bodies -------------------------------------------------------------------------


def _key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


# Keys of the push protocol (and the usual spellings of senders), compared lower-case without `_`/`-`.
KEY_KINDS: dict[str, Kind] = {
    **dict.fromkeys(
        ("userphone", "mobile", "mobilespare", "phone", "telno", "tel", "telephone", "phonenumber", "mobilephone"),
        Kind.PHONE,
    ),
    **dict.fromkeys(("name", "namespare", "username", "realname", "contactname"), Kind.NAME),
    # The protocol's identifiers, and two that senders add to deviceInfo although it defines neither.
    **dict.fromkeys((*(_key(name) for name in DEVICE_IDENTIFIERS.values()), "oaid", "serial"), Kind.DEVICE_ID),
    **dict.fromkeys(("ip", "ipaddress", "clientip"), Kind.IP),
    **dict.fromkeys(("gpslongitude", "gpslatitude", "longitude", "latitude"), Kind.GPS),
    **dict.fromkeys(("gpsaddress", "address"), Kind.ADDRESS),
}
# Unknown deviceInfo keys naming an identifier (`tdDeviceId`, `wifiMac`, `smFingerprint`, ...).
_IDENTIFIER_KEY_RE = re.compile(
    r"(?:id|imei|imsi|mac|uuid|udid|idfa|idfv|oaid|serial|fingerprint|token|blackbox|guid)$"
)
_DEVICE_SECTION = "deviceinfo"
# Sections about third parties: the emergency contacts and the employer. A key the protocol does not
# define there (`spouseName`, `hrContact`) may hold a name, which no rule recognises by its value, so
# its text is masked as a name; the protocol's own keys there follow KEY_KINDS (or are not personal).
_THIRD_PARTY_KEYS = {
    "contactinfo": {_key(name) for name in ("name", "mobile", "relation", "nameSpare", "mobileSpare", "relationSpare")},
    "workofficeinfo": {_key(name) for name in ("companyName", "areas", "address", "telNo")},
}
_PHONE_LIST = "phonelist"
_ENVELOPE_ARGS = "args"
MAX_DOCUMENT_DEPTH = 64


# Phone numbers written inside any other string of a body (keys the protocol does not define, such as
# `spouseMobile` or `simPhoneNumber`, which senders add): mainland mobiles, with or without +86 and
# separators, and landlines with their area code. Not inside a longer run of digits or letters, so
# timestamps, IMSIs and orderNos such as `YB13800001111` are left alone.
_PHONE_IN_TEXT_RE = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}|0\d{2,3}[ -]?\d{7,8})(?!\d)")


def mask_phones_in_text(text: str) -> str:
    """Every phone number written in `text` masked in place; the rest of the text unchanged."""
    return _PHONE_IN_TEXT_RE.sub(lambda match: mask_phone(match.group(0)), text)


def mask_name_phone(item: str) -> str:
    """An address-book string `name_phone` (split on the last `_`; no `_`: phone only), masked."""
    name, separator, phone = item.rpartition("_")
    return f"{mask_name(name)}{separator}{mask_phone(phone)}"


def _mask_leaves(value, kind: Kind, depth: int):
    """Every scalar under a personal-data key is masked, whatever shape a sender gave it."""
    if depth > MAX_DOCUMENT_DEPTH:
        return MASKED
    if isinstance(value, dict):
        return {key: _mask_leaves(item, kind, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_leaves(item, kind, depth + 1) for item in value]
    if value is None or isinstance(value, bool):
        return value
    return mask(kind, value if isinstance(value, str) else json.dumps(value))


def _mask_phone_list(value, depth: int):
    if isinstance(value, str):
        return mask_name_phone(value)
    if not isinstance(value, list):
        return _mask_node(value, depth + 1, in_device=False)
    items = []
    for item in value:
        if isinstance(item, str):
            items.append(mask_name_phone(item))
        elif isinstance(item, (dict, list)):
            items.append(_mask_node(item, depth + 1, in_device=False))
        elif item is None or isinstance(item, bool):
            items.append(item)
        else:
            items.append(mask_phone(json.dumps(item)))
    return items


def _mask_envelope_args(value: str, depth: int):
    """The channel door's `args` is the payload as a JSON string: masked as JSON, kept a string."""
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        # Not JSON, so it cannot be masked by key: hidden whole (it is the pushed data, as sent).
        return MASKED
    if not isinstance(parsed, (dict, list)):
        return MASKED
    return json.dumps(_mask_node(parsed, depth + 1, in_device=False), ensure_ascii=False)


def _mask_node(value, depth: int, *, in_device: bool, third_party: set[str] | None = None):
    if depth > MAX_DOCUMENT_DEPTH:
        return MASKED
    if isinstance(value, list):
        return [_mask_node(item, depth + 1, in_device=in_device) for item in value]
    if isinstance(value, str):
        return mask_phones_in_text(value)
    if not isinstance(value, dict):
        return value
    masked = {}
    for key, item in value.items():
        name = _key(str(key))
        kind = KEY_KINDS.get(name)
        if kind is None and in_device and _IDENTIFIER_KEY_RE.search(name):
            kind = Kind.DEVICE_ID
        if kind is None and third_party is not None and name not in third_party:
            kind = Kind.NAME
        if kind is not None:
            masked[key] = _mask_leaves(item, kind, depth + 1)
        elif name == _PHONE_LIST:
            masked[key] = _mask_phone_list(item, depth + 1)
        elif name == _ENVELOPE_ARGS and isinstance(item, str):
            masked[key] = _mask_envelope_args(item, depth + 1)
        else:
            in_section = in_device or name == _DEVICE_SECTION
            masked[key] = _mask_node(item, depth + 1, in_device=in_section, third_party=_THIRD_PARTY_KEYS.get(name))
    return masked


def mask_document(document: object) -> object:
    """A parsed push body (or channel envelope) with the masking rules applied by key; never raises."""
    try:
        return _mask_node(document, 0, in_device=False)
    except RecursionError:
        return MASKED


# --- Access records -----------------------------------------------------------------------------


def personal_data_access_record(*, user, order_ids: Iterable[int], context: str) -> None:
    """Record that `user` was shown the orders' personal data unmasked, in one INSERT."""
    now = timezone.now()
    PersonalDataAccess.objects.bulk_create(
        [PersonalDataAccess(user=user, order_id=order_id, accessed_at=now, context=context) for order_id in order_ids]
    )


def unmasked_list_record(*, user, source: str, kind: str, filters: dict, row_count: int) -> None:
    """Record an unmasked list (an API page, an admin changelist page) in the export log, like an export."""
    now = timezone.now()
    ExportLog.objects.create(
        user=user,
        kind=kind,
        source=source[:16],
        filters=filters,
        row_count=row_count,
        unmasked=True,
        created_at=now,
        finished_at=now,
    )


def list_view_record(*, user, source: str, kind: str, filters: dict, rows: Sized) -> bool:
    """A list page (an API page, an admin changelist) was drawn for `user`: logged like an export when this
    policy showed it unmasked (`can_list_personal_data`). `rows` is counted only then. Returns whether it was."""
    if not can_list_personal_data(user):
        return False
    unmasked_list_record(user=user, source=source, kind=kind, filters=filters, row_count=len(rows))
    return True


def orders_view_record(*, user, order_ids: Iterable[int], context: str, in_list: bool = False) -> bool:
    """Orders' personal data was drawn for `user` (`in_list`: on a list page): each order goes to the access log
    when this policy showed it unmasked (`can_list_personal_data` / `can_view_personal_data`). Returns whether."""
    if not (can_list_personal_data(user) if in_list else can_view_personal_data(user)):
        return False
    personal_data_access_record(user=user, order_ids=order_ids, context=context)
    return True


def push_body_view_record(*, user, order_ids: list[int], push_log_id: int, context: str) -> None:
    """A push body shown unmasked: recorded against its order, or in the export log when it made none."""
    if order_ids:
        personal_data_access_record(user=user, order_ids=order_ids, context=context)
    else:
        unmasked_list_record(
            user=user, source="admin", kind="push_body", filters={"push_log": push_log_id}, row_count=1
        )
