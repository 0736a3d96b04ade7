"""The privacy policy module: every masking rule against the README's table, the permissions, push bodies."""

import hashlib
import hmac
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from orders import pii
from orders.models import Device, ExportLog, PersonalDataAccess
from orders.pii import Kind, mask, mask_address, mask_document, mask_gps, mask_ip, mask_name, mask_phone, pseudonym
from tests.factories import DeviceFactory, InstitutionFactory, OrderFactory, PushPayloadFactory, pushed_order


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812340000", "138****0000"),  # 11 digits
        ("1381234000011", "138******0011"),  # 13 digits
        ("1234567", "1234567"),  # 7 digits: 3 + 4 kept, nothing in between
        ("12345678", "123*5678"),
        ("10086", "***86"),  # 5 digits: all but the last 2
        ("123456", "****56"),
        ("12", "12"),
        ("+86 139-0000-2222", "861******2222"),  # separators dropped, +86 counts as digits
        ("021-65550000", "021****0000"),
        ("", ""),
        ("=1+2abc", "****bc"),  # not a digit is hidden like one
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("张", "张*"), ("Mary", "M*"), ("欧阳娜娜", "欧*"), ("😀笑", "😀*"), ("", "")],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_pseudonym_is_keyed_hmac_prefix(settings):
    settings.PII_PSEUDONYM_KEY = "k1"
    expected = hmac.new(b"k1", b"7d50dcb97e654de6890ae8000bb4558a", hashlib.sha256).hexdigest()[:16]
    assert pseudonym("7d50dcb97e654de6890ae8000bb4558a") == expected
    assert len(expected) == 16
    assert pseudonym("") == ""
    settings.PII_PSEUDONYM_KEY = "k2"
    assert pseudonym("7d50dcb97e654de6890ae8000bb4558a") != expected


def test_pseudonym_key_derived_from_secret_key_when_unset(settings):
    settings.PII_PSEUDONYM_KEY = ""
    settings.SECRET_KEY = "secret-one"
    first = pseudonym("imei-1")
    settings.SECRET_KEY = "secret-two"
    assert pseudonym("imei-1") != first
    # Not the plain HMAC under SECRET_KEY itself: the derived key says nothing about the secret.
    assert first != hmac.new(b"secret-one", b"imei-1", hashlib.sha256).hexdigest()[:16]


@pytest.mark.parametrize(
    ("ip", "masked"),
    [
        ("117.136.0.5", "117.136.0.*"),
        ("2408:8456:1234:5678::1", "2408:8456:1234::/48"),
        ("::1", "::/48"),
        ("not an ip", "*"),
        ("999.1.1.1", "*"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_ip(ip, masked):
    assert mask_ip(ip) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("121.5103238932292", "121.51"),
        ("31.30658718532986", "31.31"),
        (Decimal("-121.475000000000"), "-121.48"),  # half away from zero, as PostgreSQL's round()
        (Decimal("-0.001"), "0.00"),
        (0, "0.00"),
        ("", ""),
        (None, ""),
        ("north", "*"),
        ("1e400", "*"),
        ("NaN", "*"),
    ],
)
def test_mask_gps(value, masked):
    assert mask_gps(value) == masked


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("广东省深圳市南山区科技园南区", "广东省深圳市南山区"),
        ("北京市朝阳区建国路88号院3号楼", "北京市朝阳区"),
        ("新疆维吾尔自治区乌鲁木齐市天山区光明路1号", "新疆维吾尔自治区乌鲁木齐市天山区"),
        ("上海市杨浦区政学路靠近金芭蕾舞蹈(五角场店)", "上海市杨浦区"),
        ("浙江省杭州市余杭区文一西路", "浙江省杭州市余杭区"),
        ("云南省大理白族自治州大理市下关镇", "云南省大理白族自治州大理市"),
        ("深圳市南山区粤海街道", "深圳市南山区"),
        ("靠近金芭蕾舞蹈(五角场店)", "*"),  # no province or city: nothing of it is shown
        ("张三家附近小区", "*"),
        ("1 Infinite Loop, Cupertino", "*"),
        ("", ""),
    ],
)
def test_mask_address(address, masked):
    assert mask_address(address) == masked


def test_mask_by_kind():
    assert mask(Kind.PHONE, "13812340000") == "138****0000"
    assert mask(Kind.NAME, "张三") == "张*"
    assert mask(Kind.DEVICE_ID, "abc") == pseudonym("abc")
    assert mask(Kind.IP, "1.2.3.4") == "1.2.3.*"
    assert mask(Kind.GPS, Decimal("1.005")) == "1.01"
    assert mask(Kind.ADDRESS, "北京市朝阳区x") == "北京市朝阳区"
    assert mask(Kind.PHONE, None) == ""


