"""Pure functions that turn the protocol's strings into typed values (docs/contract.md §2).

Each normalizer takes the value as it came out of the JSON document and either
returns the typed value or raises `NormalizationError` with a human-readable
reason. They know nothing about Django, DRF or HTTP, so the REST door, the
channel door, the data generator and the property-based tests all share them.

"Unknown" values (`""` where the contract allows it) are handled by the caller,
which knows whether a field identifies something; normalizers only see values
that have to be interpreted.
"""

import ipaddress
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import NamedTuple

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from orders.choices import OsKind, RelationCategory

MAX_LOAN_AMOUNT_FEN = 10**11
GPS_DECIMAL_PLACES = 12
ORDER_NO_MAX_LENGTH = 64
ADDRESS_BOOK_NAME_MAX_LENGTH = 128
ADDRESS_BOOK_PHONE_MAX_LENGTH = 64
SIZE_TEXT_MAX_LENGTH = 64
# The columns' lengths: longer text would be a database error, not a 400.
OS_TYPE_MAX_LENGTH = 64
RELATION_MAX_LENGTH = 32
AREA_MAX_LENGTH = 64

MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_PHONE_SEPARATORS_RE = re.compile(r"[\s\-]")
_NON_DIGITS_RE = re.compile(r"\D")
_DIGITS_RE = re.compile(r"\d+")
_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_SIZE_RE = re.compile(
    r"\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT](?:I?B)?|B|BYTES?)?\s*",
    re.IGNORECASE,
)
_SIZE_MULTIPLIERS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_AREAS_SEPARATOR_RE = re.compile(r"[,，]")


class NormalizationError(ValueError):
    """A value that the contract rejects; `message` is safe to show to the sender."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _max_length_message(max_length: int) -> str:
    return _("Ensure this field has no more than %(max_length)s characters.") % {"max_length": max_length}


def _check_length(text: str, max_length: int) -> None:
    if len(text) > max_length:
        raise NormalizationError(_max_length_message(max_length), code="max_length")


def _as_text(value: object, what: str) -> str:
    """The protocol sends strings; numbers are accepted as their decimal text.

    `what` is marked with gettext_noop by the caller and translated only when
    the value is refused, so the accepted path pays no translation.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise NormalizationError(_("Expected %(what)s.") % {"what": _(what)})


# --- Order -----------------------------------------------------------------------


