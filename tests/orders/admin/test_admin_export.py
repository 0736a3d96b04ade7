"""The order changelist's "Export CSV" button and export-selected action, and the export-log admin."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from orders.admin.export import CsvExportAdminMixin
from orders.choices import ExportKind, OsKind, ReviewStatus
from orders.filters import OrderFilterSet
from orders.models import ExportLog, Order, RiskSignal, StaffApiToken
from orders.services import staff_api_token_create
from tests.factories import (
    AddressBookEntryFactory,
    AnalystFactory,
    DeviceFactory,
    InstitutionFactory,
    OrderFactory,
    ReviewerFactory,
    UserFactory,
)

CHANGELIST = "/admin/orders/order/"
EXPORT = "/admin/orders/order/export.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db


def order_nos(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # the admin adds a BOM
    return [row["order_no"] for row in csv.DictReader(io.StringIO(body))]


@pytest.fixture
def analyst_client(client):
    client.force_login(AnalystFactory())
    return client


@pytest.fixture
def one_row_pages(monkeypatch):
    """Pages of one row, so that "all pages" means something with a handful of orders."""
    monkeypatch.setattr(admin.site._registry[Order], "list_per_page", 1)


def test_the_real_order_admin_mixes_the_export_in():
    assert isinstance(admin.site._registry[Order], CsvExportAdminMixin)


# --- The button -------------------------------------------------------------------------


def test_button_carries_the_current_filters_and_search(analyst_client):
    # given
    OrderFactory(order_no="YB1", review_status=ReviewStatus.APPROVED)
    # when
    response = analyst_client.get(CHANGELIST, {"review_status": "approved", "q": "YB1"})
    # then
    assert response.status_code == 200
    assert response.context["export_csv_url"] == f"{EXPORT}?review_status=approved&q=YB1"
    assert 'class="export-csv-link"' in response.text
    assert f'href="{EXPORT}?review_status=approved&amp;q=YB1"' in response.text


def test_no_button_for_a_reviewer(client):
    # given
    OrderFactory()
    client.force_login(ReviewerFactory())
    # when
    response = client.get(CHANGELIST)
    # then
    assert response.status_code == 200
    assert "export_csv_url" not in response.context
    assert "export-csv-link" not in response.text


def test_export_honours_a_filter_across_all_pages(analyst_client, one_row_pages):
    # given
    approved = [OrderFactory(review_status=ReviewStatus.APPROVED).order_no for _ in range(3)]
    OrderFactory(review_status=ReviewStatus.REJECTED)
    # when
    exported = order_nos(analyst_client.get(EXPORT, {"review_status": "approved", "p": "2"}))
    # then
    assert sorted(exported) == sorted(approved)


def test_export_honours_the_search_on_any_phone(analyst_client, one_row_pages):
    # given: the admin's search finds an order by a number in its address book
    wanted = AddressBookEntryFactory(phone="13700001111", phone_digits="13700001111").order
    OrderFactory()
    # when
    exported = order_nos(analyst_client.get(EXPORT, {"q": "+86 137-0000-1111"}))
    # then
    assert exported == [wanted.order_no]


def test_export_honours_search_and_filters_together(analyst_client, one_row_pages):
    # given
    DeviceFactory(order__order_no="A1", os_kind=OsKind.ANDROID, os_type="Android")
    DeviceFactory(order__order_no="A2", os_kind=OsKind.IOS)
    # when
    both = order_nos(analyst_client.get(EXPORT, {"q": "A1", "os_type": "android"}))
    clash = order_nos(analyst_client.get(EXPORT, {"q": "A2", "os_type": "android"}))
    # then
    assert both == ["A1"]
    assert clash == []


def test_export_honours_the_range_filters(analyst_client):
    # given
    OrderFactory(order_no="may1", received_at=datetime(2024, 5, 1, 23, 0, tzinfo=SHANGHAI), loan_amount_fen=50_000)
    OrderFactory(order_no="may2", received_at=datetime(2024, 5, 2, 1, 0, tzinfo=SHANGHAI), loan_amount_fen=50_000)
    OrderFactory(order_no="may1-big", received_at=datetime(2024, 5, 1, 8, 0, tzinfo=SHANGHAI), loan_amount_fen=900_000)
    # when
    exported = order_nos(
        analyst_client.get(
            EXPORT, {"received_after": "2024-05-01", "received_before": "2024-05-01", "loan_amount_max": "100000"}
        )
    )
    # then
    assert exported == ["may1"]


def test_export_is_logged_with_the_changelist_query(analyst_client):
    # given
    OrderFactory(review_status=ReviewStatus.APPROVED)
    OrderFactory()
    # when
    order_nos(analyst_client.get(EXPORT, {"review_status": "approved"}))
    # then
    log = ExportLog.objects.get()
    assert (log.kind, log.source, log.row_count, log.unmasked) == (ExportKind.ORDERS, "admin", 1, False)
    assert log.filters == {"review_status": "approved"}
    assert log.finished_at is not None


def test_admin_export_masks_for_analysts_not_for_superusers(client):
    # given
    OrderFactory(user_phone="13812340000")
    # when
    client.force_login(AnalystFactory())
    masked = b"".join(client.get(EXPORT).streaming_content).decode()
    client.force_login(UserFactory(is_superuser=True))
    unmasked = b"".join(client.get(EXPORT).streaming_content).decode()
    # then
    assert "138****0000" in masked
    assert "13812340000" not in masked
    assert "13812340000" in unmasked
    assert list(ExportLog.objects.order_by("created_at", "id").values_list("unmasked", flat=True)) == [False, True]


@pytest.mark.parametrize(
    ("language", "first_headers"),
    [("en", "id,order_no,institution,received_at"), ("zh-hans", "订单ID,订单号,机构,接收时间")],
)
def test_admin_download_opens_in_excel_with_a_bom_and_headers_in_the_users_language(
    analyst_client, language, first_headers
):
    # given
    OrderFactory()
    # when
    response = analyst_client.get(EXPORT, headers={"accept-language": language})
    # then
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode() + first_headers.encode())


def test_bad_admin_filters_export_nothing(analyst_client):
    # when
    response = analyst_client.get(EXPORT, {"received_after": "not-a-date"})
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}?e=1"
    assert not ExportLog.objects.exists()


def test_a_reviewer_cannot_export_from_the_admin(client):
    # given
    client.force_login(ReviewerFactory())
    # when
    response = client.get(EXPORT)
    # then
    assert response.status_code == 403
    assert not ExportLog.objects.exists()


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(EXPORT)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_export_query_count(analyst_client, django_assert_num_queries, settings):
    # given: more rows than one chunk
    settings.EXPORT_CHUNK_SIZE = 2
    for _ in range(5):
        DeviceFactory()
    # when / then: session, user, permissions (2), the changelist's capped count, log insert, the rows
    # (one query for every chunk), log update. (One fewer than before the admin filtered through
    # OrderFilterSet: the institution choices are read only when the sidebar is drawn.)
    with django_assert_num_queries(8):
        exported = order_nos(analyst_client.get(EXPORT, {"os_type": "ios"}))
    assert len(exported) == 5


# --- The action ---------------------------------------------------------------------------


def test_export_selected_action_exports_only_the_selected_rows(analyst_client):
    # given
    orders = [OrderFactory() for _ in range(4)]
    chosen = [orders[0].pk, orders[2].pk]
    # when
    response = analyst_client.post(
        f"{CHANGELIST}?review_status=pending",
        {"action": "export_selected_csv", ACTION_CHECKBOX_NAME: chosen, "index": 0},
    )
    # then
    assert sorted(order_nos(response)) == sorted([orders[0].order_no, orders[2].order_no])
    log = ExportLog.objects.get()
    assert log.source == "admin"
    assert sorted(log.filters["selected_ids"]) == sorted(str(pk) for pk in chosen)
    assert log.filters["review_status"] == "pending"
    assert log.row_count == 2


def test_export_selected_action_is_offered_to_analysts_only(client):
    # given
    OrderFactory()
    # when
    client.force_login(AnalystFactory())
    analyst_actions = [name for name, _ in client.get(CHANGELIST).context["action_form"].fields["action"].choices]
    client.force_login(ReviewerFactory())
    reviewer_response = client.get(CHANGELIST)
    # then
    assert "export_selected_csv" in analyst_actions
    assert reviewer_response.context["action_form"] is None  # a reviewer has no bulk action at all


def test_a_reviewer_posting_the_action_gets_no_csv(client):
    # given
    order = OrderFactory()
    client.force_login(ReviewerFactory())
    # when
    response = client.post(CHANGELIST, {"action": "export_selected_csv", ACTION_CHECKBOX_NAME: [order.pk], "index": 0})
    # then
    assert not response.streaming
    assert not ExportLog.objects.exists()


# --- Export log and token admin ------------------------------------------------------------------


def test_administrators_read_the_export_log(client):
    # given
    ExportLog.objects.create(user=AnalystFactory(), kind=ExportKind.ORDERS, source="api", row_count=3)
    client.force_login(UserFactory(is_superuser=True))
    # when
    listing = client.get("/admin/orders/exportlog/")
    adding = client.get("/admin/orders/exportlog/add/")
    # then
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert adding.status_code == 403


@pytest.mark.parametrize("make_user", [AnalystFactory, ReviewerFactory])
def test_staff_roles_do_not_see_the_export_log(client, make_user):
    client.force_login(make_user())
    assert client.get("/admin/orders/exportlog/").status_code == 403


def test_administrators_revoke_staff_tokens(client):
    # given
    issued = staff_api_token_create(user=AnalystFactory(), name="script")
    client.force_login(UserFactory(is_superuser=True))
    # when
    response = client.post(
        "/admin/orders/staffapitoken/",
        {"action": "revoke", ACTION_CHECKBOX_NAME: [issued.token.pk], "index": 0},
    )
    # then
    assert response.status_code == 302
    assert StaffApiToken.objects.get().revoked_at is not None


# --- One query string, the same rows everywhere ----------------------------------------------------

API_LIST = "/api/v1/orders/"

SAME_ROWS_QUERIES = [
    "",
    "review_status=approved",
    "institution=PAR-B",
    "received_after=2024-05-01&received_before=2024-05-01",
    "received_after=2024-05-01T08:30:00%2B08:00",
    "loan_amount_min=100000&loan_amount_max=500000",
    "os_type=android&is_root=true",
    "is_simulator=unknown",
    "is_root=0",
    "user_phone=%2B86%20138-0000-0003",
    "order_no=P2",
    "institution=PAR-A&loan_amount_min=300000&os_type=ios",
    "risk_flag=simulator",
    "risk_flag=simulator&institution=PAR-B",
    "sandbox=true",
    "sandbox=all&review_status=pending",
    "sandbox=false&institution=PAR-A",
]


@pytest.fixture
def varied_orders():
    """Orders that differ in every filtered field, so each query string keeps a different subset."""
    first, second = InstitutionFactory(code="PAR-A"), InstitutionFactory(code="PAR-B")
    shapes = [
        # institution, received (Beijing), fen, status, os, root, simulator
        (first, datetime(2024, 5, 1, 7, 0), 100_000, ReviewStatus.APPROVED, OsKind.IOS, False, False),
        (first, datetime(2024, 5, 1, 9, 0), 300_000, ReviewStatus.PENDING, OsKind.IOS, False, None),
        (second, datetime(2024, 5, 1, 23, 59), 500_000, ReviewStatus.APPROVED, OsKind.ANDROID, True, True),
        (second, datetime(2024, 5, 2, 0, 0), 700_000, ReviewStatus.REJECTED, OsKind.ANDROID, None, False),
        (first, datetime(2024, 4, 30, 23, 0), 50_000, ReviewStatus.PENDING, None, None, None),
    ]
    orders = []
    for i, (institution, received, fen, status, os_kind, root, emulator) in enumerate(shapes):
        order = OrderFactory(
            order_no=f"P{i}",
            institution=institution,
            received_at=received.replace(tzinfo=SHANGHAI),
            loan_amount_fen=fen,
            review_status=status,
            user_phone=f"1380000000{i}",
        )
        if os_kind is not None:
            DeviceFactory(order=order, os_kind=os_kind, is_root=root, is_simulator=emulator)
        if emulator:
            RiskSignal.objects.create(order=order, code="simulator", severity="high", reason_zh="-", reason_en="-")
        orders.append(order)
    # A sandbox institution's test order: in no list unless `sandbox` asks for it.
    sandbox = InstitutionFactory(code="PAR-SANDBOX", is_sandbox=True)
    orders.append(OrderFactory(order_no="P-SANDBOX", institution=sandbox, sandbox=True, user_phone="13800000009"))
    return orders


def _ids_in_csv(response) -> set[int]:
    assert response.status_code == 200, response.content[:500]
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # the admin adds a BOM
    return {int(row["id"]) for row in csv.DictReader(io.StringIO(body))}


@pytest.mark.parametrize("query", SAME_ROWS_QUERIES)
def test_one_query_string_gives_the_same_orders_in_changelist_admin_export_and_api(
    analyst_client, varied_orders, query
):
    # when
    changelist = analyst_client.get(f"{CHANGELIST}?{query}")
    exported = _ids_in_csv(analyst_client.get(f"{EXPORT}?{query}"))
    api = analyst_client.get(f"{API_LIST}?{query}&page_size=500" if query else f"{API_LIST}?page_size=500")

    # then
    assert changelist.status_code == 200, changelist.get("Location")
    listed = {order.pk for order in changelist.context["cl"].result_list}
    assert api.status_code == 200, api.json()
    assert {row["id"] for row in api.json()["results"]} == listed
    assert exported == listed


def test_the_query_strings_above_tell_the_orders_apart(analyst_client, varied_orders):
    # given: a parity test passes trivially if every query string kept every row, or none
    # when
    kept = {
        query: frozenset(order.pk for order in analyst_client.get(f"{CHANGELIST}?{query}").context["cl"].result_list)
        for query in SAME_ROWS_QUERIES
    }
    # then
    assert all(0 < len(rows) < len(varied_orders) for query, rows in kept.items() if query)


def test_the_query_strings_above_use_every_filterset_parameter():
    used = {pair.split("=")[0] for query in SAME_ROWS_QUERIES for pair in query.split("&") if pair}
    assert used == set(OrderFilterSet.base_filters)


@pytest.mark.parametrize("query", ["loan_amount_min=1.5", "received_before=someday", "institution=NOPE"])
def test_a_bad_value_is_refused_by_changelist_admin_export_and_api_alike(analyst_client, query):
    # when
    changelist = analyst_client.get(f"{CHANGELIST}?{query}")
    exported = analyst_client.get(f"{EXPORT}?{query}")
    api = analyst_client.get(f"{API_LIST}?{query}")

    # then
    assert (changelist.status_code, changelist["Location"]) == (302, f"{CHANGELIST}?e=1")
    assert (exported.status_code, exported["Location"]) == (302, f"{CHANGELIST}?e=1")
    assert api.status_code == 400
    assert not ExportLog.objects.exists()
