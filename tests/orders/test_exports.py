"""CSV exports through the API: every row, masking per role, injection, BOM, the log, streaming and query counts."""

import csv
import io
from collections import Counter
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection

from orders import exports
from orders.choices import ExportKind, OsKind
from orders.models import ExportLog, Order
from orders.pii import pseudonym
from orders.services import staff_api_token_create
from tests.factories import (
    AddressBookEntryFactory,
    AnalystFactory,
    ContactFactory,
    DeviceFactory,
    EmployerFactory,
    OrderFactory,
    ReviewerFactory,
    UserFactory,
    flag,
    pushed_order,
)

ORDERS_CSV = "/api/v1/orders/?format=csv"
CONTACTS_CSV = "/api/v1/orders/contacts.csv"
ADDRESS_BOOK_CSV = "/api/v1/orders/address-book.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db


def body_of(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body_of(response))))


@pytest.fixture
def analyst():
    return AnalystFactory()


@pytest.fixture
def analyst_headers(analyst) -> dict:
    return {"Authorization": f"Bearer {staff_api_token_create(user=analyst, name='export').plaintext}"}


@pytest.fixture
def small_chunks(settings):
    settings.EXPORT_CHUNK_SIZE = 3


# --- Orders ----------------------------------------------------------------------------


def test_orders_csv_streams_every_row_not_one_page(api_client, analyst_headers, small_chunks):
    # given: more orders than one chunk (3)
    orders = [OrderFactory() for _ in range(8)]
    # when
    response = api_client.get(ORDERS_CSV, headers=analyst_headers)
    # then
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    assert response["Cache-Control"] == "no-store"
    assert sorted(int(row["id"]) for row in rows_of(response)) == sorted(order.pk for order in orders)


def test_orders_csv_columns_for_an_analyst(api_client, analyst_headers):
    # given
    order = pushed_order(orderInfo__userPhone="+86 138-1234-0000", orderInfo__loan_amount="123456")
    Order.objects.filter(pk=order.pk).update(received_at=datetime(2024, 5, 1, 9, 30, tzinfo=SHANGHAI))
    # when
    [row] = rows_of(api_client.get(ORDERS_CSV, headers=analyst_headers))
    # then
    assert row["order_no"] == order.order_no
    assert row["institution"] == order.institution.code
    assert row["user_phone"] == "138****0000"
    assert row["loan_amount_fen"] == "123456"
    assert row["loan_amount_yuan"] == "1234.56"
    assert row["received_at"] == "2024-05-01T09:30:00+08:00"
    assert row["last_login_at"] == "2016-10-17T16:14:04+08:00"  # lastLoginTime 1476692044
    assert row["os_kind"] == "ios"
    assert row["is_root"] == "false"
    assert row["wifi"] == "true"
    assert row["company_name"] == order.employer.company_name
    assert row["company_tel"] == "021****0000"
    assert row["address_book_count"] == "5"


def test_orders_csv_risk_flags_column_and_filter(api_client, analyst_headers):
    # given
    both = OrderFactory(order_no="both")
    flag(both, "simulator", "shared_device")
    flag(OrderFactory(order_no="thin"), "thin_address_book")
    OrderFactory(order_no="clean")
    # when
    every = rows_of(api_client.get(ORDERS_CSV, headers=analyst_headers))
    filtered = rows_of(api_client.get(f"{ORDERS_CSV}&risk_flag=shared_device", headers=analyst_headers))
    # then
    assert list(every[0])[-1] == "risk_flags"
    assert {row["order_no"]: row["risk_flags"] for row in every} == {
        "both": "shared_device;simulator",
        "thin": "thin_address_book",
        "clean": "",
    }
    assert [(row["order_no"], row["risk_flags"]) for row in filtered] == [("both", "shared_device;simulator")]
    assert ExportLog.objects.filter(filters={"risk_flag": "shared_device"}, row_count=1).exists()


