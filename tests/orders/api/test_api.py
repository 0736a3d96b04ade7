"""The staff read API: who may read, what the list and detail show, pagination, parameter errors."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders.models import ExportLog, PersonalDataAccess, RiskSignal, StaffApiToken
from orders.pii import mask_gps, mask_ip, pseudonym
from orders.services import staff_api_token_create, staff_api_token_revoke
from tests.factories import (
    AddressBookEntryFactory,
    AnalystFactory,
    ContactFactory,
    DeviceFactory,
    EmployerFactory,
    OrderFactory,
    PushPayloadFactory,
    ReviewerFactory,
    UserFactory,
    flag,
    pushed_order,
)

LIST_URL = "/api/v1/orders/"
READ_URLS = [LIST_URL, f"{LIST_URL}?format=csv", "/api/v1/orders/contacts.csv", "/api/v1/orders/address-book.csv"]

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def analyst():
    return AnalystFactory()


@pytest.fixture
def analyst_token(analyst) -> str:
    return staff_api_token_create(user=analyst, name="pandas").plaintext


# --- Who may read -----------------------------------------------------------------


@pytest.mark.parametrize("url", [*READ_URLS, "/api/v1/orders/1/"])
def test_anonymous_gets_401_with_the_error_body(api_client, url):
    # given
    OrderFactory(pk=1)
    # when
    response = api_client.get(url)
    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["type"] == "client_error"
    assert response.json()["errors"][0]["code"] == "not_authenticated"


@pytest.mark.parametrize("url", [*READ_URLS, "/api/v1/orders/1/"])
def test_an_institution_push_token_reads_nothing(api_client, institution, url):
    # given: the institution's own order
    OrderFactory(pk=1, institution=institution)
    # when
    response = api_client.get(url, headers=bearer(institution.api_token))
    # then
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "authentication_failed"


@pytest.mark.parametrize(
    "spoil",
    [
        lambda token: token.split(".")[0] + ".wrong-secret",
        lambda token: token.split(".")[0],
        lambda token: "st000000000000." + token.split(".")[1],
        lambda token: token + " extra",
    ],
    ids=["wrong-secret", "no-secret", "unknown-id", "two-parts"],
)
def test_a_bad_staff_token_is_401(api_client, analyst_token, spoil):
    response = api_client.get(LIST_URL, headers=bearer(spoil(analyst_token)))
    assert response.status_code == 401


def test_a_revoked_token_stops_working(api_client, analyst, analyst_token):
    # given
    assert api_client.get(LIST_URL, headers=bearer(analyst_token)).status_code == 200
    # when
    revoked = staff_api_token_revoke(tokens=StaffApiToken.objects.filter(user=analyst))
    # then
    assert revoked == 1
    assert api_client.get(LIST_URL, headers=bearer(analyst_token)).status_code == 401


def test_an_expired_token_is_401(api_client, analyst):
    # given
    issued = staff_api_token_create(user=analyst, name="old", expires_at=timezone.now() + timedelta(days=1))
    StaffApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # when / then
    assert api_client.get(LIST_URL, headers=bearer(issued.plaintext)).status_code == 401


@pytest.mark.parametrize("field", ["is_active", "is_staff"])
def test_a_token_of_a_user_no_longer_active_staff_is_401(api_client, analyst, analyst_token, field):
    # given
    setattr(analyst, field, False)
    analyst.save()
    # when / then
    assert api_client.get(LIST_URL, headers=bearer(analyst_token)).status_code == 401


def test_only_active_staff_can_hold_a_token():
    with pytest.raises(ValueError, match="staff"):
        staff_api_token_create(user=UserFactory(is_staff=False), name="x")


def test_the_token_is_stored_hashed():
    # given
    issued = staff_api_token_create(user=AnalystFactory(), name="x")
    # when
    stored = StaffApiToken.objects.get()
    # then
    secret = issued.plaintext.split(".", 1)[1]
    assert issued.plaintext.startswith(stored.token_id + ".")
    assert secret not in stored.token_hash


@pytest.mark.parametrize(
    ("make_user", "status"),
    [
        (lambda: UserFactory(), 403),  # staff, but no role
        (lambda: UserFactory(is_staff=False, groups=["analyst"]), 403),  # the role, but not staff
        (lambda: AnalystFactory(is_active=False), 401),  # a deactivated user's session no longer authenticates
    ],
    ids=["staff-without-role", "analyst-not-staff", "inactive-analyst"],
)
def test_users_without_the_role_are_refused_by_session(api_client, make_user, status):
    # given
    api_client.force_login(make_user())
    # when
    response = api_client.get(LIST_URL)
    # then
    assert response.status_code == status
    assert response.json()["type"] == "client_error"


@pytest.mark.parametrize("make_user", [AnalystFactory, ReviewerFactory, lambda: UserFactory(is_superuser=True)])
def test_roles_that_browse_can_read_by_session(api_client, make_user):
    # given
    OrderFactory()
    api_client.force_login(make_user())
    # when
    response = api_client.get(LIST_URL)
    # then
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_analyst_reads_with_a_personal_token(api_client, analyst_token):
    # given
    order = OrderFactory()
    # when
    response = api_client.get(LIST_URL, headers=bearer(analyst_token))
    # then
    assert response.status_code == 200
    assert [row["order_no"] for row in response.json()["results"]] == [order.order_no]


def test_create_staff_token_command_prints_a_working_token(api_client, analyst):
    # given
    out = StringIO()
    # when
    call_command("create_staff_token", analyst.username, "--name", "nightly", "--days", "30", stdout=out)
    # then
    line = out.getvalue().strip()
    assert line.startswith("api_token=")
    assert api_client.get(LIST_URL, headers=bearer(line.removeprefix("api_token="))).status_code == 200
    assert StaffApiToken.objects.get().expires_at > timezone.now() + timedelta(days=29)


@pytest.mark.parametrize(("args", "message"), [(["nobody"], "No user"), (["{analyst}", "--days", "0"], "--days")])
def test_create_staff_token_command_refuses(analyst, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_staff_token", *[arg.format(analyst=analyst.username) for arg in args], "--name", "x")


# --- What the list and detail show --------------------------------------------------


def test_list_masks_phones_for_analysts_and_logs_nothing(api_client, analyst_token):
    # given
    DeviceFactory(order__user_phone="13812340000", order__loan_amount_fen=123_456, is_root=True)
    # when
    row = api_client.get(LIST_URL, headers=bearer(analyst_token)).json()["results"][0]
    # then
    assert row["user_phone"] == "138****0000"
    assert row["loan_amount_fen"] == 123_456
    assert row["loan_amount_yuan"] == "1234.56"
    assert row["is_root"] is True
    assert row["os_kind"] == "ios"
    assert row["received_at"].endswith("+08:00")
    assert not PersonalDataAccess.objects.exists()


def reviewer_who_exports():
    user = ReviewerFactory()
    user.groups.add(*AnalystFactory().groups.all())
    return user


@pytest.mark.parametrize("make_user", [reviewer_who_exports, lambda: UserFactory(is_superuser=True)])
def test_list_is_unmasked_only_with_export_and_pii_rights_and_logged_as_an_export(api_client, make_user):
    # given
    orders = [OrderFactory(user_phone="13812340000"), OrderFactory(user_phone="13912340000")]
    user = make_user()
    api_client.force_login(user)
    # when
    rows = api_client.get(f"{LIST_URL}?page_size=500&user_phone=").json()["results"]
    # then
    assert {row["user_phone"] for row in rows} == {"13812340000", "13912340000"}
    log = ExportLog.objects.get()
    assert (log.user, log.source, log.kind, log.row_count, log.unmasked) == (user, "api", "orders", 2, True)
    assert log.filters == {"page_size": "500", "user_phone": ""}
    accesses = PersonalDataAccess.objects.filter(user=user, context="api:list")
    assert sorted(accesses.values_list("order_id", flat=True)) == sorted(order.pk for order in orders)


def test_a_reviewer_paging_the_whole_table_sees_it_masked(api_client):
    # given: a reviewer sees full numbers one order at a time, but may not export
    DeviceFactory(order__user_phone="13812340000", device_id="dev-secret-1", ip="117.136.0.5")
    api_client.force_login(ReviewerFactory())
    # when
    response = api_client.get(f"{LIST_URL}?page_size=500")
    # then
    assert response.status_code == 200
    assert response.json()["results"][0]["user_phone"] == "138****0000"
    assert "13812340000" not in response.content.decode()
    assert not ExportLog.objects.exists()
    assert not PersonalDataAccess.objects.exists()


def test_search_by_a_full_number_works_on_a_masked_list(api_client, analyst_token):
    # given
    wanted = OrderFactory(user_phone="13812340000")
    OrderFactory(user_phone="13812349999")
    # when
    rows = api_client.get(f"{LIST_URL}?user_phone=13812340000", headers=bearer(analyst_token)).json()["results"]
    # then
    assert [(row["id"], row["user_phone"]) for row in rows] == [(wanted.pk, "138****0000")]


def test_detail_nests_everything_pushed_with_the_order(api_client, analyst_token):
    # given
    order = pushed_order(userAdditional__addressBook__size=7)
    # when
    response = api_client.get(f"{LIST_URL}{order.pk}/", headers=bearer(analyst_token))
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["order_no"] == order.order_no
    assert body["address_book_count"] == 7
    assert body["device"]["os_kind"] == "ios"
    assert body["device"]["device_id"] == pseudonym(order.device.device_id)
    assert [contact["priority"] for contact in body["contacts"]] == [1, 2]
    assert all("****" in contact["mobile"] for contact in body["contacts"])
    assert body["employer"]["company_name"] == order.employer.company_name
    assert "****" in body["employer"]["tel_no"]
    assert "****" in body["user_phone"]


def test_an_analysts_detail_holds_no_personal_data_in_clear(api_client, analyst_token):
    # given: the sample push, with a third-party identifier the protocol does not define
    payload = PushPayloadFactory()
    payload["userAdditional"]["deviceInfo"].update(imei="861234567890123", tdDeviceId="td-secret-1")
    order = pushed_order(payload=payload)
    device = order.device
    clear = [
        order.user_phone,
        device.device_id,
        device.idfa,
        device.idfv,
        device.uuid,
        device.imei,
        "td-secret-1",
        str(device.ip),
        str(device.gps_longitude),
        device.gps_address,
        order.employer.tel_no,
        order.employer.address,
        *(value for contact in order.contacts.all() for value in (contact.name, contact.mobile)),
    ]
    # when
    response = api_client.get(f"{LIST_URL}{order.pk}/", headers=bearer(analyst_token))
    # then
    text = response.content.decode()
    assert [value for value in clear if value and value in text] == []
    body = response.json()
    device_json = body["device"]
    assert (device_json["uuid"], device_json["extra"]["tdDeviceId"]) == (
        pseudonym(device.uuid),
        pseudonym("td-secret-1"),
    )
    assert device_json["gps_longitude"] == mask_gps(device.gps_longitude)
    assert device_json["ip"] == mask_ip(device.ip)
    assert body["contacts"][0]["name"] == order.contacts.get(priority=1).name[0] + "*"
    assert not PersonalDataAccess.objects.exists()


def test_a_reviewers_detail_shows_the_device_in_clear(api_client):
    # given
    order = pushed_order()
    api_client.force_login(ReviewerFactory())
    # when
    device_json = api_client.get(f"{LIST_URL}{order.pk}/").json()["device"]
    # then
    assert (device_json["device_id"], device_json["ip"]) == (order.device.device_id, str(order.device.ip))
    assert device_json["gps_longitude"] == str(order.device.gps_longitude)
    assert "device_id_pseudonym" not in device_json


def test_detail_of_an_order_without_device_or_employer(api_client, analyst_token):
    # given
    order = OrderFactory()
    # when
    body = api_client.get(f"{LIST_URL}{order.pk}/", headers=bearer(analyst_token)).json()
    # then
    assert body["device"] is None
    assert body["employer"] is None
    assert body["contacts"] == []
    assert body["is_root"] is None


def test_detail_for_a_reviewer_is_unmasked_and_recorded(api_client):
    # given
    contact = ContactFactory(mobile="13700001111", order__user_phone="13812340000")
    reviewer = ReviewerFactory()
    api_client.force_login(reviewer)
    # when
    body = api_client.get(f"{LIST_URL}{contact.order_id}/").json()
    # then
    assert body["user_phone"] == "13812340000"
    assert body["contacts"][0]["mobile"] == "13700001111"
    assert PersonalDataAccess.objects.filter(user=reviewer, order=contact.order, context="api:detail").exists()


def test_detail_of_a_missing_order_is_404_json(api_client, analyst_token):
    response = api_client.get(f"{LIST_URL}999999/", headers=bearer(analyst_token))
    assert response.status_code == 404
    assert response.json()["type"] == "client_error"


def test_list_query_count_is_flat(api_client, analyst_token, django_assert_num_queries):
    # given: flags are computed in the page's query, not one query per row
    for _ in range(30):
        flag(DeviceFactory().order, "shared_device", "rooted_device")
    # when / then: token+user, the user's and its groups' permissions, the page
    with django_assert_num_queries(4):
        response = api_client.get(f"{LIST_URL}?page_size=25&os_type=ios", headers=bearer(analyst_token))
    assert len(response.json()["results"]) == 25
    assert {tuple(row["risk_flags"]) for row in response.json()["results"]} == {("rooted_device", "shared_device")}


def test_detail_query_count(api_client, analyst_token, django_assert_num_queries):
    # given
    order = pushed_order(userAdditional__addressBook__size=50)
    flag(order, "thin_address_book")
    # when / then: token+user, permissions (2), the order with device, employer and flags, its contacts
    with django_assert_num_queries(5):
        response = api_client.get(f"{LIST_URL}{order.pk}/", headers=bearer(analyst_token))
    assert response.status_code == 200
    stored = sorted(RiskSignal.objects.filter(order=order).values_list("code", flat=True))
    assert len(stored) > 1  # the push computed its own signals too
    assert response.json()["risk_flags"] == stored


def test_list_and_detail_show_the_risk_flags_sorted(api_client, analyst_token):
    # given
    flagged = OrderFactory(received_at=timezone.now())
    flag(flagged, "simulator", "contact_is_applicant", "shared_device")
    clean = OrderFactory(received_at=timezone.now() - timedelta(hours=1))
    # when
    rows = api_client.get(LIST_URL, headers=bearer(analyst_token)).json()["results"]
    detail = api_client.get(f"{LIST_URL}{flagged.pk}/", headers=bearer(analyst_token)).json()
    clean_detail = api_client.get(f"{LIST_URL}{clean.pk}/", headers=bearer(analyst_token)).json()
    # then
    assert [(row["id"], row["risk_flags"]) for row in rows] == [
        (flagged.pk, ["contact_is_applicant", "shared_device", "simulator"]),
        (clean.pk, []),
    ]
    assert detail["risk_flags"] == ["contact_is_applicant", "shared_device", "simulator"]
    assert clean_detail["risk_flags"] == []


def test_list_filters_by_risk_flag(api_client, analyst_token):
    # given
    device = OrderFactory()
    flag(device, "shared_device")
    flag(OrderFactory(), "simulator")
    OrderFactory()
    # when
    rows = api_client.get(f"{LIST_URL}?risk_flag=shared_device", headers=bearer(analyst_token)).json()["results"]
    # then
    assert [(row["id"], row["risk_flags"]) for row in rows] == [(device.pk, ["shared_device"])]


# --- Pagination -------------------------------------------------------------------


def test_cursor_pages_walk_every_order_once_newest_first(api_client, analyst_token):
    # given
    now = timezone.now()
    orders = [OrderFactory(received_at=now - timedelta(minutes=i)) for i in range(5)]
    # when
    seen, url = [], f"{LIST_URL}?page_size=2"
    while url:
        page = api_client.get(url, headers=bearer(analyst_token)).json()
        assert len(page["results"]) <= 2
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    # then
    assert seen == [order.pk for order in orders]


def test_cursor_pages_keep_filters(api_client, analyst_token):
    # given
    for _ in range(3):
        OrderFactory(review_status="approved")
    OrderFactory()
    # when
    first = api_client.get(f"{LIST_URL}?page_size=2&review_status=approved", headers=bearer(analyst_token)).json()
    second = api_client.get(first["next"], headers=bearer(analyst_token)).json()
    # then
    assert len(first["results"]) + len(second["results"]) == 3
    assert second["next"] is None


# --- Parameter errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "attr", "code"),
    [
        ("os_type=windows", "os_type", "invalid_choice"),
        ("received_after=yesterday", "received_after", "invalid"),
        ("loan_amount_min=1.5", "loan_amount_min", "invalid"),
        ("user_phone=110", "user_phone", "invalid"),
        ("institution=nobody", "institution", "invalid_choice"),
        ("is_root=maybe", "is_root", "invalid_choice"),
        ("risk_flag=bogus", "risk_flag", "invalid_choice"),
        ("recieved_after=2024-01-01", "recieved_after", "invalid"),
        ("os_type=ios&os_type=android", "os_type", "invalid"),
        ("cursor=garbage", "cursor", "invalid"),
        ("page_size=0", "page_size", "invalid"),
        ("page_size=501", "page_size", "invalid"),
        ("page_size=ten", "page_size", "invalid"),
        ("format=xml", "format", "invalid"),
        ("bom=1", "bom", "invalid"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(api_client, analyst_token, query, attr, code):
    # when
    response = api_client.get(f"{LIST_URL}?{query}", headers=bearer(analyst_token))
    # then
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert [(error["attr"], error["code"]) for error in body["errors"]] == [(attr, code)]


def test_every_bad_parameter_is_listed(api_client, analyst_token):
    response = api_client.get(f"{LIST_URL}?os_type=bsd&loan_amount_max=x&foo=1", headers=bearer(analyst_token))
    assert {error["attr"] for error in response.json()["errors"]} == {"os_type", "loan_amount_max", "foo"}


def test_an_address_book_is_not_in_the_list_payload(api_client, analyst_token):
    # given: a big book must not be loaded for a list row
    AddressBookEntryFactory.create_batch(3, order=EmployerFactory().order)
    # when
    row = api_client.get(LIST_URL, headers=bearer(analyst_token)).json()["results"][0]
    # then
    assert "address_book" not in row
    assert "contacts" not in row
