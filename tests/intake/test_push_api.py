"""The REST door, POST /api/v1/user-additional/: every outcome of docs/contract.md §1 and what is stored."""

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.db import OperationalError
from django_q.models import OrmQ

from intake.throttling import rate_limit_consume
from orders.choices import OsKind, RelationCategory
from orders.institutions import institution_revoke_credentials
from orders.models import AddressBookEntry, Contact, Device, Employer, Order, PushLog, PushOutcome
from orders.risk.tasks import risk_signals_job
from tests.conftest import PUSH_URL
from tests.factories import SIGNAL_WRITERS_LOCK_QUERIES, InstitutionFactory, PushPayloadFactory, phone_list, sample

pytestmark = pytest.mark.django_db

STORED_MODELS = (Order, Device, Contact, Employer, AddressBookEntry)


def stored_rows() -> dict:
    return {model.__name__: model.objects.count() for model in STORED_MODELS}


NOTHING_STORED = {model.__name__: 0 for model in STORED_MODELS}


def error_attrs(response) -> list:
    return [error["attr"] for error in response.json()["errors"]]


def with_value(payload: dict, path: str, value) -> dict:
    """A deep copy of `payload` with the dotted `path` set to `value` (or removed when value is ...)."""
    payload = copy.deepcopy(payload)
    *parents, leaf = path.split(".")
    node = payload
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return payload


# --- Acceptance and what is stored ---------------------------------------------------------


def test_ios_sample_is_stored_normalized(push, institution):
    # given the iOS office worker sample
    payload = sample("push-ios-office-worker.json")

    # when it is pushed
    response = push(payload)

    # then the order and every section are stored with typed values
    assert response.status_code == 201
    body = response.json()
    assert body["orderNo"] == "HX20240315000107"
    assert body["status"] == "accepted"
    order = Order.objects.get()
    assert order.institution == institution
    assert (order.order_no, order.loan_amount_fen, order.user_phone) == ("HX20240315000107", 800000, "13761234508")
    assert order.address_book_count == 7
    device = order.device
    assert device.device_id == "3c9e1f0a2b7d4e5f8a6b1c2d3e4f5a6b"
    assert device.os_kind == OsKind.IOS
    assert device.last_login_at == datetime(2024, 3, 15, 5, 30, 0, tzinfo=UTC)
    assert device.gps_longitude == Decimal("116.310571289062")  # 12 places, half to even
    assert device.gps_latitude == Decimal("39.983432128906")
    assert device.ip == "203.0.113.27"
    assert device.wifi is True
    assert device.is_root is False
    assert device.is_simulator is False
    assert device.battery_percent == 64
    assert device.pic_count == 2388
    assert (device.memory, device.memory_bytes) == ("4.0 GB", 4 * 1024**3)
    assert (device.storage, device.storage_bytes) == ("128 GB", 128 * 1024**3)
    assert device.unuse_storage_bytes == int(Decimal("37.5") * 1024**3)
    assert (device.sdcard, device.sdcard_bytes) == ("", None)
    assert device.uuid == "9B1D3F5A-2C4E-4A6B-8D0F-1E3A5C7B9D2F"
    assert device.extra == {}
    contacts = list(order.contacts.order_by("priority").values_list("name", "mobile", "relation", "relation_category"))
    assert contacts == [
        ("赵敏", "13698761234", "配偶", RelationCategory.SPOUSE),
        ("孙浩", "15900003456", "同事", RelationCategory.COLLEAGUE),
    ]
    employer = order.employer
    assert (employer.province, employer.city, employer.district) == ("北京市", "北京市", "海淀区")
    assert employer.tel_no == "010-62345678"
    # a short code, a name with "_" (split on the last one), +86, a landline, no name, a duplicate kept
    book = list(order.address_book.order_by("id").values_list("name", "phone", "phone_digits", "is_mobile"))
    assert book == [
        ("中国联通客服", "10010", "10010", False),
        ("赵敏", "13698761234", "13698761234", True),
        ("陈静", "13987654321", "13987654321", True),
        ("周_磊", "+86 186-2222-3333", "18622223333", True),
        ("公司前台", "010-82345678", "01082345678", False),
        ("", "15011112222", "15011112222", True),
        ("陈静", "13987654321", "13987654321", True),
    ]
    log = PushLog.objects.get()
    assert (log.outcome, log.http_status, log.order_no, log.institution) == (
        "accepted",
        201,
        order.order_no,
        institution,
    )
    assert json.loads(bytes(log.body)) == payload