def test_orders_csv_unknown_risk_flag_is_400_and_exports_nothing(api_client, analyst_headers):
    # when
    response = api_client.get(f"{ORDERS_CSV}&risk_flag=bogus", headers=analyst_headers)
    # then
    assert response.status_code == 400
    assert [(error["attr"], error["code"]) for error in response.json()["errors"]] == [("risk_flag", "invalid_choice")]
    assert not ExportLog.objects.exists()


def test_orders_csv_cells_of_an_order_without_device_or_employer_are_empty(api_client, analyst_headers):
    # given
    OrderFactory()
    # when
    [row] = rows_of(api_client.get(ORDERS_CSV, headers=analyst_headers))
    # then
    empty = ["device_id", "last_login_at", "wifi", "is_root", "gps_longitude", "battery_percent", "company_tel"]
    assert {name: row[name] for name in empty} == dict.fromkeys(empty, "")
    assert row["review_updated_at"] == ""
    assert row["risk_flags"] == ""


def test_orders_csv_is_unmasked_for_a_superuser_and_logged_as_such(api_client):
    # given
    OrderFactory(user_phone="13812340000")
    admin = UserFactory(is_superuser=True)
    api_client.force_login(admin)
    # when
    [row] = rows_of(api_client.get(ORDERS_CSV))
    # then
    assert row["user_phone"] == "13812340000"
    log = ExportLog.objects.get()
    assert log.unmasked is True
    assert log.user == admin


def test_pii_holder_who_may_export_gets_full_numbers(api_client):
    # given: a reviewer who was also given the analyst role
    OrderFactory(user_phone="13812340000")
    user = ReviewerFactory()
    user.groups.add(*AnalystFactory().groups.all())
    api_client.force_login(user)
    # when
    [row] = rows_of(api_client.get(ORDERS_CSV))
    # then
    assert row["user_phone"] == "13812340000"
    assert ExportLog.objects.get().unmasked is True


@pytest.mark.parametrize("url", [ORDERS_CSV, CONTACTS_CSV, ADDRESS_BOOK_CSV])
def test_a_reviewer_may_browse_but_not_export(api_client, url):
    # given
    OrderFactory()
    api_client.force_login(ReviewerFactory())
    # when
    response = api_client.get(url)
    # then
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert not ExportLog.objects.exists()


def test_bom_only_when_asked(api_client, analyst_headers):
    # given
    OrderFactory()
    # when
    plain = body_of(api_client.get(ORDERS_CSV, headers=analyst_headers))
    with_bom = body_of(api_client.get(f"{ORDERS_CSV}&bom=1", headers=analyst_headers))
    # then
    assert plain.startswith("id,order_no,")
    assert with_bom.startswith("\ufeffid,order_no,")
    assert with_bom.removeprefix("\ufeff").splitlines()[0] == plain.splitlines()[0]


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        (ORDERS_CSV, "订单ID,订单号,机构,接收时间,接收渠道,借款金额（分）,借款金额（元）,申请人手机号"),
        (CONTACTS_CSV + "?x=", "订单ID,订单号,机构,联系人顺序,姓名,手机号,关系,关系类别"),
        (ADDRESS_BOOK_CSV + "?x=", "订单ID,订单号,机构,姓名,号码,号码数字,是否手机号"),
    ],
)
def test_chinese_headers_when_asked(api_client, analyst_headers, url, headers):
    # given
    pushed_order()
    # when
    body = body_of(api_client.get(f"{url.replace('?x=', '?')}&headers=zh&bom=1", headers=analyst_headers))
    english = body_of(api_client.get(url.replace("?x=", ""), headers=analyst_headers))
    # then: only the header row changes
    assert body.startswith("\ufeff" + headers)
    assert body.splitlines()[1:] == english.splitlines()[1:]


def test_every_column_has_a_chinese_header():
    for spec in exports.SPECS.values():
        assert all(exports.HEADERS_ZH[column.header] for column in spec.columns)