def order_no(value: object) -> str:
    """1-64 visible characters; a JSON integer is read as its decimal text (`12345` is `"12345"`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise NormalizationError(_("orderNo must be a string or an integer."))
    if not 1 <= len(value) <= ORDER_NO_MAX_LENGTH:
        raise NormalizationError(
            _("orderNo must be 1 to %(max_length)s characters.") % {"max_length": ORDER_NO_MAX_LENGTH},
            code="max_length",
        )
    if not value.isprintable() or any(char.isspace() for char in value):
        raise NormalizationError(_("orderNo may not contain whitespace or control characters."))
    return value


def loan_amount_fen(value: object) -> int:
    """Integer fen, as a digit string or a JSON integer, 1 to 10^11."""
    if isinstance(value, bool):
        raise NormalizationError(_("Loan amount must be an integer number of fen."))
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        # Bounded before int(): past 4,300 digits Python refuses with a message about its internals.
        amount = int(value) if len(value.lstrip("0")) <= len(str(MAX_LOAN_AMOUNT_FEN)) else MAX_LOAN_AMOUNT_FEN + 1
    else:
        raise NormalizationError(_("Loan amount must be a whole number of fen (digits only, no decimals or sign)."))
    if not 1 <= amount <= MAX_LOAN_AMOUNT_FEN:
        raise NormalizationError(_("Loan amount must be between 1 and %(max)s fen.") % {"max": MAX_LOAN_AMOUNT_FEN})
    return amount


# --- Phone numbers ---------------------------------------------------------------


def _strip_country_code(digits: str, had_plus: bool) -> str:
    """Drop a +86 / 0086 / 86 prefix when what follows it is a full national number."""
    if digits.startswith("0086") and len(digits) > 13:
        return digits[4:]
    if digits.startswith("86") and (had_plus or len(digits) == 13):
        return digits[2:]
    return digits


def mobile_phone(value: object) -> str:
    """A mainland mobile number, with optional +86/0086/86 prefix, spaces or dashes."""
    text = _as_text(value, gettext_noop("a phone number as a string"))
    compact = _PHONE_SEPARATORS_RE.sub("", text)
    had_plus = compact.startswith("+")
    if had_plus:
        compact = compact[1:]
    if not (compact.isascii() and compact.isdigit()):
        raise NormalizationError(_("Enter a mainland mobile number such as 13800001111."))
    national = _strip_country_code(compact, had_plus)
    if not MOBILE_RE.fullmatch(national):
        raise NormalizationError(_("Enter a mainland mobile number such as 13800001111."))
    return national


def phone_digits(phone: str) -> str:
    """The digits of any number as dialled at home: separators and country code dropped.

    Used for address-book entries (landlines, short codes and junk included) and
    for searching, so that `+86 139-0000-2222` and `13900002222` meet.
    """
    stripped = phone.strip()
    digits = _NON_DIGITS_RE.sub("", stripped)
    return _strip_country_code(digits, stripped.startswith("+"))


def is_mobile(digits: str) -> bool:
    return MOBILE_RE.fullmatch(digits) is not None


# --- Device ----------------------------------------------------------------------


def unix_time(value: object) -> datetime:
    """10 digits of seconds or 13 digits of milliseconds, to an aware UTC datetime."""
    text = _as_text(value, gettext_noop("a Unix time"))
    if not (text.isascii() and text.isdigit() and len(text) in (10, 13)):
        raise NormalizationError(_("Expected a Unix time of 10 digits (seconds) or 13 (milliseconds)."))
    seconds = int(text) / 1000 if len(text) == 13 else int(text)
    return datetime.fromtimestamp(seconds, tz=UTC)


def _bounded_decimal(value: object, limit: int, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise NormalizationError(_("%(what)s must be a decimal number.") % {"what": _(what)})
    text = repr(value) if isinstance(value, float) else str(value)
    if not _DECIMAL_RE.fullmatch(text):
        raise NormalizationError(_("%(what)s must be a decimal number.") % {"what": _(what)})
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise NormalizationError(_("%(what)s must be a decimal number.") % {"what": _(what)}) from None
    if not -limit <= number <= limit:
        raise NormalizationError(
            _("%(what)s must be between -%(limit)s and %(limit)s.") % {"what": _(what), "limit": limit}
        )
    return number.quantize(Decimal(1).scaleb(-GPS_DECIMAL_PLACES), rounding=ROUND_HALF_EVEN)


def longitude(value: object) -> Decimal:
    return _bounded_decimal(value, 180, gettext_noop("Longitude"))


def latitude(value: object) -> Decimal:
    return _bounded_decimal(value, 90, gettext_noop("Latitude"))


def ip_address(value: object) -> str:
    if not isinstance(value, str):
        raise NormalizationError(_("Enter a valid IPv4 or IPv6 address."))
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        raise NormalizationError(_("Enter a valid IPv4 or IPv6 address.")) from None
    if getattr(address, "scope_id", None):  # `fe80::1%eth0`: no database's address type stores a zone
        raise NormalizationError(_("Enter a valid IPv4 or IPv6 address."))
    return str(address)


_TRUE_VALUES = {"1", "true"}
_FALSE_VALUES = {"0", "false"}
_UNKNOWN_VALUES = {"", "-1"}


def tri_state(value: object) -> bool | None:
    """`1`/`true` → True, `0`/`false` → False, `""`/`-1`/null → None (unknown)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().lower()
    else:
        raise NormalizationError(_('Expected "1", "0", true, false, "" or "-1".'))
    if text in _TRUE_VALUES:
        return True
    if text in _FALSE_VALUES:
        return False
    if text in _UNKNOWN_VALUES:
        return None
    raise NormalizationError(_('Expected "1", "0", true, false, "" or "-1".'))


def battery_percent(value: object) -> int:
    text = _as_text(value, gettext_noop("a battery level"))
    if text.endswith("%"):
        text = text[:-1]
    if not (text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 3 and int(text) <= 100):
        raise NormalizationError(_("Battery level must be a whole percentage from 0 to 100."))
    return int(text)


def non_negative_count(value: object) -> int:
    text = _as_text(value, gettext_noop("a whole number"))
    if not (text.isascii() and text.isdigit()):
        raise NormalizationError(_("Expected a non-negative whole number."))
    if len(text.lstrip("0")) > 10:  # before int(), which refuses 4,300 digits with a message about Python
        raise NormalizationError(_("Number is too large."))
    count = int(text)
    if count > 2**31 - 1:
        raise NormalizationError(_("Number is too large."))
    return count


class SizeValue(NamedTuple):
    text: str
    bytes: int | None


def storage_size(value: object) -> SizeValue:
    """Free text such as `3.66 GB`; bytes when the unit is recognised (1 GB = 1024³)."""
    text = _as_text(value, gettext_noop("a size as text"))
    if len(text) > SIZE_TEXT_MAX_LENGTH:
        raise NormalizationError(_max_length_message(SIZE_TEXT_MAX_LENGTH), code="max_length")
    match = _SIZE_RE.fullmatch(text)
    if not match:
        return SizeValue(text, None)
    unit = (match["unit"] or "B").upper()
    multiplier = _SIZE_MULTIPLIERS.get(unit[0], 1)
    size = int(Decimal(match["number"]) * multiplier)
    # Above a petabyte the number is not a device size but noise.
    return SizeValue(text, size if size < 2**53 else None)


class OsType(NamedTuple):
    text: str
    kind: str


def os_type(value: object) -> OsType:
    text = _as_text(value, gettext_noop("an OS name"))
    _check_length(text, OS_TYPE_MAX_LENGTH)
    lowered = text.lower()
    if "android" in lowered or "harmony" in lowered:
        kind = OsKind.ANDROID
    elif lowered.startswith("ios") or "iphone" in lowered or "ipad" in lowered:
        kind = OsKind.IOS
    else:
        kind = OsKind.OTHER
    return OsType(text, kind)