@pytest.fixture
def users(django_user_model):
    def make(name, *codenames):
        user = django_user_model.objects.create_user(name, password="x", is_staff=True)
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))
        return django_user_model.objects.get(pk=user.pk)  # fresh permission cache

    return {
        "analyst": make("analyst", "view_order", "export_order"),
        "reviewer": make("reviewer", "view_order", "view_personal_data"),
        "lister": make("lister", "view_order", "export_order", "view_personal_data"),
    }


@pytest.mark.django_db
def test_who_sees_what(users):
    analyst, reviewer, lister = users["analyst"], users["reviewer"], users["lister"]
    assert not pii.can_view_personal_data(analyst)
    assert not pii.can_list_personal_data(analyst)
    assert pii.can_view_personal_data(reviewer)
    assert not pii.can_list_personal_data(reviewer)
    assert pii.can_view_personal_data(lister)
    assert pii.can_list_personal_data(lister)
    phone = "13812340000"
    assert pii.shown(analyst, Kind.PHONE, phone) == "138****0000"
    assert pii.shown(reviewer, Kind.PHONE, phone) == phone
    assert pii.shown(reviewer, Kind.PHONE, phone, in_list=True) == "138****0000"
    assert pii.shown(lister, Kind.PHONE, phone, in_list=True) == phone
    assert pii.shown(analyst, Kind.DEVICE_ID, "dev-1") == pseudonym("dev-1")
    assert pii.shown(reviewer, Kind.DEVICE_ID, "dev-1") == "dev-1"
    assert pii.shown(analyst, Kind.PHONE, phone) == "138****0000"


@pytest.mark.django_db
def test_unmasked_list_is_an_export_log_row(users):
    pii.unmasked_list_record(
        user=users["lister"], source="api", kind="orders", filters={"user_phone": "13812340000"}, row_count=50
    )
    log = ExportLog.objects.get()
    assert (log.user, log.source, log.kind, log.row_count, log.unmasked) == (users["lister"], "api", "orders", 50, True)
    assert log.finished_at is not None


class _Uncountable(list):
    def __len__(self):
        raise AssertionError("a masked page is not counted")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "list_logged", "listed_orders_logged", "one_order_logged"),
    [("analyst", False, False, False), ("reviewer", False, False, True), ("lister", True, True, True)],
)
def test_the_policy_alone_decides_which_views_are_logged(
    users, who, list_logged, listed_orders_logged, one_order_logged
):
    # given: a user shown a list page of two orders, then one order's page
    user, orders = users[who], OrderFactory.create_batch(2)
    rows = [*orders] if list_logged else _Uncountable(orders)

    # when
    listed = pii.list_view_record(user=user, source="admin", kind="orders", filters={}, rows=rows)
    orders_listed = pii.orders_view_record(
        user=user, order_ids=[order.pk for order in orders], context="admin:test_list", in_list=True
    )
    one_order = pii.orders_view_record(user=user, order_ids=[orders[0].pk], context="admin:test_page")

    # then: what was unmasked is what was recorded, and nothing else
    assert (listed, orders_listed, one_order) == (list_logged, listed_orders_logged, one_order_logged)
    assert list(ExportLog.objects.values_list("user", "row_count", "unmasked")) == (
        [(user.pk, 2, True)] if list_logged else []
    )
    expected = {("admin:test_list", order.pk) for order in orders} if listed_orders_logged else set()
    if one_order_logged:
        expected.add(("admin:test_page", orders[0].pk))
    assert set(PersonalDataAccess.objects.filter(user=user).values_list("context", "order_id")) == expected