@pytest.mark.parametrize("query", ["headers=fr&format=csv", "headers=zh"])
def test_a_bad_headers_parameter_is_400(api_client, analyst_headers, query):
    response = api_client.get(f"/api/v1/orders/?{query}", headers=analyst_headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "headers"


@pytest.mark.parametrize("url", [ORDERS_CSV, CONTACTS_CSV + "?format=csv", ADDRESS_BOOK_CSV + "?x=1"])
def test_csv_filter_errors_are_json_400_and_export_nothing(api_client, analyst_headers, url):
    # when
    response = api_client.get(f"{url}&os_type=bsd&bom=maybe", headers=analyst_headers)
    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert {"os_type", "bom"} <= {error["attr"] for error in response.json()["errors"]}
    assert not ExportLog.objects.exists()


@pytest.mark.parametrize("extra", ["cursor=abc", "page_size=10"])
def test_csv_refuses_page_parameters(api_client, analyst_headers, extra):
    response = api_client.get(f"{ORDERS_CSV}&{extra}", headers=analyst_headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == extra.split("=")[0]


def test_orders_csv_honours_the_filters_and_logs_them(api_client, analyst, analyst_headers):
    # given
    DeviceFactory(order__order_no="droid", os_kind=OsKind.ANDROID, is_root=True)
    DeviceFactory(order__order_no="iphone", os_kind=OsKind.IOS, is_root=True)
    DeviceFactory(order__order_no="clean-droid", os_kind=OsKind.ANDROID, is_root=False)
    # when
    rows = rows_of(api_client.get(f"{ORDERS_CSV}&os_type=android&is_root=1&bom=1", headers=analyst_headers))
    # then
    assert [row["order_no"] for row in rows] == ["droid"]
    log = ExportLog.objects.get()
    assert (log.user, log.kind, log.source) == (analyst, ExportKind.ORDERS, "api")
    assert log.filters == {"os_type": "android", "is_root": "1"}
    assert log.row_count == 1
    assert log.finished_at is not None
    assert log.unmasked is False


# --- Companions --------------------------------------------------------------------------


def test_contacts_csv_lists_the_filtered_orders_contacts(api_client, analyst_headers):
    # given
    wanted = pushed_order(orderInfo__userPhone="13812340000")
    pushed_order()  # another applicant's contacts stay out
    # when
    rows = rows_of(api_client.get(f"{CONTACTS_CSV}?user_phone=13812340000", headers=analyst_headers))
    # then
    assert [(row["order_no"], row["priority"]) for row in rows] == [(wanted.order_no, "1"), (wanted.order_no, "2")]
    assert rows[0]["relation"] == "父母"
    assert rows[0]["relation_category"] == "parent"
    assert all("****" in row["mobile"] for row in rows)
    assert ExportLog.objects.get().kind == ExportKind.CONTACTS


def test_address_book_csv_is_one_row_per_entry_with_the_order_number(api_client, analyst_headers, small_chunks):
    # given
    first = pushed_order(userAdditional__addressBook__size=5)
    second = pushed_order(userAdditional__addressBook__size=4)
    # when
    rows = rows_of(api_client.get(ADDRESS_BOOK_CSV, headers=analyst_headers))
    # then
    assert [row["order_no"] for row in rows] == [first.order_no] * 5 + [second.order_no] * 4
    assert rows[1]["phone"] == "861******0001"  # masked: separators dropped, 3 + 4 digits kept
    assert rows[1]["phone_digits"] == "139****0001"
    assert rows[3]["name"] == "中*"
    assert rows[3]["phone"] == "***86"  # a short code keeps its last two digits
    assert {row["is_mobile"] for row in rows} == {"true", "false"}
    log = ExportLog.objects.get()
    assert (log.kind, log.row_count) == (ExportKind.ADDRESS_BOOK, 9)


def test_address_book_csv_is_unmasked_for_a_superuser(api_client):
    # given
    AddressBookEntryFactory(phone="13700001111", phone_digits="13700001111")
    api_client.force_login(UserFactory(is_superuser=True))
    # when
    [row] = rows_of(api_client.get(ADDRESS_BOOK_CSV))
    # then
    assert row["phone"] == "13700001111"


# --- Injection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=b", "a=b"),
        ("张三", "张三"),
    ],
)
def test_formula_cells_are_neutralised(api_client, analyst_headers, name, written):
    # given
    ContactFactory(name=name, relation=name)
    AddressBookEntryFactory(name=name)
    # when: an analyst sees names masked (first character kept), a superuser in full
    [contact] = rows_of(api_client.get(CONTACTS_CSV, headers=analyst_headers))
    [entry] = rows_of(api_client.get(ADDRESS_BOOK_CSV, headers=analyst_headers))
    api_client.force_login(UserFactory(is_superuser=True))
    [full_contact] = rows_of(api_client.get(CONTACTS_CSV))
    [full_entry] = rows_of(api_client.get(ADDRESS_BOOK_CSV))
    # then
    assert contact["relation"] == full_contact["name"] == full_entry["name"] == written
    assert contact["name"] == entry["name"] == exports.neutralize(name[:1] + "*")


