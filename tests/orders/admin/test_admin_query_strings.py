"""Hostile admin query strings: no field-lookup oracle, no unstorable characters, no 5xx (changelists, exports)."""

import html
import re
import string
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.admin import DocumentedQueryStringChangeList
from orders.admin.export import CsvExportAdminMixin
from orders.pii import personal_data_access_record
from orders.services import order_add_note
from tests.factories import AnalystFactory, PushPayloadFactory, UserFactory, pushed_order

pytestmark = pytest.mark.django_db

APPS = ("orders", "intake")
ORDERS = "/admin/orders/order/"
EXPORT = "/admin/orders/order/export.csv"
PUSH_LOG = "/admin/orders/pushlog/"
APPLICANT_PHONE = "13811112222"


def _registered():
    return [(model, admin_) for model, admin_ in admin.site._registry.items() if model._meta.app_label in APPS]


def changelist_urls() -> list[str]:
    return sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model, _model_admin in admin.site._registry.items()
        if model._meta.app_label in APPS
    )


def export_urls() -> list[str]:
    return sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_export_csv")
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in APPS and isinstance(model_admin, CsvExportAdminMixin)
    )


ALL_URLS = changelist_urls() + export_urls()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Users are logged in with force_login; PBKDF2 on each factory user would be most of this file's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser():
    return UserFactory(is_superuser=True)


@pytest.fixture
def analyst():
    return AnalystFactory()


@pytest.fixture
def data(superuser):
    """One pushed order with every section (so most changelists have rows), a note and an access record."""
    payload = PushPayloadFactory(orderInfo__userPhone=APPLICANT_PHONE)
    order = pushed_order(payload=payload)
    order_add_note(order_id=order.pk, author=superuser, text="called the applicant")
    personal_data_access_record(user=superuser, order_ids=[order.pk], context="test")
    return order


def _refused(response, parameter: str) -> bool:
    content = response.content.decode()
    return response.status_code == 400 and f"“{html.escape(parameter)}”" in content


def test_every_admin_of_the_project_uses_the_documented_query_string_changelist(rf, superuser):
    request = rf.get("/")
    request.user = superuser
    for model, model_admin in _registered():
        assert model_admin.get_changelist(request) is DocumentedQueryStringChangeList, model


# --- 12.3: the guessing oracle ------------------------------------------------------------------

ORACLE_ATTEMPTS = [
    (ORDERS, "user_phone__startswith", "1381111"),
    (ORDERS, "user_phone__regex", "^1381111"),
    (ORDERS, "user_phone__contains", "1111"),
    (ORDERS, "contacts__mobile__startswith", "139"),
    (ORDERS, "address_book__phone_digits__startswith", "139"),
    (ORDERS, "employer__tel_no__contains", "6555"),
    (ORDERS, "device__device_id__startswith", "a"),
    (EXPORT, "user_phone__startswith", "1381111"),
    ("/admin/orders/contact/", "mobile__startswith", "139"),
    ("/admin/orders/contact/", "name__contains", "张"),
    ("/admin/orders/addressbookentry/", "phone_digits__startswith", "139"),
    ("/admin/orders/addressbookentry/", "phone__regex", "^139"),
    ("/admin/orders/addressbookentry/", "order__user_phone__startswith", "138"),
    ("/admin/orders/employer/", "tel_no__contains", "6555"),
    ("/admin/orders/employer/", "address__contains", "政学路"),
    ("/admin/orders/device/", "imei__startswith", "3"),
    ("/admin/orders/device/", "ip__startswith", "127"),
    ("/admin/orders/personaldataaccess/", "order__user_phone__startswith", "138"),
    ("/admin/orders/reviewevent/", "reason__contains", "applicant"),
    ("/admin/orders/pushlog/", "body__contains", "138"),
    ("/admin/orders/institution/", "api_token_hash__startswith", "a"),
]


ANALYST_MODELS = {"order", "contact", "addressbookentry", "employer", "device"}


@pytest.mark.parametrize(("url", "lookup", "prefix"), ORACLE_ATTEMPTS)
def test_an_analyst_cannot_count_rows_by_a_field_lookup(client, analyst, superuser, data, url, lookup, prefix):
    # given: an analyst where analysts may look, a superuser elsewhere
    client.force_login(analyst if url.split("/")[3] in ANALYST_MODELS else superuser)

    # when: a prefix that matches and one that does not
    matching = client.get(url, {lookup: prefix})
    missing = client.get(url, {lookup: "0000000"})

    # then: both are refused alike, naming the parameter: nothing to count
    assert _refused(matching, lookup), matching.content[:300]
    assert _refused(missing, lookup)
    assert "cl" not in matching.context


@pytest.mark.parametrize("url", ALL_URLS)
def test_every_changelist_and_export_refuses_an_undocumented_parameter(client, superuser, data, url):
    client.force_login(superuser)

    response = client.get(url, {"pk__gt": "0"})

    assert _refused(response, "pk__gt")


@pytest.mark.parametrize("url", changelist_urls())
def test_every_link_a_changelist_writes_is_accepted(client, superuser, data, url):
    """Filters, sorting, date drill-down, facets, pagination: whatever the admin links to, it reads."""
    # given
    client.force_login(superuser)
    page = client.get(url)
    assert page.status_code == 200
    links = {html.unescape(link) for link in re.findall(r'href="(\?[^"]*)"', page.content.decode())}
    assert links, "a changelist always links to its sort orders"

    # when / then
    for link in sorted(links):
        response = client.get(url + link)
        assert response.status_code == 200, (link, response.content[:300])


