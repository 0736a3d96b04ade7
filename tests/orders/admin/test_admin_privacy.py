"""The admin's privacy, tried as the attacks of issue 12: analysts, reviewers and list holders on every admin page.

Personal data goes through `orders.pii` on every page: masked in lists unless the user
may list it (export + personal-data rights, the page then logged like an export), clear
on one order's pages for personal-data holders (each view recorded), never in titles,
breadcrumbs, history pages or admin log entries; push bodies masked by default, the
unmasked body a recorded click away; the order page bounded whatever was pushed.
"""

import json
import re

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.client import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import pii
from orders.choices import Door
from orders.models import (
    AddressBookEntry,
    Contact,
    Device,
    Employer,
    ExportLog,
    Order,
    PersonalDataAccess,
    PushLog,
    PushOutcome,
)
from tests.factories import (
    AnalystFactory,
    DeviceFactory,
    OrderFactory,
    PushPayloadFactory,
    ReviewerFactory,
    UserFactory,
    pushed_order,
)

pytestmark = pytest.mark.django_db

APPLICANT = "13811112222"
CONTACT_NAME, CONTACT_MOBILE = "张建国", "13922223333"
SPARE_NAME, SPARE_MOBILE = "刘洋洋", "13933334444"
BOOK_NAME, BOOK_PHONE = "张三丰", "13855556666"
BOOK_OBJECT_NAME, BOOK_OBJECT_PHONE = "李四光", "13966667777"
EMPLOYER_TEL = "021-65551234"
EMPLOYER_STREET = "政学路88号"
DEVICE_ID = "DEV-4f1c2a9e7b3d"
THIRD_PARTY_ID = "TD-9c8b7a6f5e4d"
IP = "117.136.12.34"
LONGITUDE = "121.5103238932292"
GPS_STREET = "国权路123号"

# What must never reach someone without the right: as pushed, and the parts masking drops.
SECRETS = [
    APPLICANT,
    CONTACT_NAME,
    CONTACT_MOBILE,
    SPARE_NAME,
    SPARE_MOBILE,
    BOOK_NAME,
    BOOK_PHONE,
    BOOK_OBJECT_NAME,
    BOOK_OBJECT_PHONE,
    "65551234",
    EMPLOYER_STREET,
    DEVICE_ID,
    THIRD_PARTY_ID,
    IP,
    "121.5103",
    GPS_STREET,
]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Users are logged in with force_login; PBKDF2 for each factory user would dominate this file's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def order() -> Order:
    """An order pushed with known personal data in every section."""
    payload = PushPayloadFactory(
        orderInfo__userPhone=APPLICANT,
        userAdditional__contactInfo__name=CONTACT_NAME,
        userAdditional__contactInfo__mobile=CONTACT_MOBILE,
        userAdditional__contactInfo__nameSpare=SPARE_NAME,
        userAdditional__contactInfo__mobileSpare=SPARE_MOBILE,
        userAdditional__workOfficeInfo__telNo=EMPLOYER_TEL,
        userAdditional__workOfficeInfo__address=EMPLOYER_STREET,
        userAdditional__deviceInfo__deviceId=DEVICE_ID,
        userAdditional__deviceInfo__tdDeviceId=THIRD_PARTY_ID,
        userAdditional__deviceInfo__ip=IP,
        userAdditional__deviceInfo__gpsLongitude=LONGITUDE,
        userAdditional__deviceInfo__gpsAddress=f"上海市杨浦区{GPS_STREET}",
    )
    payload["userAdditional"]["addressBook"]["phoneList"] = [
        f"{BOOK_NAME}_{BOOK_PHONE}",
        {"name": BOOK_OBJECT_NAME, "phone": BOOK_OBJECT_PHONE},
    ]
    return pushed_order(payload=payload)


@pytest.fixture
def analyst():
    return AnalystFactory()


@pytest.fixture
def reviewer():
    return ReviewerFactory()


@pytest.fixture
def superuser():
    return UserFactory(is_superuser=True)