def test_android_sample_without_employer(push):
    response = push(sample("push-android-no-employer.json"))

    assert response.status_code == 201
    order = Order.objects.get()
    assert (order.loan_amount_fen, order.user_phone) == (150000, "17712345566")
    device = order.device
    assert device.os_kind == OsKind.ANDROID
    assert device.ip == "2001:db8:4a1:77::1c"
    assert device.last_login_at == datetime(2024, 4, 2, 7, 3, 15, tzinfo=UTC)
    assert device.wifi is None
    assert device.is_root is True
    assert device.is_simulator is None
    assert device.gps_longitude is None
    assert (device.android_id, device.imei) == ("5b2c9e71d03f4a18", "869876543210987")
    assert not Employer.objects.exists()
    assert list(order.contacts.values_list("mobile", "relation_category").order_by("priority")) == [
        ("13355557788", RelationCategory.PARENT),
        ("18600001234", RelationCategory.COLLEAGUE),
    ]
    # objects and strings mixed, a name with "_", a short code, a landline, a duplicate, +86 without a name
    book = list(order.address_book.order_by("id").values_list("name", "phone_digits", "is_mobile"))
    assert book == [
        ("爸爸", "13355557788", True),
        ("刘_小红", "18600001234", True),
        ("", "10086", False),
        ("物业", "057187654321", False),
        ("爸爸", "13355557788", True),
        ("Wang Lei", "13500130014", True),
        ("", "18912340000", True),
    ]


def test_unknown_keys_are_kept_not_rejected(push):
    # given unknown keys at every level
    payload = PushPayloadFactory()
    payload["extraTop"] = {"x": 1}
    payload["orderInfo"]["channel"] = "app"
    payload["userAdditional"]["deviceInfo"]["screen"] = "1080x1920"
    payload["userAdditional"]["deviceInfo"]["sensors"] = ["gyro", "gps"]
    payload["userAdditional"]["contactInfo"]["note"] = "x"

    response = push(payload)

    assert response.status_code == 201
    assert Device.objects.get().extra == {"screen": "1080x1920", "sensors": ["gyro", "gps"]}
    assert json.loads(bytes(PushLog.objects.get().body))["extraTop"] == {"x": 1}


def test_blank_means_unknown_outside_identifying_fields(push):
    # given "" wherever the value does not identify anything
    payload = PushPayloadFactory()
    device = payload["userAdditional"]["deviceInfo"]
    for key in ("device_info", "osVersion", "memory", "storage", "unuseStorage", "bettary", "appMarket", "isRoot"):
        device[key] = ""
    device.update(gpsLongitude="", gpsLatitude="", picCount="", wifi=None)

    response = push(payload)

    assert response.status_code == 201, response.json()
    stored = Device.objects.get()
    assert (stored.device_name, stored.os_version, stored.memory, stored.memory_bytes) == ("", "", "", None)
    assert (stored.battery_percent, stored.is_root, stored.pic_count, stored.wifi) == (None, None, None, None)


@pytest.mark.parametrize("work", [{"companyName": "", "areas": "", "address": "", "telNo": ""}, {}, None])
def test_all_blank_work_office_info_counts_as_absent(push, work):
    payload = with_value(PushPayloadFactory(), "userAdditional.workOfficeInfo", work)

    response = push(payload)

    assert response.status_code == 201, response.json()
    assert not Employer.objects.exists()


def test_partly_filled_work_office_info_needs_all_four_keys(push):
    payload = with_value(PushPayloadFactory(), "userAdditional.workOfficeInfo", {"companyName": "某公司", "areas": ""})

    response = push(payload)

    assert response.status_code == 400
    assert sorted(error_attrs(response)) == [
        "userAdditional.workOfficeInfo.address",
        "userAdditional.workOfficeInfo.telNo",
    ]


