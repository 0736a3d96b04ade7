"""Every normalisation rule of docs/contract.md §2: what is accepted, what it becomes, what is rejected."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders import normalizers
from orders.choices import OsKind, RelationCategory
from orders.normalizers import NormalizationError


def rejects(normalize, value) -> None:
    with pytest.raises(NormalizationError):
        normalize(value)


@pytest.mark.parametrize("value", ["YB20161017000001", "A", "x" * 64, "订单-001", "a/b:c#1"])
def test_order_no_accepts_visible_text(value):
    assert normalizers.order_no(value) == value


@pytest.mark.parametrize(
    "value", ["", "x" * 65, "YB 001", "YB\t1", "YB\n1", "YB\x07", True, 1.5, 10**64, None, "\u200b"]
)
def test_order_no_rejects(value):
    rejects(normalizers.order_no, value)


@pytest.mark.parametrize(
    ("value", "fen"),
    [("500000", 500000), (300000, 300000), ("1", 1), (10**11, 10**11), ("00100", 100)],
)
def test_loan_amount_accepts_integer_fen(value, fen):
    assert normalizers.loan_amount_fen(value) == fen


@pytest.mark.parametrize(
    "value", ["", "0", 0, "-1", -5, "1.5", 1.5, 100.0, "1e3", " 100", "１００", True, 10**11 + 1, None, [], "abc"]
)
def test_loan_amount_rejects(value):
    rejects(normalizers.loan_amount_fen, value)


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "0086 138-1234-5678",
        "8613812345678",
        "138-1234-5678",
        "138 1234 5678",
        13812345678,
    ],
)
def test_mobile_phone_normalizes_to_eleven_digits(value):
    assert normalizers.mobile_phone(value) == "13812345678"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12812345678",
        "1381234567",
        "138123456789",
        "021-66668888",
        "10086",
        "+1 138 1234 5678",
        "１３８１２３４５６７８",
        "138.1234.5678",
        "(138)12345678",
        True,
        None,
        13.8,
    ],
)
def test_mobile_phone_rejects(value):
    rejects(normalizers.mobile_phone, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1476692044", datetime(2016, 10, 17, 8, 14, 4, tzinfo=UTC)),
        ("1544687343000", datetime(2018, 12, 13, 7, 49, 3, tzinfo=UTC)),
        (1476692044, datetime(2016, 10, 17, 8, 14, 4, tzinfo=UTC)),
        ("1544687343123", datetime(2018, 12, 13, 7, 49, 3, 123000, tzinfo=UTC)),
    ],
)
def test_unix_time_seconds_or_milliseconds(value, expected):
    assert normalizers.unix_time(value) == expected


@pytest.mark.parametrize(
    "value", ["", "147669204", "14766920440", "2016-10-17", "1476692044.5", "-147669204", None, True]
)
def test_unix_time_rejects(value):
    rejects(normalizers.unix_time, value)


@pytest.mark.parametrize(
    ("normalize", "value", "expected"),
    [
        (normalizers.longitude, "121.5103238932292", Decimal("121.510323893229")),
        (normalizers.longitude, "-180", Decimal("-180")),
        (normalizers.longitude, 180, Decimal("180")),
        (normalizers.latitude, "31.30658718532986", Decimal("31.306587185330")),
        (normalizers.latitude, "-90.0", Decimal("-90")),
        (normalizers.latitude, 31.5, Decimal("31.5")),
    ],
)
def test_gps_accepts_decimals_in_range(normalize, value, expected):
    assert normalize(value) == expected


@pytest.mark.parametrize(
    ("normalize", "value"),
    [
        (normalizers.longitude, "180.0001"),
        (normalizers.longitude, "-181"),
        (normalizers.latitude, "90.5"),
        (normalizers.latitude, "abc"),
        (normalizers.latitude, "NaN"),
        (normalizers.longitude, "Infinity"),
        (normalizers.longitude, "1e2"),
        (normalizers.longitude, "12,5"),
        (normalizers.latitude, True),
    ],
)
def test_gps_rejects(normalize, value):
    rejects(normalize, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2408:8207:2481:4a30::1", "2408:8207:2481:4a30::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
    ],
)
def test_ip_accepts_v4_and_v6(value, expected):
    assert normalizers.ip_address(value) == expected


@pytest.mark.parametrize("value", ["", "256.1.1.1", "1.2.3", "localhost", "1.2.3.4/24", 1234, None])
def test_ip_rejects(value):
    rejects(normalizers.ip_address, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True), (1, True), (True, True), ("true", True), ("TRUE", True),
        ("0", False), (0, False), (False, False), ("false", False),
        ("", None), ("-1", None), (-1, None), (None, None),
    ],
)  # fmt: skip
def test_tri_state(value, expected):
    assert normalizers.tri_state(value) is expected


@pytest.mark.parametrize("value", ["2", 2, "yes", "y", "on", [], {}, 1.0])
def test_tri_state_rejects(value):
    rejects(normalizers.tri_state, value)


@pytest.mark.parametrize(("value", "expected"), [("87", 87), ("0", 0), ("100", 100), ("87%", 87), (55, 55)])
def test_battery_percent(value, expected):
    assert normalizers.battery_percent(value) == expected


@pytest.mark.parametrize("value", ["101", "-1", "87.5", "abc", "%", "87 %", True, None])
def test_battery_percent_rejects(value):
    rejects(normalizers.battery_percent, value)


@pytest.mark.parametrize(("value", "expected"), [("1024", 1024), (0, 0), ("0", 0)])
def test_pic_count(value, expected):
    assert normalizers.non_negative_count(value) == expected


@pytest.mark.parametrize("value", ["-1", "1.5", "many", True, str(2**31)])
def test_pic_count_rejects(value):
    rejects(normalizers.non_negative_count, value)


@pytest.mark.parametrize(
    ("value", "expected_bytes"),
    [
        ("3.66 GB", int(Decimal("3.66") * 1024**3)),
        ("2048MB", 2048 * 1024**2),
        ("2.75 G", int(Decimal("2.75") * 1024**3)),
        ("512 KiB", 512 * 1024),
        ("1 TB", 1024**4),
        ("123456789", 123456789),
        ("100 bytes", 100),
        ("about two gigs", None),
        ("3.66 GB free", None),
    ],
)
def test_storage_size_keeps_text_and_reads_bytes(value, expected_bytes):
    size = normalizers.storage_size(value)
    assert size.text == value
    assert size.bytes == expected_bytes


def test_storage_size_rejects_over_64_characters():
    rejects(normalizers.storage_size, "9" * 65)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("iOS", OsKind.IOS), ("ios 17", OsKind.IOS), ("iPhone OS", OsKind.IOS),
        ("Android", OsKind.ANDROID), ("android 10", OsKind.ANDROID), ("HarmonyOS", OsKind.ANDROID),
        ("Windows Phone", OsKind.OTHER), ("KaiOS", OsKind.OTHER),
    ],
)  # fmt: skip
def test_os_type_kind(value, kind):
    assert normalizers.os_type(value) == (value, kind)


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("上海市,上海市,杨浦区", ("上海市", "上海市", "杨浦区")),
        ("广东省，深圳市，南山区", ("广东省", "深圳市", "南山区")),
        ("浙江省, 杭州市 ,西湖区", ("浙江省", "杭州市", "西湖区")),
    ],
)
def test_areas_accepts_ascii_and_full_width_commas(value, parts):
    assert tuple(normalizers.areas(value)) == parts


@pytest.mark.parametrize("value", ["上海市,杨浦区", "上海市,,杨浦区", "a,b,c,d", "上海市 上海市 杨浦区", ",,"])
def test_areas_rejects(value):
    rejects(normalizers.areas, value)


@pytest.mark.parametrize(
    ("value", "category"),
    [
        ("父母", RelationCategory.PARENT), ("PARENT", RelationCategory.PARENT), ("parent", RelationCategory.PARENT),
        ("配偶", RelationCategory.SPOUSE), ("COUPLE", RelationCategory.SPOUSE),
        ("子女", RelationCategory.CHILD), ("CHILD", RelationCategory.CHILD),
        ("兄弟姐妹", RelationCategory.SIBLING), ("SIBLING", RelationCategory.SIBLING),
        ("亲戚", RelationCategory.RELATIVE),
        ("同学", RelationCategory.CLASSMATE), ("CLASSMATE", RelationCategory.CLASSMATE),
        ("朋友", RelationCategory.FRIEND), ("FRIEND", RelationCategory.FRIEND),
        ("同事", RelationCategory.COLLEAGUE), ("COLLEAGUE", RelationCategory.COLLEAGUE),
        ("其他", RelationCategory.OTHER),
        ("1", RelationCategory.RELATIVE), ("4", RelationCategory.RELATIVE), ("9", RelationCategory.RELATIVE),
        ("12", RelationCategory.RELATIVE), ("5", RelationCategory.OTHER), ("8", RelationCategory.OTHER),
        ("100", RelationCategory.OTHER), ("13", RelationCategory.UNKNOWN), (3, RelationCategory.RELATIVE),
        ("邻居", RelationCategory.UNKNOWN),
    ],
)  # fmt: skip
def test_relation_category(value, category):
    relation = normalizers.relation(value)
    assert relation.text == str(value)
    assert relation.category == category


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("中国移动_10086", ("中国移动", "10086", "10086", False)),
        ("张伟_13900001111", ("张伟", "13900001111", "13900001111", True)),
        ("李娜_+86 139-0000-2222", ("李娜", "+86 139-0000-2222", "13900002222", True)),
        ("王芳_021-66668888", ("王芳", "021-66668888", "02166668888", False)),
        ("_13700003333", ("", "13700003333", "13700003333", True)),
        ("13700003333", ("", "13700003333", "13700003333", True)),
        ("张_三_13700003333", ("张_三", "13700003333", "13700003333", True)),
        ({"name": "妈妈", "phone": "13600001111"}, ("妈妈", "13600001111", "13600001111", True)),
        ({"name": "", "phone": "95588"}, ("", "95588", "95588", False)),
        ({"phone": 13600001111}, ("", "13600001111", "13600001111", True)),
        ({"name": None, "phone": "0086 136 0000 1111"}, ("", "0086 136 0000 1111", "13600001111", True)),
        ("junk_" + "9" * 50, ("junk", "9" * 50, "9" * 50, False)),
    ],
)
def test_address_book_entry_shapes(item, expected):
    assert tuple(normalizers.address_book_entry(item)) == expected


@pytest.mark.parametrize(
    "item",
    [
        5,
        None,
        ["a", "1"],
        {"name": 1, "phone": "1"},
        {"name": "x", "phone": ["1"]},
        "n" * 129 + "_13900001111",
        "x_" + "1" * 65,
    ],
)
def test_address_book_entry_rejects(item):
    rejects(normalizers.address_book_entry, item)
