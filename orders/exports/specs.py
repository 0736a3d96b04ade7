"""What each export writes: its columns (lookup, formatter, personal-data rule), header rows and rows to read."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from orders import selectors
from orders.choices import ExportKind
from orders.exports.formatters import (
    booleans,
    datetimes,
    decimals,
    gps_masked,
    ips_masked,
    names_masked,
    phones_masked,
    phones_unmasked,
    texts,
    yuans,
)
from orders.models import Order


@dataclass(frozen=True)
class Personal:
    """Formatter marker of a personal-data column: `unmasked` or `masked` formatting depending on the user
    (orders.pii.can_list_personal_data), and, masked, a column stored with the row (`masked_lookup`: the
    pseudonym of an identifier, the masked GPS address) read instead of the value."""

    unmasked: Callable[[tuple], Iterable] | None
    masked: Callable[[tuple], Iterable] | None
    masked_lookup: str = ""


_PHONES = Personal(phones_unmasked, phones_masked)
_NAMES = Personal(texts, names_masked)
_IPS = Personal(None, ips_masked)
_GPS = Personal(decimals, gps_masked)


def _stored_mask(masked_lookup: str) -> Personal:
    """Masked, the export reads the form stored with the row (orders.pii.STORED_MASK_FIELDS)."""
    return Personal(texts, texts, masked_lookup=masked_lookup)


def _pseudonymised(lookup: str) -> Personal:
    """A device identifier: masked, its stored pseudonym."""
    return _stored_mask(f"{lookup}_pseudonym")


@dataclass(frozen=True)
class Column:
    header: str
    lookup: str
    # A column formatter (orders.exports.formatters) or a `Personal`; None passes the values to csv as they are
    # (numbers, fixed vocabularies).
    format: Callable[[tuple], Iterable] | object | None = texts


@dataclass(frozen=True)
class ExportSpec:
    kind: str
    columns: tuple[Column, ...]
    rows: Callable[[QuerySet[Order]], QuerySet]


# `None`: numbers, and text the database constrains (choices, a validated IP address), which cannot start
# like a formula.
ORDER_COLUMNS = (
    Column("id", "id", None),
    Column("order_no", "order_no"),
    Column("institution", "institution__code"),
    Column("received_at", "received_at", datetimes),
    Column("door", "door", None),
    Column("loan_amount_fen", "loan_amount_fen", None),
    Column("loan_amount_yuan", "loan_amount_fen", yuans),
    Column("user_phone", "user_phone", _PHONES),
    Column("review_status", "review_status", None),
    Column("review_updated_at", "review_updated_at", datetimes),
    Column("address_book_count", "address_book_count", None),
    Column("device_id", "device__device_id", _pseudonymised("device__device_id")),
    Column("device_name", "device__device_name"),
    Column("os_type", "device__os_type"),
    Column("os_kind", "device__os_kind", None),
    Column("os_version", "device__os_version"),
    Column("last_login_at", "device__last_login_at", datetimes),
    Column("ip", "device__ip", _IPS),
    Column("gps_longitude", "device__gps_longitude", _GPS),
    Column("gps_latitude", "device__gps_latitude", _GPS),
    Column("gps_address", "device__gps_address", _stored_mask("device__gps_address_masked")),
    Column("wifi", "device__wifi", booleans),
    Column("battery_percent", "device__battery_percent", None),
    Column("carrier", "device__carrier"),
    Column("app_market", "device__app_market"),
    Column("is_root", "device__is_root", booleans),
    Column("is_simulator", "device__is_simulator", booleans),
    Column("imei", "device__imei", _pseudonymised("device__imei")),
    Column("android_id", "device__android_id", _pseudonymised("device__android_id")),
    Column("idfa", "device__idfa", _pseudonymised("device__idfa")),
    Column("company_name", "employer__company_name"),
    Column("company_province", "employer__province"),
    Column("company_city", "employer__city"),
    Column("company_district", "employer__district"),
    Column("company_tel", "employer__tel_no", _PHONES),
    Column("risk_flags", "risk_flags", None),
)
CONTACT_COLUMNS = (
    Column("order_id", "order_id", None),
    Column("order_no", "order__order_no"),
    Column("institution", "order__institution__code"),
    Column("priority", "priority", None),
    Column("name", "name", _NAMES),
    Column("mobile", "mobile", _PHONES),
    Column("relation", "relation"),
    Column("relation_category", "relation_category"),
)
ADDRESS_BOOK_COLUMNS = (
    Column("order_id", "order_id", None),
    Column("order_no", "order__order_no"),
    Column("institution", "order__institution__code"),
    Column("name", "name", _NAMES),
    Column("phone", "phone", _PHONES),
    Column("phone_digits", "phone_digits", _PHONES),
    Column("is_mobile", "is_mobile", booleans),
)

# `headers=zh` (the API) or a Chinese-speaking admin user: the header row in Chinese, for people who
# open the file in Excel; the column order and the cells do not change.
HEADER_LANGUAGES = ("en", "zh")
HEADERS_ZH = {
    "id": "订单ID",
    "order_id": "订单ID",
    "order_no": "订单号",
    "institution": "机构",
    "received_at": "接收时间",
    "door": "接收渠道",
    "loan_amount_fen": "借款金额（分）",
    "loan_amount_yuan": "借款金额（元）",
    "user_phone": "申请人手机号",
    "review_status": "审核状态",
    "review_updated_at": "审核更新时间",
    "address_book_count": "通讯录条数",
    "device_id": "设备标识",
    "device_name": "设备名称",
    "os_type": "系统类型",
    "os_kind": "系统种类",
    "os_version": "系统版本",
    "last_login_at": "最近登录时间",
    "ip": "IP地址",
    "gps_longitude": "经度",
    "gps_latitude": "纬度",
    "gps_address": "GPS地址",
    "wifi": "是否WiFi",
    "battery_percent": "电量（%）",
    "carrier": "运营商",
    "app_market": "应用市场",
    "is_root": "是否root/越狱",
    "is_simulator": "是否模拟器",
    "imei": "IMEI",
    "android_id": "Android ID",
    "idfa": "IDFA",
    "company_name": "单位名称",
    "company_province": "单位所在省",
    "company_city": "单位所在市",
    "company_district": "单位所在区",
    "company_tel": "单位电话",
    "risk_flags": "风险标记",
    "priority": "联系人顺序",
    "name": "姓名",
    "mobile": "手机号",
    "relation": "关系",
    "relation_category": "关系类别",
    "phone": "号码",
    "phone_digits": "号码数字",
    "is_mobile": "是否手机号",
}


def header_row(columns: Sequence[Column], language: str = "en") -> list[str]:
    return [HEADERS_ZH[column.header] if language == "zh" else column.header for column in columns]


SPECS = {
    ExportKind.ORDERS: ExportSpec(ExportKind.ORDERS, ORDER_COLUMNS, selectors.order_export_rows),
    ExportKind.CONTACTS: ExportSpec(ExportKind.CONTACTS, CONTACT_COLUMNS, selectors.contact_export_rows),
    ExportKind.ADDRESS_BOOK: ExportSpec(
        ExportKind.ADDRESS_BOOK, ADDRESS_BOOK_COLUMNS, selectors.address_book_export_rows
    ),
}


def resolved_columns(columns: Sequence[Column], *, unmasked: bool) -> tuple[Column, ...]:
    """The columns as this export writes them: each personal-data column with its masked or unmasked
    formatter (and, masked, the pseudonym column it reads). Both export paths work on these."""
    resolved = []
    for column in columns:
        if isinstance(column.format, Personal):
            personal = column.format
            lookup = personal.masked_lookup if personal.masked_lookup and not unmasked else column.lookup
            column = Column(column.header, lookup, personal.unmasked if unmasked else personal.masked)
        resolved.append(column)
    return tuple(resolved)