def test_empty_address_book_is_accepted(push):
    payload = with_value(PushPayloadFactory(), "userAdditional.addressBook.phoneList", [])

    assert push(payload).status_code == 201
    assert Order.objects.get().address_book_count == 0


def test_same_order_no_from_two_institutions_are_two_orders(push):
    # given another institution pushing the same orderNo
    payload = PushPayloadFactory()
    other = InstitutionFactory()

    first = push(payload)
    second = push(payload, token=other.api_token)

    assert (first.status_code, second.status_code) == (201, 201)
    assert Order.objects.filter(order_no=payload["orderInfo"]["orderNo"]).count() == 2


# --- Retries and conflicts -------------------------------------------------------------------


def test_identical_retry_is_a_duplicate_and_writes_nothing(push):
    # given an accepted push
    payload = PushPayloadFactory()
    first = push(payload)
    rows = stored_rows()

    # when the same JSON value is sent again, keys reordered and spaced differently
    reordered = json.dumps(dict(reversed(list(payload.items()))), indent=4, ensure_ascii=True)
    retry = push(reordered)

    # then it is answered 200 "duplicate" with the first answer's data
    assert retry.status_code == 200
    assert retry.json() == {**first.json(), "status": "duplicate"}
    assert stored_rows() == rows
    assert list(PushLog.objects.order_by("id").values_list("outcome", flat=True)) == ["accepted", "duplicate"]


def test_different_content_for_a_pushed_order_is_a_conflict(push):
    # given an accepted push
    payload = PushPayloadFactory()
    push(payload)
    order = Order.objects.get()
    rows = stored_rows()

    # when the same orderNo comes with a different amount
    changed = with_value(payload, "orderInfo.loan_amount", "999")
    response = push(changed)

    # then 409 order_conflict, and the stored order is untouched
    assert response.status_code == 409
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "order_conflict",
                "detail": "This orderNo was already pushed with different content; the stored order is unchanged.",
                "attr": "orderInfo.orderNo",
            }
        ],
    }
    assert stored_rows() == rows
    order.refresh_from_db()
    assert order.loan_amount_fen == 500000
    assert PushLog.objects.filter(outcome=PushOutcome.CONFLICT).count() == 1


def test_string_and_integer_amounts_are_different_content(push):
    payload = PushPayloadFactory(orderInfo__loan_amount="500000")
    push(payload)

    assert push(with_value(payload, "orderInfo.loan_amount", 500000)).status_code == 409


# --- Validation errors ------------------------------------------------------------------------

INVALID_FIELDS = [
    ("orderInfo.orderNo", ""),
    ("orderInfo.orderNo", "x" * 65),
    ("orderInfo.orderNo", "YB 1"),
    ("orderInfo.orderNo", "YB\u0007"),
    ("orderInfo.orderNo", None),
    ("orderInfo.loan_amount", ""),
    ("orderInfo.loan_amount", "0"),
    ("orderInfo.loan_amount", "-100"),
    ("orderInfo.loan_amount", "100.50"),
    ("orderInfo.loan_amount", 100.5),
    ("orderInfo.loan_amount", str(10**11 + 1)),
    ("orderInfo.userPhone", ""),
    ("orderInfo.userPhone", "12345678901"),
    ("orderInfo.userPhone", "021-66668888"),
    ("userAdditional.deviceInfo.deviceId", ""),
    ("userAdditional.deviceInfo.deviceId", "d" * 129),
    ("userAdditional.deviceInfo.osType", ""),
    ("userAdditional.deviceInfo.ip", ""),
    ("userAdditional.deviceInfo.ip", "999.1.1.1"),
    ("userAdditional.deviceInfo.lastLoginTime", ""),
    ("userAdditional.deviceInfo.lastLoginTime", "2016-10-17"),
    ("userAdditional.deviceInfo.gpsLongitude", "181"),
    ("userAdditional.deviceInfo.gpsLatitude", "north"),
    ("userAdditional.deviceInfo.wifi", "yes"),
    ("userAdditional.deviceInfo.isRoot", "2"),
    ("userAdditional.deviceInfo.isSimulator", []),
    ("userAdditional.deviceInfo.bettary", "101"),
    ("userAdditional.deviceInfo.picCount", "-3"),
    ("userAdditional.deviceInfo.memory", "9" * 65),
    ("userAdditional.deviceInfo.gpsAddress", "地" * 513),
    ("userAdditional.deviceInfo.osVersion", {"major": 9}),
    ("userAdditional.deviceInfo.device_info", True),
    ("userAdditional.contactInfo.name", ""),
    ("userAdditional.contactInfo.mobile", ""),
    ("userAdditional.contactInfo.mobile", "10086"),
    ("userAdditional.contactInfo.relation", ""),
    ("userAdditional.contactInfo.nameSpare", ""),
    ("userAdditional.contactInfo.mobileSpare", "1380000"),
    ("userAdditional.contactInfo.relationSpare", ""),
    ("userAdditional.workOfficeInfo.areas", "上海市,杨浦区"),
    ("userAdditional.workOfficeInfo.companyName", "公" * 129),
    ("userAdditional.addressBook.phoneList", "张伟_13900001111"),
    ("userAdditional.addressBook", []),
    ("userAdditional.deviceInfo", "iPhone"),
]