SAMPLE = {
    "orderInfo": {"orderNo": "YB1", "loan_amount": "500000", "userPhone": "13812345678"},
    "userAdditional": {
        "deviceInfo": {
            "deviceId": "7d50dcb97e654de6890ae8000bb4558a",
            "idfa": "BAFA623B-A87F-4F69-85C8-52F76F1464BF",
            "imei": "861234567890123",
            "osType": "iOS",
            "gpsLongitude": "121.5103238932292",
            "gpsLatitude": 31.30658718532986,
            "gpsAddress": "上海市杨浦区政学路靠近金芭蕾舞蹈(五角场店)",
            "ip": "117.136.0.5",
            "wifiName": "office-5G",
            "tdDeviceId": "td-secret-1",
            "shumei_fingerprint": "sm-secret-2",
            "bettary": "87",
        },
        "addressBook": {
            "phoneList": [
                "中国移动_10086",
                "张伟_13900001111",
                "13700003333",
                {"name": "李娜", "phone": "+86 139-0000-2222"},
                17,
                None,
            ]
        },
        "contactInfo": {
            "name": "张建国",
            "mobile": "13600001111",
            "relation": "父母",
            "nameSpare": "刘洋",
            "mobileSpare": "13500002222",
            "relationSpare": "朋友",
        },
        "workOfficeInfo": {
            "companyName": "上海某某信息科技有限公司",
            "areas": "上海市,上海市,杨浦区",
            "address": "上海市杨浦区政学路1号",
            "telNo": "021-65550000",
        },
    },
}
CLEAR_VALUES = [
    "13812345678",
    "7d50dcb97e654de6890ae8000bb4558a",
    "BAFA623B-A87F-4F69-85C8-52F76F1464BF",
    "861234567890123",
    "121.5103238932292",
    "31.30658718532986",
    "政学路",
    "117.136.0.5",
    "td-secret-1",
    "sm-secret-2",
    "13900001111",
    "张伟",
    "李娜",
    "13700003333",
    "0000-2222",
    "张建国",
    "13600001111",
    "刘洋",
    "13500002222",
    "65550000",
]


def test_mask_document_masks_every_personal_key():
    masked = mask_document(SAMPLE)
    text = json.dumps(masked, ensure_ascii=False)
    for value in CLEAR_VALUES:
        assert value not in text, value
    device = masked["userAdditional"]["deviceInfo"]
    assert device["deviceId"] == pseudonym("7d50dcb97e654de6890ae8000bb4558a")
    assert device["tdDeviceId"] == pseudonym("td-secret-1")
    assert device["shumei_fingerprint"] == pseudonym("sm-secret-2")
    assert (device["ip"], device["gpsLongitude"], device["gpsLatitude"]) == ("117.136.0.*", "121.51", "31.31")
    assert device["gpsAddress"] == "上海市杨浦区"
    assert (device["osType"], device["wifiName"], device["bettary"]) == ("iOS", "office-5G", "87")
    book = masked["userAdditional"]["addressBook"]["phoneList"]
    assert book[:3] == ["中*_***86", "张*_139****1111", "137****3333"]
    assert book[3:] == [{"name": "李*", "phone": "861******2222"}, "17", None]
    contacts = masked["userAdditional"]["contactInfo"]
    assert (contacts["name"], contacts["mobile"], contacts["relation"]) == ("张*", "136****1111", "父母")
    assert masked["userAdditional"]["workOfficeInfo"]["telNo"] == "021****0000"
    assert masked["userAdditional"]["workOfficeInfo"]["address"] == "上海市杨浦区"
    assert masked["orderInfo"] == {"orderNo": "YB1", "loan_amount": "500000", "userPhone": "138****5678"}
    assert SAMPLE["orderInfo"]["userPhone"] == "13812345678"  # the input is not changed


def test_mask_document_channel_envelope_args():
    envelope = {"ua": "inst", "args": json.dumps(SAMPLE, ensure_ascii=False), "sign": "abc"}
    masked = mask_document(envelope)
    assert masked["ua"] == "inst"
    assert masked["sign"] == "abc"
    assert json.loads(masked["args"]) == mask_document(SAMPLE)


def test_mask_document_hides_envelope_args_that_are_not_json():
    # A refused channel push (a trailing comma) keeps its envelope; its `args` cannot be masked by key.
    args = json.dumps(SAMPLE, ensure_ascii=False)[:-1] + ",}"
    assert mask_document({"ua": "inst", "args": args, "sign": "abc"}) == {"ua": "inst", "args": "*", "sign": "abc"}
    assert mask_document({"ua": "inst", "args": "13812345678", "sign": "abc"})["args"] == "*"


def test_mask_document_odd_shapes():
    assert mask_document({"userPhone": ["13812345678", {"x": 13812345678}]}) == {
        "userPhone": ["138****5678", {"x": "138****5678"}]
    }
    assert mask_document({"phoneList": "张伟_13900001111"}) == {"phoneList": "张*_139****1111"}
    # No key says what it is, but a phone number is one wherever it is written (issue 12: a sender's
    # own keys, `spouseMobile` or `simPhoneNumber`, were shown in clear).
    assert mask_document("13812345678") == "138****5678"
    assert mask_document({"orderInfo": {"spouseMobile": "+86 135 7777 2468", "note": "call 021-65551234"}}) == {
        "orderInfo": {"spouseMobile": "861******2468", "note": "call 021****1234"}
    }
    # Beside the contacts, a sender's own keys are masked further still: as names (the test below).
    beside_contacts = {"contactInfo": {"spouseMobile": "+86 135 7777 2468"}}
    assert mask_document(beside_contacts) == {"contactInfo": {"spouseMobile": "+*"}}
    # Longer digit runs and codes are not phones: timestamps, IMSIs, orderNos.
    kept = {"lastLoginTime": "1712041395000", "teleNum": "460111234598765", "orderNo": "YB13800001111"}
    assert mask_document(kept) == kept
    assert mask_document(None) is None
    deep: object = {"userPhone": "13812345678"}
    for _ in range(5000):
        deep = [deep]
    assert "13812345678" not in json.dumps(mask_document(deep))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["userPhone", "phoneList", "name", "deviceInfo", "ip", "gpsLatitude", "args", "x"])
            | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_mask_document_never_raises(document):
    json.dumps(mask_document(document))


