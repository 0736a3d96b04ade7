"""What a partner reads about each kind of value the push carries: format, accepted values, maximum length.

One entry per normalizer of `orders.normalizers` (and per free-text length, see
`text_format`), next to nothing else: `intake.serializers` attaches the entry to
each field (its OpenAPI description), and the partner guide's field tables are
generated from the fields (`intake.guide`, `manage.py write_partner_docs`). The
texts are translated in the .po file, so the Chinese tables come from here too.
"""

from typing import NamedTuple

from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from orders import normalizers


def _filled(message, **params):
    """`message % params`, translated when it is shown (not at import); a callable param is read then too."""
    return lazy(lambda: str(message) % {k: v() if callable(v) else v for k, v in params.items()}, str)()


class ValueFormat(NamedTuple):
    format: str
    accepted: str = ""
    max_length: int | None = None


_TRI_STATE = _(
    '"1", 1, true, "true": yes; "0", 0, false, "false": no; "", "-1", -1, null: unknown (case and spaces ignored)'
)
_SIZE = ValueFormat(
    _('free text such as "3.66 GB", "2048MB", "2.75 G" or a byte count'),
    _("any text; the size in bytes is read when the unit is B, K, M, G or T (1 G = 1024³)"),
    normalizers.SIZE_TEXT_MAX_LENGTH,
)

FORMATS: dict[object, ValueFormat] = {
    normalizers.order_no: ValueFormat(
        _("a string, or a JSON integer read as its text"),
        _("printable, without spaces or control characters"),
        normalizers.ORDER_NO_MAX_LENGTH,
    ),
    normalizers.loan_amount_fen: ValueFormat(
        _("whole fen, as digits or a JSON integer"),
        _filled(_("1 to %(max)s (no decimals, no sign)"), max=normalizers.MAX_LOAN_AMOUNT_FEN),
    ),
    normalizers.mobile_phone: ValueFormat(
        _("mainland mobile number; a +86, 0086 or 86 prefix, spaces and dashes are dropped"),
        _("11 digits 1[3-9]xxxxxxxxx once those are dropped"),
    ),
    normalizers.unix_time: ValueFormat(
        _("Unix time, as digits or a JSON integer"), _("10 digits (seconds) or 13 digits (milliseconds)")
    ),
    normalizers.longitude: ValueFormat(_("decimal degrees, string or number"), _("-180 to 180")),
    normalizers.latitude: ValueFormat(_("decimal degrees, string or number"), _("-90 to 90")),
    normalizers.ip_address: ValueFormat(
        _("one IPv4 or IPv6 address"), _("e.g. 117.136.0.1 or 2408:8207::1; not a list, no zone (%eth0)")
    ),
    normalizers.tri_state: ValueFormat(_("flag"), _TRI_STATE),
    normalizers.battery_percent: ValueFormat(_("whole percent, digits, optionally ending in %"), _("0 to 100")),
    normalizers.non_negative_count: ValueFormat(_("whole number, digits or a JSON integer"), _("0 to 2147483647")),
    normalizers.storage_size: _SIZE,
    normalizers.os_type: ValueFormat(
        _('free text such as "Android 10", "iOS 17.1", "HarmonyOS"'),
        _("any text; read as Android (android, harmony), iOS (ios, iphone, ipad) or other"),
        normalizers.OS_TYPE_MAX_LENGTH,
    ),
    normalizers.areas: ValueFormat(
        _("province,city,district (省,市,区), ASCII or full-width commas"),
        _filled(_("exactly three non-empty parts, each at most %(max)s characters"), max=normalizers.AREA_MAX_LENGTH),
    ),
    normalizers.relation: ValueFormat(
        _("text or code"),
        _(
            "e.g. 父母, 配偶, 子女, 兄弟姐妹, 朋友, 同事, PARENT, COUPLE, SIBLING, CHILD, CLASSMATE, FRIEND, "
            "COLLEAGUE, or a number (1-4 and 9-12 family, 5-8 and 100 not); any other text is kept as unknown"
        ),
        normalizers.RELATION_MAX_LENGTH,
    ),
}

# The address book (intake.serializers.AddressBookField), which has no normalizer per key.
PHONE_LIST = ValueFormat(
    _("JSON list of entries"),
    _filled(_("0 to %(max)s entries (a platform setting)"), max=lambda: settings.PUSH_MAX_ADDRESS_BOOK_ENTRIES),
)
PHONE_LIST_ITEM = ValueFormat(
    _('"name_phone" string (split on the last "_"; without "_" it is a phone only) or {"name": ..., "phone": ...}'),
    _('e.g. "张三_138 0013 8000", "中国移动_10086", "+8613800138000", {"name": "李四", "phone": "010-62345678"}'),
)
PHONE_LIST_NAME = ValueFormat(_("text, may be absent or null"), _("any"), normalizers.ADDRESS_BOOK_NAME_MAX_LENGTH)
PHONE_LIST_PHONE = ValueFormat(
    _("text or a JSON integer"),
    _(
        "any: landlines, short codes and junk are kept; separators and +86 dropped for search; "
        "an entry without a number is kept with an empty phone and counted in the answer"
    ),
    normalizers.ADDRESS_BOOK_PHONE_MAX_LENGTH,
)


def text_format(max_length: int) -> ValueFormat:
    """Free text of at most `max_length` characters (`intake.serializers.text`)."""
    return ValueFormat(_("text"), _("any; a number is read as its text"), max_length)