@pytest.mark.parametrize(("path", "value"), INVALID_FIELDS)
def test_invalid_field_is_rejected_with_its_path_and_nothing_stored(push, path, value):
    # given a valid payload with one bad value
    payload = with_value(PushPayloadFactory(), path, value)

    # when it is pushed
    response = push(payload)

    # then 400 names exactly that path, and only the push log is written
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert error_attrs(response) == [path]
    assert stored_rows() == NOTHING_STORED
    log = PushLog.objects.get()
    assert (log.outcome, log.http_status) == (PushOutcome.REJECTED, 400)
    assert [error["attr"] for error in log.errors] == [path]


REQUIRED_KEYS = [
    "orderInfo",
    "userAdditional",
    "orderInfo.orderNo",
    "orderInfo.loan_amount",
    "orderInfo.userPhone",
    "userAdditional.deviceInfo",
    "userAdditional.addressBook",
    "userAdditional.contactInfo",
    "userAdditional.addressBook.phoneList",
    *(
        f"userAdditional.deviceInfo.{key}"
        for key in (
            "deviceId",
            "device_info",
            "osType",
            "osVersion",
            "lastLoginTime",
            "ip",
            "memory",
            "storage",
            "unuseStorage",
            "bettary",
            "appMarket",
            "isRoot",
            "isSimulator",
        )
    ),
    *(
        f"userAdditional.contactInfo.{key}"
        for key in ("name", "mobile", "relation", "nameSpare", "mobileSpare", "relationSpare")
    ),
    *(f"userAdditional.workOfficeInfo.{key}" for key in ("companyName", "areas", "address", "telNo")),
]


@pytest.mark.parametrize("path", REQUIRED_KEYS)
def test_missing_required_key_is_named(push, path):
    response = push(with_value(PushPayloadFactory(), path, ...))

    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": "required", "detail": mock.ANY, "attr": path}]
    assert stored_rows() == NOTHING_STORED


@pytest.mark.parametrize(
    "path",
    [
        *(
            f"userAdditional.deviceInfo.{key}"
            for key in (
                "idfa",
                "idfv",
                "gpsLongitude",
                "gpsLatitude",
                "gpsAddress",
                "wifi",
                "wifiName",
                "carrier",
                "teleNum",
                "dns",
                "picCount",
                "uuid",
            )
        ),
        "userAdditional.workOfficeInfo",
    ],
)
def test_optional_keys_may_be_missing(push, path):
    assert push(with_value(sample(), path, ...)).status_code == 201


def test_every_problem_is_listed(push):
    # given several problems in different sections
    payload = PushPayloadFactory()
    payload["orderInfo"]["loan_amount"] = "1.5"
    payload["userAdditional"]["deviceInfo"]["ip"] = "nope"
    payload["userAdditional"]["contactInfo"]["mobile"] = "123"
    payload["userAdditional"]["addressBook"]["phoneList"] = ["ok_13900001111", 42, {"name": 7}, "x_1"]

    response = push(payload)

    assert response.status_code == 400
    assert error_attrs(response) == [
        "orderInfo.loan_amount",
        "userAdditional.deviceInfo.ip",
        "userAdditional.contactInfo.mobile",
        "userAdditional.addressBook.phoneList.1",
        "userAdditional.addressBook.phoneList.2",
    ]