# --- Stored masked columns (what the CSV export selects) -----------------------------------------


def stored_masks_are_current(device) -> bool:
    device.refresh_from_db()
    return all(getattr(device, name) == value for name, value in pii.device_stored_masks(device).items())


@pytest.mark.django_db
def test_a_pushed_device_stores_its_pseudonyms_and_masked_address():
    payload = PushPayloadFactory()
    payload["userAdditional"]["deviceInfo"].update(imei="861234567890123", gpsAddress="广东省深圳市南山区科技园南区")
    device = pushed_order(payload=payload).device
    assert device.device_id_pseudonym == pseudonym(device.device_id)
    assert device.imei_pseudonym == pseudonym("861234567890123")
    assert device.android_id_pseudonym == ""  # no androidId pushed
    assert device.gps_address_masked == "广东省深圳市南山区"


@pytest.mark.django_db
def test_generated_orders_store_the_masks_too():
    call_command("generate_orders", count=30, seed=11, verbosity=0, stdout=StringIO())
    devices = list(Device.objects.all())
    assert devices
    assert all(stored_masks_are_current(device) for device in devices)
    assert any(device.imei_pseudonym for device in devices)


@pytest.mark.django_db
def test_changing_the_key_then_recomputing_updates_every_device(settings):
    devices = [DeviceFactory(device_id=f"dev-{number}") for number in range(5)]
    settings.PII_PSEUDONYM_KEY = "a-new-key"
    assert not any(stored_masks_are_current(device) for device in devices)
    out = StringIO()
    call_command("recompute_pseudonyms", "--batch-size", "2", stdout=out, stderr=StringIO())
    assert "5 devices" in out.getvalue()
    assert all(stored_masks_are_current(device) for device in devices)
    assert devices[0].device_id_pseudonym == pseudonym("dev-0")


@pytest.mark.django_db(transaction=True)
def test_the_migration_backfills_devices_written_before_it():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("orders", "0005_risk_pending")], [("orders", "0006_pii_pseudonyms_and_reason_facts")]
    institution = InstitutionFactory()
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    order = old_apps.get_model("orders", "Order").objects.create(
        institution_id=institution.pk,
        order_no="before-0006",
        loan_amount_fen=100,
        user_phone="13812340000",
        door="rest",
        payload_sha256="0" * 64,
    )
    old_apps.get_model("orders", "Device").objects.create(
        order_id=order.pk,
        device_id="dev-before",
        os_type="iOS",
        os_kind="ios",
        last_login_at="2024-05-01T00:00:00Z",
        ip="1.2.3.4",
        gps_address="北京市朝阳区建国路",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    device = Device.objects.get(order_id=order.pk)
    assert (device.device_id_pseudonym, device.gps_address_masked) == (pseudonym("dev-before"), "北京市朝阳区")


def test_mask_document_masks_unknown_keys_about_third_parties_as_names():
    # given: a sender adds keys of its own beside the contacts and the employer
    body = {
        "userAdditional": {
            "contactInfo": {
                "name": "张建国",
                "relation": "父母",
                "spouseName": "王芳",
                "extra": {"guarantor": "李雷"},
            },
            "workOfficeInfo": {
                "companyName": "上海某某科技有限公司",
                "hrName": "Alice",
                "areas": "上海市,上海市,杨浦区",
            },
            "deviceInfo": {"wifiName": "HX-Office"},
        }
    }

    masked = mask_document(body)["userAdditional"]

    # then: what no rule can recognise by its value is masked as a name; the protocol's keys keep their rules
    contacts = masked["contactInfo"]
    assert contacts == {"name": "张*", "relation": "父母", "spouseName": "王*", "extra": {"guarantor": "李*"}}
    assert masked["workOfficeInfo"]["hrName"] == "A*"
    assert masked["workOfficeInfo"]["companyName"] == "上海某某科技有限公司"
    assert masked["workOfficeInfo"]["areas"] == "上海市,上海市,杨浦区"
    assert masked["deviceInfo"] == {"wifiName": "HX-Office"}