def test_order_number_and_device_text_are_neutralised(api_client, analyst_headers):
    # given
    DeviceFactory(order__order_no="=1+1", device_name="@evil", gps_address="-x")
    # when
    [row] = rows_of(api_client.get(ORDERS_CSV, headers=analyst_headers))
    # then
    assert (row["order_no"], row["device_name"], row["gps_address"]) == ("'=1+1", "'@evil", "*")


def test_a_masked_address_that_starts_like_a_formula_is_neutralised(api_client, analyst_headers):
    # given: a province-shaped prefix made of formula characters
    DeviceFactory(gps_address="=+@省深圳市南山区")
    # when
    [row] = rows_of(api_client.get(ORDERS_CSV, headers=analyst_headers))
    # then
    assert row["gps_address"] == "'=+@省深圳市南山区"


@pytest.mark.parametrize(("value", "expected"), [("=1", "'=1"), ("", ""), ("1-2", "1-2"), ("'=1", "'=1")])
def test_neutralize(value, expected):
    assert exports.neutralize(value) == expected


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        # No formula-like cell: the column passes as it is.
        (("a", None, "", "b=c", "张三"), ["a", None, "", "b=c", "张三"]),
        # One formula-like cell anywhere in the column: only that cell changes.
        (("a", None, "=1", "b"), ["a", None, "'=1", "b"]),
        (("-x", "+y", "@z", "\tt", "\rr"), ["'-x", "'+y", "'@z", "'\tt", "'\rr"]),
        (("ok", "last=", "=last"), ["ok", "last=", "'=last"]),
        # A NUL inside a cell looks like a cell boundary to the fast check: the slow path keeps it exact.
        (("a\x00=b", "c"), ["a\x00=b", "c"]),
        ((None, None), [None, None]),
    ],
)
def test_text_columns_are_neutralised_cell_by_cell_only_when_needed(column, expected):
    assert list(exports.formatters.texts(column)) == expected


def test_a_formula_in_a_later_chunk_is_neutralised(api_client, analyst_headers, small_chunks):
    # given: chunks of 3 rows; only the 5th row (2nd chunk) holds a formula
    names = ["one", "two", "three", "four", "=HYPERLINK(1)", "six", "seven"]
    for number, name in enumerate(names):
        DeviceFactory(
            order__order_no=f"o{number}",
            order__received_at=datetime(2024, 5, 1, 9, number, tzinfo=SHANGHAI),
            device_name=name,
        )
    # when
    rows = rows_of(api_client.get(ORDERS_CSV, headers=analyst_headers))
    # then
    assert {row["order_no"]: row["device_name"] for row in rows} == {
        f"o{number}": ("'" + name if name.startswith("=") else name) for number, name in enumerate(names)
    }


# --- Streaming, memory and queries --------------------------------------------------------------


def test_export_query_count_does_not_grow_with_rows(
    api_client, analyst_headers, small_chunks, django_assert_num_queries
):
    # given: 3 chunks of orders, each with device, employer, contacts and risk flags to join
    for order in [pushed_order(userAdditional__addressBook__size=1) for _ in range(7)]:
        assert order.device
        assert order.employer
        flag(order, "shared_device")
    # when / then: token+user, permissions (2), log insert, the rows (flags included), log update
    with django_assert_num_queries(6):
        response = api_client.get(ORDERS_CSV, headers=analyst_headers)
        rows = rows_of(response)
    assert len(rows) == 7
    assert all("shared_device" in row["risk_flags"].split(";") for row in rows)
    assert ExportLog.objects.get().row_count == 7