def _leaks(content: str) -> list[str]:
    return [secret for secret in SECRETS if secret in content]


def _pages(order: Order) -> dict[str, str]:
    """Every admin page that draws the order's pushed data, lists and detail pages."""
    entry = AddressBookEntry.objects.filter(order=order).order_by("pk").first()
    contact = Contact.objects.filter(order=order).order_by("pk").first()
    return {
        "order": reverse("admin:orders_order_change", args=[order.pk]),
        "orders": reverse("admin:orders_order_changelist"),
        "devices": reverse("admin:orders_device_changelist"),
        "device": reverse("admin:orders_device_change", args=[order.pk]),
        "contacts": reverse("admin:orders_contact_changelist"),
        "contact": reverse("admin:orders_contact_change", args=[contact.pk]),
        "employers": reverse("admin:orders_employer_changelist"),
        "employer": reverse("admin:orders_employer_change", args=[order.pk]),
        "book": reverse("admin:orders_addressbookentry_changelist") + f"?order__id__exact={order.pk}",
        "entry": reverse("admin:orders_addressbookentry_change", args=[entry.pk]),
        "entry_history": reverse("admin:orders_addressbookentry_history", args=[entry.pk]),
    }


def _log(order: Order) -> PushLog:
    return PushLog.objects.get(institution=order.institution, order_no=order.order_no)


def _download(response) -> bytes:
    return b"".join(response.streaming_content)


# --- 12.4 / 12.5: an analyst's pages --------------------------------------------------------------------------


def test_an_analysts_pages_show_no_personal_data_in_clear(client, analyst, order):
    # given
    client.force_login(analyst)
    log = _log(order)

    # when
    pages = {name: client.get(url) for name, url in _pages(order).items()}
    body_page = client.get(reverse("admin:orders_pushlog_body", args=[log.pk]))
    download = client.get(reverse("admin:orders_pushlog_body_download", args=[log.pk]))

    # then
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert _leaks(response.content.decode()) == [], name
    assert body_page.status_code == 200
    assert _leaks(body_page.content.decode()) == []
    masked = json.loads(_download(download))
    assert masked["orderInfo"]["userPhone"] == "138****2222"
    assert _leaks(json.dumps(masked, ensure_ascii=False)) == []
    assert not PersonalDataAccess.objects.exists()
    assert not ExportLog.objects.exists()


def test_the_analysts_pages_show_the_masked_forms_of_the_policy(client, analyst, order):
    client.force_login(analyst)
    pages = {name: client.get(url).content.decode() for name, url in _pages(order).items()}

    assert "138****2222" in pages["order"]
    assert "138****2222" in pages["orders"]
    assert "张*" in pages["contacts"]
    assert "139****3333" in pages["contact"]
    assert "021****1234" in pages["employer"]
    assert "138****6666" in pages["book"]
    assert "138****6666" in pages["entry"]
    assert pii.pseudonym(DEVICE_ID) in pages["devices"]
    assert pii.pseudonym(DEVICE_ID) in pages["device"]
    assert pii.pseudonym(DEVICE_ID) in pages["order"]
    assert pii.pseudonym(THIRD_PARTY_ID) in pages["order"]
    assert pii.pseudonym(THIRD_PARTY_ID) in pages["device"]
    assert "117.136.12.*" in pages["order"]
    assert "121.51" in pages["device"]


def test_search_by_a_full_number_works_on_a_masked_list(client, analyst, order):
    client.force_login(analyst)

    response = client.get(reverse("admin:orders_order_changelist"), {"q": BOOK_PHONE})

    assert [listed.pk for listed in response.context["cl"].result_list] == [order.pk]
    # The search box keeps what the analyst typed; nothing else is in clear.
    assert _leaks(response.content.decode()) == [BOOK_PHONE]


# --- 12.5: a reviewer may see one order at a time, not lists ---------------------------------------------------


