"""The order changelist's "Export CSV" button and export-selected action, and the export-log admin."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from orders.admin_export import CsvExportAdminMixin
from orders.authentication import staff_api_token_create
from orders.choices import ExportKind, OsKind, ReviewStatus
from orders.models import ExportLog, Order, StaffApiToken
from tests.factories import (
    AddressBookEntryFactory,
    AnalystFactory,
    DeviceFactory,
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
    body = b"".join(response.streaming_content).decode("utf-8")
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
    response = analyst_client.get(CHANGELIST, {"review_status__exact": "approved", "q": "YB1"})
    # then
    assert response.status_code == 200
    assert response.context["export_csv_url"] == f"{EXPORT}?review_status__exact=approved&q=YB1"
    assert 'class="export-csv-link"' in response.text
    assert f'href="{EXPORT}?review_status__exact=approved&amp;q=YB1"' in response.text


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
    exported = order_nos(analyst_client.get(EXPORT, {"review_status__exact": "approved", "p": "2"}))
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
    both = order_nos(analyst_client.get(EXPORT, {"q": "A1", "device__os_kind__exact": "android"}))
    clash = order_nos(analyst_client.get(EXPORT, {"q": "A2", "device__os_kind__exact": "android"}))
    # then
    assert both == ["A1"]
    assert clash == []


def test_export_honours_the_admin_range_filters(analyst_client):
    # given
    OrderFactory(order_no="may1", received_at=datetime(2024, 5, 1, 23, 0, tzinfo=SHANGHAI), loan_amount_fen=50_000)
    OrderFactory(order_no="may2", received_at=datetime(2024, 5, 2, 1, 0, tzinfo=SHANGHAI), loan_amount_fen=50_000)
    OrderFactory(order_no="may1-big", received_at=datetime(2024, 5, 1, 8, 0, tzinfo=SHANGHAI), loan_amount_fen=900_000)
    # when
    exported = order_nos(
        analyst_client.get(EXPORT, {"received_from": "2024-05-01", "received_to": "2024-05-01", "amount_max": "1000"})
    )
    # then
    assert exported == ["may1"]


def test_export_is_logged_with_the_changelist_query(analyst_client):
    # given
    OrderFactory(review_status=ReviewStatus.APPROVED)
    OrderFactory()
    # when
    order_nos(analyst_client.get(EXPORT, {"review_status__exact": "approved"}))
    # then
    log = ExportLog.objects.get()
    assert (log.kind, log.source, log.row_count, log.unmasked) == (ExportKind.ORDERS, "admin", 1, False)
    assert log.filters == {"review_status__exact": "approved"}
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


def test_bad_admin_filters_export_nothing(analyst_client):
    # when
    response = analyst_client.get(EXPORT, {"received_from": "not-a-date"})
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
    # when / then: session, user, permissions (2), the institution filter's choices, the changelist's
    # capped count, log insert, the rows (one query for every chunk), log update
    with django_assert_num_queries(9):
        exported = order_nos(analyst_client.get(EXPORT, {"device__os_kind__exact": "ios"}))
    assert len(exported) == 5


# --- The action ---------------------------------------------------------------------------


def test_export_selected_action_exports_only_the_selected_rows(analyst_client):
    # given
    orders = [OrderFactory() for _ in range(4)]
    chosen = [orders[0].pk, orders[2].pk]
    # when
    response = analyst_client.post(
        f"{CHANGELIST}?review_status__exact=pending",
        {"action": "export_selected_csv", ACTION_CHECKBOX_NAME: chosen, "index": 0},
    )
    # then
    assert sorted(order_nos(response)) == sorted([orders[0].order_no, orders[2].order_no])
    log = ExportLog.objects.get()
    assert log.source == "admin"
    assert sorted(log.filters["selected_ids"]) == sorted(str(pk) for pk in chosen)
    assert log.filters["review_status__exact"] == "pending"
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