@pytest.mark.parametrize(("url", "expected_rows"), [(CONTACTS_CSV, 14), (ADDRESS_BOOK_CSV, 21)])
def test_companion_query_counts(
    api_client, analyst_headers, small_chunks, django_assert_num_queries, url, expected_rows
):
    # given
    for _ in range(7):
        pushed_order(userAdditional__addressBook__size=3)
    # when / then
    with django_assert_num_queries(6):
        rows = rows_of(api_client.get(url, headers=analyst_headers))
    assert len(rows) == expected_rows


def test_chunks_hold_chunk_size_rows(analyst):
    # given
    for _ in range(7):
        OrderFactory()
    # when
    response = exports.export_response(
        user=analyst, kind=ExportKind.ORDERS, orders=Order.objects.all(), source="api", filters={}, chunk_size=3
    )
    chunks = [chunk.decode() for chunk in response.streaming_content]
    # then: the header, then rows 3 + 3 + 1
    assert [chunk.count("\r\n") for chunk in chunks] == [1, 3, 3, 1]


@pytest.mark.parametrize("kind", [ExportKind.ORDERS, ExportKind.CONTACTS, ExportKind.ADDRESS_BOOK])
def test_an_export_of_no_orders_is_the_header_alone(analyst, kind):
    # given: orders exist, but the selection is empty (the database is not even asked for rows)
    pushed_order(userAdditional__addressBook__size=1)
    # when
    response = exports.export_response(user=analyst, kind=kind, orders=Order.objects.none(), source="api", filters={})
    body = b"".join(response.streaming_content).decode()
    # then
    assert body == ",".join(column.header for column in exports.SPECS[kind].columns) + "\r\n"
    log = ExportLog.objects.get()
    assert (log.row_count, log.finished_at is not None) == (0, True)


def test_an_interrupted_download_is_logged_as_unfinished(analyst):
    # given
    for _ in range(7):
        OrderFactory()
    response = exports.export_response(
        user=analyst, kind=ExportKind.ORDERS, orders=Order.objects.all(), source="api", filters={}, chunk_size=3
    )
    stream = iter(response.streaming_content)
    # when: the client reads the header and one chunk, then goes away
    next(stream)
    next(stream)
    # As Django's test client does: the end of a request must not close the test's connection.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    # then
    log = ExportLog.objects.get()
    assert log.row_count == 3
    assert log.finished_at is None


@pytest.mark.django_db(transaction=True)
def test_rows_are_read_inside_a_transaction_on_postgresql_only(django_db_setup):
    """Outside a transaction a PostgreSQL server-side cursor is WITH HOLD, which materialises
    the whole result; inside one it streams. SQLite must not open one (IMMEDIATE would
    lock out pushes for the whole download)."""
    # given
    for _ in range(4):
        OrderFactory()
    # Not a role user: an earlier transactional test's flush may have removed the groups migrations made.
    user = UserFactory(is_superuser=True)
    assert connection.get_autocommit()
    response = exports.export_response(
        user=user, kind=ExportKind.ORDERS, orders=Order.objects.all(), source="api", filters={}, chunk_size=2
    )
    stream = iter(response.streaming_content)
    # when
    next(stream)  # header
    next(stream)  # first rows
    in_transaction = connection.in_atomic_block
    rest = list(stream)
    # then
    assert in_transaction is (connection.vendor == "postgresql")
    assert len(rest) == 1
    assert connection.get_autocommit()
    assert ExportLog.objects.get().row_count == 4


# --- The two ways of writing a row ----------------------------------------------------------------


def export_bytes(user, kind: str) -> bytes:
    response = exports.export_response(
        user=user, kind=kind, orders=Order.objects.all(), source="api", filters={}, chunk_size=2
    )
    return b"".join(response.streaming_content)