def test_the_documented_filters_still_filter(client, analyst, data):
    client.force_login(analyst)

    found = client.get(ORDERS, {"user_phone": APPLICANT_PHONE, "review_status": "pending", "o": "-3"})
    other = client.get(ORDERS, {"user_phone": "13999999999"})

    assert [order.pk for order in found.context["cl"].result_list] == [data.pk]
    assert list(other.context["cl"].result_list) == []


def test_the_order_pages_link_to_its_address_book_is_accepted(client, superuser, data):
    client.force_login(superuser)

    response = client.get("/admin/orders/addressbookentry/", {"order__id__exact": data.pk})

    assert response.status_code == 200
    assert {entry.order_id for entry in response.context["cl"].result_list} == {data.pk}


# --- 12.9: characters the database cannot store, bad o / p ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "query", "parameter"),
    [
        (EXPORT, "q=%00", "q"),
        (EXPORT, "o=%00", "o"),
        (EXPORT, "p=%00", "p"),
        (EXPORT, "e=%00", "e"),
        (EXPORT, "all=%00", "all"),
        (EXPORT, "_popup=%00", "_popup"),
        (ORDERS, "q=138%00", "q"),
        (ORDERS, "order_no=%00", "order_no"),
        ("/admin/orders/addressbookentry/", "order_no=%00", "order_no"),
        ("/admin/orders/addressbookentry/", "order__id__exact=1%00", "order__id__exact"),
        ("/admin/orders/pushlog/", "q=%01", "q"),
        ("/admin/orders/pushlog/", "order_no=%1b", "order_no"),
        (ORDERS, "o=abc", "o"),
        (ORDERS, "o=99", "o"),
        (ORDERS, "o=1.x", "o"),
        (ORDERS, "p=0", "p"),
        (ORDERS, "p=-1", "p"),
        (ORDERS, "p=1.5", "p"),
        (EXPORT, "o=9999999999999999999999", "o"),
        ("/admin/orders/pushlog/", "received_at__year=9999", "received_at__year"),
        ("/admin/orders/pushlog/", "received_at__year=2024&received_at__month=13", "received_at__month"),
        (PUSH_LOG, "received_at__year=2023&received_at__month=2&received_at__day=29", "received_at__day"),
        ("/admin/orders/pushlog/", "received_at__month=2", "received_at__month"),
        ("/admin/orders/exportlog/", "created_at__year=x", "created_at__year"),
        ("/admin/orders/personaldatapurge/", "started_at__year=1", "started_at__year"),
        ("/admin/orders/pushlog/", "_to_field=body", "_to_field"),
    ],
)
def test_an_unreadable_value_is_a_400_naming_its_parameter(client, superuser, data, url, query, parameter):
    client.force_login(superuser)

    response = client.get(f"{url}?{query}")

    assert _refused(response, parameter), response.content[:500]


def test_a_parameter_name_with_a_nul_is_refused_too(client, superuser, data):
    client.force_login(superuser)

    response = client.get(f"{EXPORT}?%00=1")

    assert response.status_code == 400


def test_a_refused_export_writes_no_export_log(client, analyst, data):
    from orders.models import ExportLog

    client.force_login(analyst)

    client.get(f"{EXPORT}?q=%00")
    client.get(f"{EXPORT}?user_phone__startswith=138")

    assert not ExportLog.objects.exists()


def test_the_date_drill_down_still_works(client, superuser, data):
    client.force_login(superuser)
    year = data.received_at.year

    response = client.get("/admin/orders/pushlog/", {"received_at__year": year, "received_at__month": 1})

    assert response.status_code == 200


# --- The fuzz: generated hostile query strings, zero 5xx ----------------------------------------------------

_NAMES = st.sampled_from(
    [
        "q",
        "o",
        "p",
        "e",
        "all",
        "_popup",
        "_to_field",
        "_facets",
        "order_no",
        "user_phone",
        "institution",
        "received_after",
        "received_before",
        "loan_amount_min",
        "loan_amount_max",
        "os_type",
        "is_root",
        "is_simulator",
        "review_status",
        "risk_flag",
        "assignee",
        "has_employer",
        "order__id__exact",
        "is_mobile__exact",
        "received_at__year",
        "received_at__month",
        "received_at__day",
        "created_at__year",
        "started_at__year",
        "institution__id__exact",
        "user__id__exact",
        "door__exact",
        "outcome__exact",
        "user_phone__startswith",
        "pk__in",
        "id__gt",
    ]
) | st.text(min_size=0, max_size=12)
_VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", "0", "-0", "1", "-1", "1.5", "1e400", "NaN", "2024-02-30", "9999-12-31", "true", "null"]),
    st.binary(max_size=12).map(lambda raw: "".join(f"%{byte:02X}" for byte in raw)),
)
_ENCODE = set(string.ascii_letters + string.digits + "-._~")


def _encode(text: str) -> str:
    # Values drawn as "%XX" runs stay raw: invalid UTF-8 on purpose.
    if re.fullmatch(r"(?:%[0-9A-F]{2})+", text):
        return text
    return quote(text, safe="")


_QUERIES = st.lists(st.tuples(_NAMES, _VALUES), min_size=1, max_size=4).map(
    lambda pairs: "&".join(f"{_encode(name)}={_encode(value)}" for name, value in pairs)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.sampled_from(ALL_URLS), as_analyst=st.booleans(), query=_QUERIES)
def test_fuzz_no_admin_query_string_is_a_server_error(client, superuser, analyst, data, url, as_analyst, query):
    client.force_login(analyst if as_analyst else superuser)

    response = client.get(f"{url}?{query}")

    assert response.status_code < 500, (url, query)
    assert response.status_code in (200, 302, 400, 403), (url, query, response.status_code)