def test_address_book_entry_errors_are_indexed(push):
    entries = phone_list(10)
    entries[3] = {"name": "n" * 129, "phone": "13900001111"}
    entries[7] = None
    payload = with_value(PushPayloadFactory(), "userAdditional.addressBook.phoneList", entries)

    response = push(payload)

    assert error_attrs(response) == ["userAdditional.addressBook.phoneList.3", "userAdditional.addressBook.phoneList.7"]


def test_address_book_longer_than_the_limit_is_rejected(push, settings):
    # given the contract's default limit of 20,000 entries
    assert settings.PUSH_MAX_ADDRESS_BOOK_ENTRIES == 20_000
    payload = with_value(PushPayloadFactory(), "userAdditional.addressBook.phoneList", ["x_13900001111"] * 20_001)

    response = push(payload)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "max_length"
    assert error_attrs(response) == ["userAdditional.addressBook.phoneList"]
    assert stored_rows() == NOTHING_STORED


def test_address_book_at_the_limit_is_accepted(push, settings):
    settings.PUSH_MAX_ADDRESS_BOOK_ENTRIES = 300
    payload = with_value(PushPayloadFactory(), "userAdditional.addressBook.phoneList", phone_list(300))

    assert push(payload).status_code == 201
    assert AddressBookEntry.objects.count() == 300


# --- Hostile bodies --------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        (b"{not json", None),
        (b"", None),
        (b"[1, 2, 3]", None),
        (b'"a string"', None),
        (b"null", None),
        (b"\xff\xfe{}", None),
        (DEEP.encode(), None),
        (b'{"orderInfo": {"orderNo": "A\\u0000B"}}', "orderInfo.orderNo"),
        (b'{"orderInfo": {"orderNo": "A\\ud800"}}', "orderInfo.orderNo"),
        (b'{"userAdditional": {"deviceInfo": {"x": ["ok", "\\u0000"]}}}', "userAdditional.deviceInfo.x.1"),
    ],
)
def test_hostile_body_gets_a_json_error_and_writes_nothing(push, body, attr):
    response = push(body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["type"] == "validation_error"
    assert response.json()["errors"][0]["attr"] == attr
    assert stored_rows() == NOTHING_STORED
    assert PushLog.objects.get().outcome == PushOutcome.REJECTED


def test_nul_in_unknown_device_key_is_rejected_with_its_path(push):
    payload = PushPayloadFactory()
    payload["userAdditional"]["deviceInfo"]["note"] = "a\x00b"

    response = push(payload)

    assert response.status_code == 400
    assert error_attrs(response) == ["userAdditional.deviceInfo.note"]


def test_deeply_nested_unknown_device_key_is_rejected(push):
    payload = PushPayloadFactory()
    nested: list = []
    payload["userAdditional"]["deviceInfo"]["nested"] = nested
    for _ in range(40):
        nested.append([])
        nested = nested[0]

    response = push(payload)

    assert response.status_code == 400
    assert error_attrs(response) == ["userAdditional.deviceInfo"]


def test_huge_string_is_rejected_by_its_maximum_length(push):
    payload = with_value(PushPayloadFactory(), "userAdditional.deviceInfo.wifiName", "w" * 1_000_000)

    response = push(payload)

    assert response.status_code == 400
    assert error_attrs(response) == ["userAdditional.deviceInfo.wifiName"]


def test_body_over_the_limit_is_413(push, settings):
    settings.PUSH_MAX_BODY_BYTES = 1024
    payload = PushPayloadFactory(userAdditional__addressBook__size=100)

    response = push(payload)

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "payload_too_large"
    assert stored_rows() == NOTHING_STORED
    log = PushLog.objects.get()
    assert (log.http_status, log.body) == (413, None)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "application/json; charset=latin-1"],
)
def test_wrong_media_type_is_415(push, content_type):
    response = push(json.dumps(PushPayloadFactory()), content_type=content_type)

    assert response.status_code == 415
    assert response.json()["type"] == "client_error"
    assert stored_rows() == NOTHING_STORED