def test_a_reviewers_lists_are_masked_and_write_nothing(client, reviewer, order):
    client.force_login(reviewer)

    for name in ("orders", "devices", "contacts", "employers", "book"):
        response = client.get(_pages(order)[name])
        assert response.status_code == 200
        assert _leaks(response.content.decode()) == [], name

    assert not PersonalDataAccess.objects.exists()
    assert not ExportLog.objects.exists()


def test_a_reviewers_one_order_pages_are_clear_and_each_view_is_recorded(client, reviewer, order):
    # given
    client.force_login(reviewer)
    pages = _pages(order)

    # when
    order_page = client.get(pages["order"]).content.decode()
    entry_page = client.get(pages["entry"]).content.decode()
    device_page = client.get(pages["device"]).content.decode()
    employer_page = client.get(pages["employer"]).content.decode()

    # then
    assert APPLICANT in order_page
    assert CONTACT_MOBILE in order_page
    assert EMPLOYER_TEL in order_page
    assert BOOK_PHONE in entry_page
    assert BOOK_NAME in entry_page
    assert DEVICE_ID in device_page
    assert IP in device_page
    assert EMPLOYER_TEL in employer_page
    contexts = sorted(PersonalDataAccess.objects.filter(user=reviewer, order=order).values_list("context", flat=True))
    assert contexts == [
        "admin:addressbookentry_change",
        "admin:device_change",
        "admin:employer_change",
        "admin:order_change",
    ]


@pytest.mark.parametrize("name", ["orders", "devices", "contacts", "book"])
def test_a_list_holder_sees_lists_unmasked_and_each_page_is_logged_as_an_export(client, superuser, order, name):
    # given
    client.force_login(superuser)

    # when
    response = client.get(_pages(order)[name])

    # then
    assert _leaks(response.content.decode()) != []
    logged = ExportLog.objects.get()
    assert (logged.user, logged.source, logged.unmasked) == (superuser, "admin", True)
    assert logged.row_count == len(response.context["cl"].result_list)


def test_a_list_without_personal_columns_is_not_logged(client, superuser, order):
    client.force_login(superuser)

    client.get(_pages(order)["employers"])  # company and area only: no personal column
    client.get(reverse("admin:orders_reviewevent_changelist"))

    assert not ExportLog.objects.exists()


# --- 12.1: raw push bodies --------------------------------------------------------------------------------------


def _push_history(content: str) -> str:
    return content[content.index('id="push-history-section"') :]


def test_the_push_history_is_masked_for_everyone_by_default(client, reviewer, superuser, order):
    for user in (reviewer, superuser):
        client.force_login(user)

        content = client.get(_pages(order)["order"]).content.decode()

        assert _leaks(_push_history(content)) == [], user
        assert "138****2222" in _push_history(content)


def test_the_push_log_page_shows_the_body_masked_and_links_the_reveal(client, reviewer, order):
    # given
    client.force_login(reviewer)
    log = _log(order)

    # when
    content = client.get(reverse("admin:orders_pushlog_change", args=[log.pk])).content.decode()

    # then
    assert _leaks(content) == []
    assert "138****2222" in content
    assert reverse("admin:orders_pushlog_body_unmasked", args=[log.pk]) in content
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.parametrize("start", ["order", "push_log"])
def test_a_reviewer_reveals_a_body_in_one_click_and_it_is_recorded(client, reviewer, order, start):
    # given: the link as the order page or the push log page draws it
    client.force_login(reviewer)
    log = _log(order)
    page = _pages(order)["order"] if start == "order" else reverse("admin:orders_pushlog_change", args=[log.pk])
    link = re.search(r'href="([^"]+)" class="push-body-unmasked"', client.get(page).content.decode()).group(1)
    PersonalDataAccess.objects.all().delete()  # the order page's own record

    # when
    revealed = client.get(link)

    # then
    assert revealed.status_code == 200
    assert APPLICANT in revealed.content.decode()
    assert BOOK_PHONE in revealed.content.decode()
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.order_id, access.context) == (reviewer, order.pk, "admin:push_body")