@pytest.fixture
def awkward_orders():
    """Every rule the SQL lines mirror, at its edges."""
    first = DeviceFactory(
        order__order_no="=1+1",
        order__user_phone="+8613812340",
        order__received_at=datetime(2024, 5, 1, 9, 30, tzinfo=SHANGHAI),  # microseconds 0: omitted
        order__loan_amount_fen=5,
        device_name='say "hi", then\nleave\r',
        device_id="7d50dcb97e654de6890ae8000bb4558a",
        imei="861234567890123",
        gps_address="",
        gps_longitude=Decimal("0"),
        gps_latitude=Decimal("0.000000100000"),  # str(Decimal) would write 1.00000E-7
        last_login_at=datetime(2024, 5, 1, 9, 30, 0, 1500, tzinfo=SHANGHAI),
        carrier="\t中国移动",
        ip="2001:db8::1",
        wifi=None,
        is_root=True,
        battery_percent=0,
    ).order
    EmployerFactory(order=first, tel_no="@21-65550000", company_name="-公司,有限")
    flag(first, "simulator", "shared_device")
    second = DeviceFactory(
        order__order_no="ok",
        order__user_phone="13812340000",
        order__received_at=datetime(2024, 5, 1, 9, 30, 0, 999999, tzinfo=SHANGHAI),
        gps_longitude=Decimal("-121.475000000000"),  # half away from zero
        gps_latitude=Decimal("-0.001000000000"),  # rounds to zero, without a sign
        gps_address="新疆维吾尔自治区乌鲁木齐市天山区光明路1号",
        ip="117.136.0.5",
        last_login_at=datetime(1988, 6, 1, 12, 0, tzinfo=SHANGHAI),  # summer time: +09:00
        wifi=False,
    ).order
    EmployerFactory(order=second, tel_no="1234")
    fourth = DeviceFactory(
        order__order_no="odd",
        order__user_phone="1",
        gps_address="=+@省 somewhere",
        gps_longitude=None,
        ip="::ffff:1.2.3.4",
        android_id="=android",
    ).order
    EmployerFactory(order=fourth, tel_no="(0)+-. ")
    third = OrderFactory(  # no device: NULL cells
        order_no="no device",
        user_phone="",
        loan_amount_fen=1_000_000_099,
        review_updated_at=datetime(1900, 1, 1, tzinfo=SHANGHAI),  # local mean time, +08:05:43
    )
    for order in (first, second, third, fourth):
        ContactFactory(order=order, name="=cmd|' /C calc'!A0", mobile="12345")
        AddressBookEntryFactory(order=order, name='"q"', phone="+86 138", phone_digits="", is_mobile=False)
        AddressBookEntryFactory(order=order, name="", phone="0086", phone_digits="0086", is_mobile=True)
    AddressBookEntryFactory(order=fourth, name="😀笑", phone="=1381234000011", phone_digits="1381234000011")
    # A contact saved without a number ("王芳_"): kept with an empty phone.
    AddressBookEntryFactory(order=fourth, name="王芳", phone="", phone_digits="", is_mobile=False)
    return [first, second, third, fourth]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL alone writes the lines in SQL")
@pytest.mark.parametrize("kind", [ExportKind.ORDERS, ExportKind.CONTACTS, ExportKind.ADDRESS_BOOK])
@pytest.mark.parametrize("unmasked", [False, True], ids=["masked", "unmasked"])
def test_both_paths_write_the_same_bytes(monkeypatch, awkward_orders, kind, unmasked):
    # given
    user = UserFactory(is_superuser=True) if unmasked else AnalystFactory()
    # when
    in_sql = export_bytes(user, kind)
    monkeypatch.setattr(exports.response, "SQL_LINES", False)
    in_python = export_bytes(user, kind)
    # then: also one row per line of the export, whatever the cells hold
    assert in_sql == in_python
    expected_rows = {ExportKind.ORDERS: 4, ExportKind.CONTACTS: 4, ExportKind.ADDRESS_BOOK: 10}[kind]
    assert len(list(csv.reader(io.StringIO(in_sql.decode())))) == expected_rows + 1
    assert list(ExportLog.objects.values_list("row_count", flat=True)) == [expected_rows] * 2