# --- Employer --------------------------------------------------------------------


class Areas(NamedTuple):
    province: str
    city: str
    district: str


def areas(value: object) -> Areas:
    """`省,市,区`, separated by ASCII or full-width commas."""
    text = _as_text(value, gettext_noop("province,city,district"))
    parts = [part.strip() for part in _AREAS_SEPARATOR_RE.split(text)]
    if len(parts) != 3 or not all(parts):
        raise NormalizationError(_("Expected three non-empty parts: province,city,district (省,市,区)."))
    for part in parts:
        _check_length(part, AREA_MAX_LENGTH)
    return Areas(*parts)


# --- Emergency contacts ------------------------------------------------------------

_RELATION_WORDS: dict[str, str] = {}
for _category, _words in {
    RelationCategory.PARENT: "PARENT PARENTS FATHER MOTHER 父母 父亲 母亲 爸爸 妈妈 父 母",
    RelationCategory.SPOUSE: "COUPLE SPOUSE HUSBAND WIFE 配偶 夫妻 丈夫 妻子 老公 老婆 爱人",
    RelationCategory.CHILD: "CHILD CHILDREN SON DAUGHTER 子女 儿子 女儿",
    RelationCategory.SIBLING: "SIBLING SIBLINGS BROTHER SISTER 兄弟姐妹 兄弟 姐妹 兄妹 姐弟 哥哥 姐姐 弟弟 妹妹",
    RelationCategory.RELATIVE: "RELATIVE RELATIVES FAMILY 亲戚 亲属 家人 直系亲属",
    RelationCategory.CLASSMATE: "CLASSMATE CLASSMATES 同学",
    RelationCategory.FRIEND: "FRIEND FRIENDS 朋友 好友",
    RelationCategory.COLLEAGUE: "COLLEAGUE COLLEAGUES COWORKER 同事",
    RelationCategory.OTHER: "OTHER OTHERS 其他 其它",
}.items():
    for _word in _words.split():
        _RELATION_WORDS[_word] = _category

# Older senders use numeric codes whose meanings were never published: the only
# thing known is which ones denote family members, so that is all we claim.
_FAMILY_CODES = {1, 2, 3, 4, 9, 10, 11, 12}
_NON_FAMILY_CODES = {5, 6, 7, 8, 100}


class Relation(NamedTuple):
    text: str
    category: str


def relation(value: object) -> Relation:
    text = _as_text(value, gettext_noop("a relation as text or code"))
    _check_length(text, RELATION_MAX_LENGTH)
    key = text.strip().upper()
    if key.isascii() and key.isdigit() and len(key) <= 9:  # longer is no code, and int() of 4,300 digits fails
        code = int(key)
        if code in _FAMILY_CODES:
            return Relation(text, RelationCategory.RELATIVE)
        if code in _NON_FAMILY_CODES:
            return Relation(text, RelationCategory.OTHER)
        return Relation(text, RelationCategory.UNKNOWN)
    return Relation(text, _RELATION_WORDS.get(key, RelationCategory.UNKNOWN))


# --- Address book ----------------------------------------------------------------


class AddressBookEntry(NamedTuple):
    name: str
    phone: str
    phone_digits: str
    is_mobile: bool


def address_book_entry(item: object) -> AddressBookEntry:
    """One `phoneList` item: `"name_phone"` (split on the last `_`) or `{name, phone}`; the phone may be empty."""
    if isinstance(item, str):
        name, separator, phone = item.rpartition("_")
        if not separator:
            name, phone = "", item
    elif isinstance(item, dict):
        name = item.get("name")
        phone = item.get("phone")
        if name is None:
            name = ""
        elif not isinstance(name, str):
            raise NormalizationError(_("Entry name must be a string."))
        if isinstance(phone, int) and not isinstance(phone, bool):
            phone = str(phone)
        elif phone is not None and not isinstance(phone, str):
            raise NormalizationError(_("Entry phone must be a string."))
    else:
        raise NormalizationError(_('Expected a "name_phone" string or an object with name and phone.'))
    if phone is None or not phone.strip():
        # A contact saved without a number: kept with an empty phone (and counted), never refusing the order.
        phone = ""
    if len(name) > ADDRESS_BOOK_NAME_MAX_LENGTH:
        raise NormalizationError(
            _("Entry name is longer than %(max_length)s characters.") % {"max_length": ADDRESS_BOOK_NAME_MAX_LENGTH},
            code="max_length",
        )
    if len(phone) > ADDRESS_BOOK_PHONE_MAX_LENGTH:
        raise NormalizationError(
            _("Entry phone is longer than %(max_length)s characters.") % {"max_length": ADDRESS_BOOK_PHONE_MAX_LENGTH},
            code="max_length",
        )
    digits = phone_digits(phone)
    return AddressBookEntry(name, phone, digits, is_mobile(digits))