def test_a_reviewers_download_is_the_stored_body_and_is_recorded(client, reviewer, order):
    client.force_login(reviewer)
    log = _log(order)

    response = client.get(reverse("admin:orders_pushlog_body_download", args=[log.pk]))

    assert _download(response) == bytes(log.body)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert PersonalDataAccess.objects.get().context == "admin:push_body_download"


def test_an_analyst_cannot_reveal(client, analyst, order):
    client.force_login(analyst)
    log = _log(order)

    response = client.get(reverse("admin:orders_pushlog_body_unmasked", args=[log.pk]))
    order_page = client.get(_pages(order)["order"]).content.decode()

    assert response.status_code == 403
    assert "push-body-unmasked" not in order_page
    assert not PersonalDataAccess.objects.exists()


def test_a_body_of_a_push_that_made_no_order_is_for_the_push_log_only_and_its_reveal_is_logged(
    client, analyst, reviewer, order
):
    # given: a refused push carrying personal data
    body = json.dumps({"orderInfo": {"orderNo": "NEVER", "userPhone": APPLICANT}}).encode()
    refused = {"institution": order.institution, "door": Door.REST, "order_no": "NEVER", "http_status": 400}
    log = PushLog.objects.create(outcome=PushOutcome.REJECTED, body=body, body_size=len(body), **refused)

    # when
    client.force_login(analyst)
    as_analyst = client.get(reverse("admin:orders_pushlog_body", args=[log.pk]))
    client.force_login(reviewer)
    revealed = client.get(reverse("admin:orders_pushlog_body_unmasked", args=[log.pk]))

    # then
    assert as_analyst.status_code == 403
    assert APPLICANT in revealed.content.decode()
    logged = ExportLog.objects.get()
    assert (logged.user, logged.kind, logged.filters, logged.unmasked) == (
        reviewer,
        "push_body",
        {"push_log": log.pk},
        True,
    )


@pytest.mark.parametrize("body", [b"userPhone=13811112222&name=x", b"\xff\xfe13811112222", b'{"userPhone": "1381111'])
def test_an_unparsable_body_is_shown_by_its_size_never_raw(client, analyst, reviewer, order, body):
    # given
    log = _log(order)
    PushLog.objects.filter(pk=log.pk).update(body=body, body_size=len(body))

    # when
    client.force_login(analyst)
    order_page = client.get(_pages(order)["order"]).content.decode()
    body_page = client.get(reverse("admin:orders_pushlog_body", args=[log.pk])).content.decode()
    download = client.get(reverse("admin:orders_pushlog_body_download", args=[log.pk]))
    client.force_login(reviewer)
    push_log_page = client.get(reverse("admin:orders_pushlog_change", args=[log.pk])).content.decode()

    # then
    for content in (_push_history(order_page), body_page, push_log_page):
        assert APPLICANT not in content
        assert "1381111" not in content
        assert 'data-state="unparsable"' in content
    assert download.status_code == 403


def test_a_channel_envelope_is_masked_inside_its_args(client, analyst, order):
    # given: the signed door's form-encoded envelope, as the push log keeps it
    from urllib.parse import urlencode

    args = json.dumps({"orderInfo": {"orderNo": order.order_no, "userPhone": APPLICANT}})
    body = urlencode({"ua": "x", "args": args, "sign": "0" * 32, "timeStamp": "1"}).encode()
    PushLog.objects.filter(pk=_log(order).pk).update(body=body, body_size=len(body))
    client.force_login(analyst)

    # when
    content = _push_history(client.get(_pages(order)["order"]).content.decode())

    # then
    assert APPLICANT not in content
    assert "138****2222" in content


# --- 12.2: titles, breadcrumbs, history pages, admin log entries -------------------------------------------------