def test_awkward_cells_as_written_on_either_database(awkward_orders, analyst):
    # when: an analyst's export, personal data masked
    body = export_bytes(analyst, ExportKind.ORDERS).decode()
    rows = {row["order_no"]: row for row in csv.DictReader(io.StringIO(body))}
    first, second, third, fourth = rows["'=1+1"], rows["ok"], rows["no device"], rows["odd"]
    # then
    assert (first["order_no"], first["user_phone"], first["company_tel"]) == ("'=1+1", "861***2340", "'@21****0000")
    assert (first["device_name"], first["carrier"]) == ('say "hi", then\nleave\r', "'\t中国移动")
    assert first["device_id"] == pseudonym("7d50dcb97e654de6890ae8000bb4558a")
    assert first["imei"] == pseudonym("861234567890123")
    assert (first["gps_longitude"], first["gps_latitude"]) == ("0.00", "0.00")
    assert (first["received_at"], first["last_login_at"]) == (
        "2024-05-01T09:30:00+08:00",
        "2024-05-01T09:30:00.001500+08:00",
    )
    assert (first["loan_amount_yuan"], first["wifi"], first["is_root"]) == ("0.05", "", "true")
    assert (first["ip"], first["battery_percent"], first["gps_address"]) == ("2001:db8::/48", "0", "")
    assert (first["company_name"], first["risk_flags"]) == ("'-公司,有限", "shared_device;simulator")
    assert second["received_at"] == "2024-05-01T09:30:00.999999+08:00"
    assert second["last_login_at"] == "1988-06-01T12:00:00+09:00"
    assert (second["gps_longitude"], second["gps_latitude"], second["company_tel"]) == ("-121.48", "0.00", "**34")
    assert (second["ip"], second["gps_address"]) == ("117.136.0.*", "新疆维吾尔自治区乌鲁木齐市天山区")
    assert (second["wifi"], second["user_phone"]) == ("false", "138****0000")
    assert (third["user_phone"], third["loan_amount_yuan"], third["device_id"]) == ("", "10000000.99", "")
    assert third["review_updated_at"] == "1900-01-01T00:00:00+08:05:43"
    assert (fourth["user_phone"], fourth["gps_address"], fourth["company_tel"]) == ("1", "'=+@省", "0")
    assert (fourth["ip"], fourth["android_id"]) == ("::/48", pseudonym("=android"))


def test_awkward_companions_masked(awkward_orders, analyst):
    # when
    contacts = list(csv.DictReader(io.StringIO(export_bytes(analyst, ExportKind.CONTACTS).decode())))
    book = list(csv.DictReader(io.StringIO(export_bytes(analyst, ExportKind.ADDRESS_BOOK).decode())))
    # then
    assert {(row["name"], row["mobile"]) for row in contacts} == {("'=*", "***45")}
    assert Counter((row["name"], row["phone"], row["phone_digits"]) for row in book) == {
        ('"*', "***38", ""): 4,  # "+86 138": 5 characters that are not separators, the last 2 kept
        ("", "**86", "**86"): 4,
        ("😀*", "'=13*******0011", "138******0011"): 1,  # `=` counts as a digit, then is neutralised
        ("王*", "", ""): 1,  # no number: nothing to mask
    }


def test_a_column_without_an_sql_rule_is_refused():
    # given: a formatter the SQL lines know nothing about
    column = exports.Column("odd", "order_no", lambda values: values)
    # when / then
    with pytest.raises(ValueError, match="No SQL rule"):
        exports.sql_csv._sql_cell(column, "r.c0", Order._meta.get_field("order_no"))


def test_a_time_zone_name_that_could_break_the_sql_is_refused(settings):
    # given
    settings.TIME_ZONE = "Asia/Shanghai'; --"
    # when / then
    with pytest.raises(ValueError, match="Unexpected TIME_ZONE"):
        exports.sql_csv._sql_datetimes("r.c3")