def test_json_with_explicit_utf8_charset_is_accepted(push):
    assert push(PushPayloadFactory(), content_type="application/json; charset=UTF-8").status_code == 201


def test_get_is_405_json(api_client, institution):
    response = api_client.get(PUSH_URL, headers={"Authorization": f"Bearer {institution.api_token}"})

    assert response.status_code == 405
    assert response.json()["type"] == "client_error"


# --- Credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer nonsense", "Bearer a.b", "Token abc", "Bearer one two", "Basic dXNlcjpwdw=="],
)
def test_missing_or_wrong_token_is_401(api_client, institution, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = api_client.post(PUSH_URL, data=json.dumps(PushPayloadFactory()), content_type="application/json",
                               headers=headers)  # fmt: skip

    assert response.status_code == 401
    assert response.json()["type"] == "client_error"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert stored_rows() == NOTHING_STORED
    log = PushLog.objects.get()
    assert (log.outcome, log.institution, log.body) == (PushOutcome.UNAUTHORIZED, None, None)


def test_token_with_right_id_and_wrong_secret_is_401(push, institution):
    token_id = institution.api_token.split(".")[0]

    assert push(PushPayloadFactory(), token=f"{token_id}.wrong-secret").status_code == 401


def test_revoked_token_is_401(push, institution):
    institution_revoke_credentials(institution=institution)

    assert push(PushPayloadFactory()).status_code == 401


def test_disabled_institution_is_403(push, institution):
    institution.is_active = False
    institution.save()

    response = push(PushPayloadFactory())

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "institution_disabled"
    assert stored_rows() == NOTHING_STORED
    assert PushLog.objects.get().institution == institution


# --- Faults and cost ----------------------------------------------------------------------


def test_database_failure_mid_push_is_503_and_writes_nothing(push, api_client):
    # the test client would re-raise what the handler reports to error monitoring
    api_client.raise_request_exception = False
    with mock.patch("intake.services.order_create_from_push", side_effect=OperationalError("server closed")):
        response = push(PushPayloadFactory())

    assert response.status_code == 503
    assert response.json() == {
        "type": "server_error",
        "errors": [{"code": "database_unavailable", "detail": mock.ANY, "attr": None}],
    }
    assert stored_rows() == NOTHING_STORED


def test_failure_after_the_order_row_rolls_the_whole_push_back(push, api_client):
    api_client.raise_request_exception = False
    # given a failure while the address book is written, after the order row
    with mock.patch("orders.services.push.address_book_write", side_effect=OperationalError("connection lost")):
        response = push(PushPayloadFactory())

    # then no part of the order remains
    assert response.status_code == 503
    assert stored_rows() == NOTHING_STORED


@pytest.mark.parametrize("size", [10, 1000])
def test_push_query_count_does_not_grow_with_the_address_book(
    push, institution, monkeypatch, settings, django_assert_num_queries, size
):
    # given a rate-limit minute already open (its first push also drops old counters)
    monkeypatch.setattr("intake.throttling._now", lambda: 1_800_000_010.0)
    rate_limit_consume(institution=institution)
    payload = PushPayloadFactory(userAdditional__addressBook__size=size)

    # jobs recorded for the engine, as in production (not run inline)
    settings.JOBS_INLINE = False

    # institution lookup; rate-limit count; order, device, contacts, employer, address book;
    # the signals job; push log; plus SAVEPOINT/RELEASE because the test itself runs inside a transaction
    with django_assert_num_queries(11):
        response = push(payload)

    assert response.status_code == 201
    assert AddressBookEntry.objects.count() == size
    [job] = OrmQ.objects.all()
    assert job.func() == "orders.risk.tasks.risk_signals_job"
    # then, on a worker: its risk signals, also independent of the book
    with django_assert_num_queries(11 + SIGNAL_WRITERS_LOCK_QUERIES):
        risk_signals_job(Order.objects.get().pk)
    assert not Order.objects.get().risk_pending