def _chrome(content: str) -> str:
    """What the admin draws around a page: its title, breadcrumbs and headings."""
    title = re.search(r"<title>(.*?)</title>", content, re.S).group(1)
    crumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', content, re.S)
    headings = " ".join(re.findall(r"<h[12][^>]*>(.*?)</h[12]>", content, re.S))
    return f"{title} {crumbs.group(1) if crumbs else ''} {headings}"


def test_walking_address_book_ids_shows_no_entry_in_titles_breadcrumbs_or_history(client, reviewer, order):
    # given: a reviewer, who may see the entries' data on their pages (recorded), walks the ids
    client.force_login(reviewer)

    for entry in AddressBookEntry.objects.filter(order=order):
        # when
        page = client.get(reverse("admin:orders_addressbookentry_change", args=[entry.pk])).content.decode()
        history = client.get(reverse("admin:orders_addressbookentry_history", args=[entry.pk])).content.decode()

        # then
        assert _leaks(_chrome(page)) == []
        assert _leaks(history) == []


def test_no_model_str_holds_personal_data(order):
    from django.apps import apps

    for app_label in ("orders", "intake"):
        for model in apps.get_app_config(app_label).get_models():
            for instance in model.objects.all()[:50]:
                assert _leaks(str(instance)) == [], model


def test_admin_log_entries_and_history_pages_show_no_personal_data(client, superuser, reviewer, order):
    # given: what the admin logs for every object pushed with the order, and a review of it
    request = RequestFactory().get("/")
    request.user = superuser
    objects = [order, *Contact.objects.filter(order=order), *AddressBookEntry.objects.filter(order=order)]
    objects += [Device.objects.get(order=order), Employer.objects.get(order=order)]
    for obj in objects:
        admin.site._registry[type(obj)].log_change(request, obj, "checked")
    client.force_login(reviewer)
    review = reverse("admin:orders_order_review", args=[order.pk])
    client.post(review, {"action": "claim"})
    client.post(review, {"action": "decide", "status": "rejected", "reason": "资料不实"})

    # when
    histories = [
        client.get(reverse(f"admin:orders_{obj._meta.model_name}_history", args=[obj.pk])).content.decode()
        for obj in objects
    ]

    # then
    assert LogEntry.objects.count() >= len(objects)
    assert _leaks(" ".join(LogEntry.objects.values_list("object_repr", flat=True))) == []
    for history in histories:
        assert _leaks(history) == []


# --- 12.10: the order page is bounded whatever was pushed -----------------------------------------------------------

MAX_PAGE_BYTES = 2 * 1024 * 1024


def _worst_case_order(settings) -> Order:
    """Built in the database directly: 19 conflicting 5 MiB pushes and 19 just under the preview size (all quotes,
    the costliest to escape), each refused with 20,000 errors; 50,000 unknown device keys with long values."""
    order = OrderFactory()
    DeviceFactory(order=order, extra={f"k{i:05d}{'x' * 200}": '"' * 100 for i in range(50_000)})
    huge = json.dumps({"orderInfo": {"orderNo": order.order_no}, "pad": '"' * (5 * 1024 * 1024)}).encode()
    near = json.dumps({"pad": '"' * (settings.ADMIN_PUSH_BODY_PREVIEW_BYTES // 2 - 20)}).encode()
    assert len(near) <= settings.ADMIN_PUSH_BODY_PREVIEW_BYTES
    errors = [
        {"code": "invalid", "detail": '"<>' * 30, "attr": f"userAdditional.addressBook.phoneList.{i}"}
        for i in range(20_000)
    ]
    PushLog.objects.bulk_create(
        PushLog(
            institution=order.institution,
            order_no=order.order_no,
            door=Door.REST,
            outcome=PushOutcome.CONFLICT,
            http_status=409,
            body=body,
            body_size=len(body),
            errors=errors,
        )
        for body in [huge] * 19 + [near] * 19
    )
    return order


def test_the_order_page_stays_under_2_mb_and_never_reads_whole_bodies(client, reviewer, order, settings):
    # given
    worst = _worst_case_order(settings)
    client.force_login(reviewer)

    # when
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:orders_order_change", args=[worst.pk]))

    # then
    assert response.status_code == 200
    assert len(response.content) < MAX_PAGE_BYTES
    content = response.content.decode()
    assert content.count('class="push-body"') == settings.ADMIN_PUSH_HISTORY_LIMIT
    assert 'id="push-history-truncated"' in content
    assert 'id="device-extra-truncated"' in content
    push_log_sql = [query["sql"] for query in queries.captured_queries if "intake_pushlog" in query["sql"]]
    assert push_log_sql
    for sql in push_log_sql:
        # The body only ever inside SUBSTR(...) / LENGTH(...): a bounded prefix and a size.
        bare = re.sub(r'(SUBSTR(?:ING)?|LENGTH)\("intake_pushlog"\."body"', "", sql)
        assert '"intake_pushlog"."body"' not in bare, sql


def test_a_large_body_is_drawn_as_its_size_with_a_download(client, reviewer, order, settings):
    # given
    settings.ADMIN_PUSH_BODY_PREVIEW_BYTES = 200
    client.force_login(reviewer)
    log = _log(order)

    # when
    content = _push_history(client.get(_pages(order)["order"]).content.decode())
    body_page = client.get(reverse("admin:orders_pushlog_body", args=[log.pk])).content.decode()

    # then
    assert 'data-state="too_large"' in content
    assert reverse("admin:orders_pushlog_body_download", args=[log.pk]) in content
    assert "push-body-truncated" in body_page  # its own page draws the masked start of it
    assert _leaks(body_page) == []


def test_the_push_history_links_to_the_full_push_log_of_the_order(client, reviewer, order, settings):
    # given: more pushes of the orderNo than the page draws
    settings.ADMIN_PUSH_HISTORY_LIMIT = 2
    log = _log(order)
    retry = {"institution": order.institution, "order_no": order.order_no, "door": Door.REST, "http_status": 200}
    PushLog.objects.bulk_create([PushLog(outcome=PushOutcome.DUPLICATE, **retry) for _ in range(3)])
    client.force_login(reviewer)

    # when
    content = client.get(_pages(order)["order"]).content.decode()
    link = re.search(r'href="([^"]+)" id="push-log-link"', content).group(1).replace("&amp;", "&")
    listed = client.get(link)

    # then
    assert content.count('class="push-body"') == 2
    assert listed.status_code == 200
    assert log in listed.context["cl"].result_list
    assert listed.context["cl"].result_count == 4


# --- Query counts of the lists this file masks ---------------------------------------------------------------------


def _queries_for_changelist(client, url: str) -> int:
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


@pytest.mark.parametrize("as_list_holder", [False, True])
@pytest.mark.parametrize(
    "url", ["/admin/orders/device/", "/admin/orders/contact/", "/admin/orders/employer/", "/admin/orders/pushlog/"]
)
def test_masked_and_unmasked_lists_cost_the_same_queries_for_3_and_30_orders(
    client, analyst, superuser, url, as_list_holder
):
    # given
    client.force_login(superuser if as_list_holder else analyst)
    if url == "/admin/orders/pushlog/":
        client.force_login(superuser)
    for _ in range(3):
        pushed_order()
    few = _queries_for_changelist(client, url)

    # when
    for _ in range(27):
        pushed_order()
    many = _queries_for_changelist(client, url)

    # then: the masking and the export-log row cost nothing per row
    assert many == few
    assert few <= 10


def test_the_address_book_list_costs_the_same_queries_for_5_and_50_entries(client, superuser):
    client.force_login(superuser)
    small = pushed_order(userAdditional__addressBook__size=5)
    large = pushed_order(userAdditional__addressBook__size=50)

    few = _queries_for_changelist(client, f"/admin/orders/addressbookentry/?order__id__exact={small.pk}")
    many = _queries_for_changelist(client, f"/admin/orders/addressbookentry/?order__id__exact={large.pk}")

    assert many == few
    assert ExportLog.objects.filter(kind="address_book", unmasked=True).count() == 4
