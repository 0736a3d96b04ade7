"""The reviewers' admin: changelist, filters, search, masking and its access log, read-only pushed data."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from orders.admin import EstimatedCountPaginator, with_every_filterset_parameter
from orders.choices import OsKind, ReviewStatus
from orders.filters import OrderFilterSet
from orders.models import (
    AddressBookEntry,
    Contact,
    Device,
    Employer,
    ExportLog,
    Order,
    PersonalDataAccess,
    RiskSignal,
)
from orders.risk import SIGNAL_CODES
from tests.factories import (
    AddressBookEntryFactory,
    AnalystFactory,
    ContactFactory,
    DeviceFactory,
    EmployerFactory,
    InstitutionFactory,
    OrderFactory,
    ReviewerFactory,
    UserFactory,
    flag,
    pushed_order,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:orders_order_changelist")


@pytest.fixture
def reviewer():
    return ReviewerFactory()


@pytest.fixture
def analyst():
    return AnalystFactory()


@pytest.fixture
def superuser():
    return UserFactory(is_superuser=True)


def _listed(response) -> list[str]:
    return [order.order_no for order in response.context["cl"].result_list]


def _full_order(**kwargs) -> Order:
    order = OrderFactory(**kwargs)
    DeviceFactory(order=order)
    return order


# --- Columns, masking and the access log ---------------------------------------------------------


def test_reviewer_sees_masked_numbers_in_the_list_a_bulk_read_needs_the_export_right_too(client, reviewer):
    # given
    orders = [_full_order(user_phone=f"1380000{i:04d}") for i in range(3)]
    client.force_login(reviewer)

    # when
    response = client.get(CHANGELIST)

    # then: full numbers are for the order page, one order at a time
    assert response.status_code == 200
    content = response.content.decode()
    for order in orders:
        assert order.user_phone not in content
        assert f"138****{order.user_phone[-4:]}" in content
    assert not PersonalDataAccess.objects.exists()
    assert not ExportLog.objects.exists()


def test_a_user_with_export_and_personal_data_rights_sees_full_numbers_and_the_page_is_logged(client, superuser):
    # given
    orders = [_full_order(user_phone=f"1380000{i:04d}") for i in range(3)]
    client.force_login(superuser)

    # when
    response = client.get(CHANGELIST, {"review_status": "pending"})

    # then
    content = response.content.decode()
    assert all(order.user_phone in content for order in orders)
    logged = ExportLog.objects.get()
    assert (logged.user, logged.source, logged.kind, logged.unmasked) == (superuser, "admin", "orders", True)
    assert (logged.row_count, logged.filters) == (3, {"review_status": "pending"})


@pytest.mark.parametrize("user_factory", [AnalystFactory, lambda: UserFactory(is_superuser=False, groups=["analyst"])])
def test_analyst_sees_masked_numbers_and_no_access_row_is_written(client, user_factory):
    # given
    _full_order(user_phone="13800001234")
    client.force_login(user_factory())

    # when
    response = client.get(CHANGELIST)

    # then
    content = response.content.decode()
    assert "138****1234" in content
    assert "13800001234" not in content
    assert not PersonalDataAccess.objects.exists()


def test_changelist_columns(client, superuser):
    # given
    order = OrderFactory(loan_amount_fen=1234567, address_book_count=321, order_no="YB" + "7" * 62)
    DeviceFactory(order=order, os_kind=OsKind.ANDROID, is_root=True, is_simulator=None)
    order.received_at = timezone.make_aware(datetime(2024, 3, 1, 23, 30), timezone=timezone.get_fixed_timezone(0))
    order.save()
    client.force_login(superuser)

    # when
    response = client.get(CHANGELIST)

    # then: what a reviewer scans, and no more (rooted and simulator devices are said by the flags)
    content = response.content.decode()
    headers = [str(header["text"]) for header in response.context["result_headers"]]
    assert headers[1:] == [
        "order number",
        "institution",
        "received at",
        "amount (yuan)",
        "applicant phone",
        "risk flags",
        "review status",
        "assigned reviewer",
    ]
    assert "12,345.67" in content
    assert "2024-03-02 07:30" in content  # 23:30 UTC is the next morning in Asia/Shanghai
    assert f'<span class="order-no" title="{order.order_no}">{order.order_no}</span>' in content
    assert f'<span class="institution" title="{order.institution.code}">{order.institution.name}</span>' in content


def test_an_order_without_a_device_is_listed(client, superuser):
    # given
    OrderFactory(order_no="BARE1")
    client.force_login(superuser)

    # when / then
    assert _listed(client.get(CHANGELIST)) == ["BARE1"]


# --- Query counts ------------------------------------------------------------------------------


def _changelist_queries(client, user, size, django_assert_num_queries, expected):
    for i in range(size):
        order = _full_order(assigned_to=user if i % 2 else None)
        EmployerFactory(order=order)
        # Two signals per row: the flags column must read them in the page's own query.
        RiskSignal.objects.bulk_create(
            [
                RiskSignal(order=order, code=code, severity="low", reason_zh="-", reason_en="-")
                for code in SIGNAL_CODES[:2]
            ]
        )
    client.force_login(user)
    client.get(CHANGELIST)  # warm the session
    with django_assert_num_queries(expected):
        response = client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == size
    assert response.content.decode().count('class="risk-flag ') == 2 * size


# session, user, the user's two permission look-ups, institutions (the sidebar's choices), [PostgreSQL:
# the planner's estimate], the bounded count, the page with its joins and its risk flags (a correlated
# subquery, not a query per row). Reviewers and analysts see it masked and nothing is written; for a
# user who may list personal data, one INSERT into the export log. Unchanged by the flags column and
# by filtering through OrderFilterSet.
@pytest.mark.parametrize("size", [3, 30])
def test_changelist_queries_do_not_grow_with_rows_for_a_reviewer(client, reviewer, django_assert_num_queries, size):
    _changelist_queries(client, reviewer, size, django_assert_num_queries, expected=REVIEWER_QUERIES)


@pytest.mark.parametrize("size", [3, 30])
def test_changelist_queries_do_not_grow_with_rows_for_an_analyst(client, analyst, django_assert_num_queries, size):
    _changelist_queries(client, analyst, size, django_assert_num_queries, expected=ANALYST_QUERIES)


ANALYST_QUERIES = 7 + (connection.vendor == "postgresql")
REVIEWER_QUERIES = ANALYST_QUERIES
UNMASKED_LIST_QUERIES = ANALYST_QUERIES + 1


@pytest.mark.parametrize("size", [3, 30])
def test_changelist_queries_do_not_grow_with_rows_for_a_list_holder(client, superuser, django_assert_num_queries, size):
    # A superuser's permission look-ups cost nothing; the export-log row costs one INSERT.
    _changelist_queries(client, superuser, size, django_assert_num_queries, expected=UNMASKED_LIST_QUERIES - 2)


@pytest.mark.parametrize("size", [3, 30])
def test_filtered_changelist_queries_do_not_grow_with_rows(client, analyst, django_assert_num_queries, size):
    # given
    institution = InstitutionFactory()
    for _ in range(size):
        order = _full_order(institution=institution)
        RiskSignal.objects.create(order=order, code="simulator", severity="high", reason_zh="-", reason_en="-")
    client.force_login(analyst)
    params = {"institution": institution.code, "risk_flag": "simulator", "os_type": "ios", "loan_amount_min": "1"}
    client.get(CHANGELIST, params)

    # when / then: as unfiltered, less the planner's estimate (a filtered list is counted, capped),
    # plus the FilterSet's look-up of the institution code
    with django_assert_num_queries(7 + 1):
        response = client.get(CHANGELIST, params)
    assert len(response.context["cl"].result_list) == size


def test_unfiltered_changelist_shows_the_planner_estimate_without_counting(client, superuser, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("pg_class.reltuples is PostgreSQL's")
    # given
    OrderFactory.create_batch(12)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_threshold", 10)
    client.force_login(superuser)

    # when
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)

    # then
    assert "about 12" in response.content.decode()
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "orders_order" in q["sql"]]


def test_unfiltered_changelist_counts_exactly_when_there_is_no_estimate(client, superuser):
    # given: SQLite has no planner statistics; a fresh PostgreSQL table has none yet either
    OrderFactory.create_batch(3)
    client.force_login(superuser)

    # when
    response = client.get(CHANGELIST)

    # then
    assert re.search(r'<span id="result-count">3</span>', response.content.decode())


def test_a_broad_filter_counts_only_up_to_the_cap(client, superuser, monkeypatch):
    # given
    OrderFactory.create_batch(4, review_status=ReviewStatus.PENDING)
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 2)
    client.force_login(superuser)

    # when
    response = client.get(CHANGELIST, {"review_status": "pending"})

    # then
    assert "more than 2" in response.content.decode()
    assert len(response.context["cl"].result_list) == 4 or response.context["cl"].multi_page


# --- Filters ----------------------------------------------------------------------------------


def test_filters(client, superuser):
    # given
    now = timezone.now()
    other = InstitutionFactory()
    ios = _full_order(
        order_no="IOS", loan_amount_fen=100_000, received_at=now - timedelta(days=10), user_phone="13800000007"
    )
    android = OrderFactory(order_no="ANDROID", institution=other, loan_amount_fen=900_000, received_at=now)
    DeviceFactory(order=android, os_kind=OsKind.ANDROID, is_root=True, is_simulator=True)
    EmployerFactory(order=android)
    mine = _full_order(
        order_no="MINE", assigned_to=superuser, review_status=ReviewStatus.IN_REVIEW, loan_amount_fen=300_000
    )
    theirs = _full_order(
        order_no="THEIRS", assigned_to=ReviewerFactory(), review_status=ReviewStatus.APPROVED, loan_amount_fen=300_000
    )
    client.force_login(superuser)
    today = timezone.localdate(now).isoformat()

    yesterday = (timezone.localdate(now) - timedelta(days=1)).isoformat()
    # The parameters are OrderFilterSet's (the API's and the exports'), except the two reviewer-only ones.
    cases = {
        (("institution", other.code),): {"ANDROID"},
        (("received_after", today),): {"ANDROID", "MINE", "THEIRS"},
        (("received_before", yesterday),): {"IOS"},
        (("loan_amount_min", "500000"),): {"ANDROID"},
        (("loan_amount_min", "99999"), ("loan_amount_max", "100000")): {"IOS"},
        (("os_type", "android"),): {"ANDROID"},
        (("is_root", "true"),): {"ANDROID"},
        (("is_root", "1"),): {"ANDROID"},
        (("is_simulator", "true"),): {"ANDROID"},
        (("is_simulator", "false"),): {"IOS", "MINE", "THEIRS"},
        (("is_simulator", "unknown"),): set(),
        (("order_no", "MINE"),): {"MINE"},
        (("user_phone", "+86 138-0000-0007"),): {"IOS"},
        (("has_employer", "yes"),): {"ANDROID"},
        (("has_employer", "no"),): {"IOS", "MINE", "THEIRS"},
        (("review_status", "approved"),): {"THEIRS"},
        (("assignee", "mine"),): {"MINE"},
        (("assignee", "none"),): {"IOS", "ANDROID"},
        (("assignee", "any"),): {"MINE", "THEIRS"},
        (("assignee", "mine"), ("review_status", "in_review")): {"MINE"},
    }
    assert {ios.pk, mine.pk, theirs.pk}

    for params, expected in cases.items():
        # when
        response = client.get(CHANGELIST, dict(params))

        # then
        assert response.status_code == 200, params
        assert set(_listed(response)) == expected, params


@pytest.mark.parametrize(
    "params",
    [
        {"loan_amount_min": "lots"},
        {"loan_amount_min": "1.5"},  # fen are whole
        {"loan_amount_max": "-1"},
        {"received_after": "2024-13-45"},
        {"received_before": "yesterday"},
        {"institution": "NO-SUCH-CODE"},
        {"os_type": "windows"},
        {"is_root": "maybe"},
        {"review_status": "lost"},
        {"user_phone": "10086"},
        {"order_no": "x" * 65},
        {"risk_flag": "no_such_signal"},
        "review_status=pending&review_status=approved",  # the API refuses a repeat too
    ],
)
def test_a_value_the_filterset_refuses_is_reported_not_a_server_error(client, superuser, params):
    # given
    client.force_login(superuser)

    # when
    response = client.get(f"{CHANGELIST}?{params}") if isinstance(params, str) else client.get(CHANGELIST, params)

    # then: the admin's own handling of bad lookups: back to the list with ?e=1
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


def test_range_filter_keeps_the_other_filters_in_its_form(client, superuser):
    # given
    client.force_login(superuser)

    # when
    response = client.get(CHANGELIST, {"review_status": "pending", "loan_amount_min": "1050", "q": "138"})

    # then
    content = response.content.decode()
    assert '<input type="hidden" name="review_status" value="pending">' in content
    assert '<input type="hidden" name="q" value="138">' in content
    assert 'name="loan_amount_min" value="1050"' in content
    assert "In fen: from 10.50 to - yuan." in content


# --- Search -----------------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["13711112222", "137 1111 2222", "+8613711112222"])
def test_search_by_an_emergency_contacts_phone(client, reviewer, term):
    # given
    contact = ContactFactory(mobile="13711112222", order=_full_order(order_no="HIT"))
    _full_order(order_no="MISS")
    client.force_login(reviewer)

    # when
    response = client.get(CHANGELIST, {"q": term})

    # then
    assert _listed(response) == [contact.order.order_no]


def test_search_by_order_number_and_address_book_phone(client, analyst):
    # given
    book_owner = _full_order(order_no="BOOK")
    AddressBookEntryFactory(order=book_owner, phone="0086 135-0000-9999", phone_digits="13500009999")
    _full_order(order_no="YB0001")
    client.force_login(analyst)

    # when / then
    assert _listed(client.get(CHANGELIST, {"q": "YB0001"})) == ["YB0001"]
    assert _listed(client.get(CHANGELIST, {"q": "13500009999"})) == ["BOOK"]


# --- Read-only pushed data --------------------------------------------------------------------


@pytest.mark.parametrize("model", [Order, Device, Contact, Employer, AddressBookEntry])
def test_nobody_adds_changes_or_deletes_pushed_data_not_even_a_superuser(client, superuser, model):
    # given
    order = pushed_order()
    obj = {Order: order, Device: order.device, Employer: order.employer}.get(model) or model.objects.filter(
        order=order
    ).first()
    opts = model._meta
    client.force_login(superuser)
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    delete_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    add_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")

    # when / then
    assert client.get(change_url).status_code == 200  # viewing is fine
    assert client.get(add_url).status_code == 403
    assert client.post(add_url, {}).status_code == 403
    assert client.post(change_url, {"order_no": "HACKED", "name": "HACKED"}).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    assert model.objects.filter(pk=obj.pk).exists()
    order.refresh_from_db()
    assert order.order_no != "HACKED"


def test_users_outside_the_roles_cannot_open_the_orders(client):
    # given
    client.force_login(UserFactory())

    # when / then
    assert client.get(CHANGELIST).status_code == 403


# --- Risk signals: the flags column and the filter by signal -------------------------------------


def _pushed_pair_sharing_a_device() -> tuple[Order, Order]:
    """Two applicants (different phones) pushing from one device: both orders carry `shared_device`."""
    earlier = pushed_order(userAdditional__deviceInfo__deviceId="SHARED-DEVICE-1")
    later = pushed_order(userAdditional__deviceInfo__deviceId="SHARED-DEVICE-1")
    return earlier, later


def _row_of(content: str, order_no: str) -> str:
    rows = re.findall(r"<tr>.*?</tr>", content[content.index('id="result_list"') :], re.S)
    return next(row for row in rows if f">{order_no}<" in row)


def test_flags_column_shows_each_orders_signals_as_badges(client, analyst):
    # given
    earlier, later = _pushed_pair_sharing_a_device()
    plain = _full_order(order_no="PLAIN")
    client.force_login(analyst)

    # when
    content = client.get(CHANGELIST).content.decode()

    # then
    assert "Risk flags" in content  # the column header
    for order in (earlier, later):
        badge = '<span class="risk-flag risk-flag-high" title="shared_device">Shared device</span>'
        assert badge in _row_of(content, order.order_no)
    assert 'class="risk-flag' not in _row_of(content, plain.order_no)


def test_flags_column_labels_follow_the_language(client, analyst):
    # given
    RiskSignal.objects.create(order=_full_order(), code="simulator", severity="high", reason_zh="模拟器", reason_en="x")
    client.force_login(analyst)

    # when
    content = client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    # then
    assert '<span class="risk-flag risk-flag-high" title="simulator">模拟器</span>' in content
    assert "单位为分：100 分 = 1 元。" in content  # the amount filter's hint


def test_flags_column_puts_the_most_severe_first_by_the_configured_severity(client, analyst, settings):
    # given: codes that sort the other way alphabetically; thin_address_book made high by configuration
    settings.RISK_SIGNALS = {"SEVERITY": {"thin_address_book": "high", "simulator": "medium"}}
    order = _full_order(order_no="SEVERE")
    flag(order, "contact_not_in_address_book", "simulator", "thin_address_book")
    client.force_login(analyst)

    # when
    row = _row_of(client.get(CHANGELIST).content.decode(), "SEVERE")

    # then
    assert re.findall(r'class="risk-flag risk-flag-(\w+)" title="(\w+)"', row) == [
        ("high", "thin_address_book"),
        ("medium", "simulator"),
        ("low", "contact_not_in_address_book"),
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [("shared_device", {"EARLIER", "LATER"}), ("simulator", {"EMULATED"}), ("rooted_device", set())],
)
def test_filter_by_signal(client, analyst, code, expected):
    # given
    earlier, later = _pushed_pair_sharing_a_device()
    Order.objects.filter(pk=earlier.pk).update(order_no="EARLIER")
    Order.objects.filter(pk=later.pk).update(order_no="LATER")
    emulated = _full_order(order_no="EMULATED")
    RiskSignal.objects.create(order=emulated, code="simulator", severity="high", reason_zh="模拟器", reason_en="x")
    _full_order(order_no="PLAIN")
    client.force_login(analyst)

    # when
    response = client.get(CHANGELIST, {"risk_flag": code})

    # then
    assert response.status_code == 200
    assert set(_listed(response)) == expected


def test_filter_by_signal_offers_every_registered_signal_in_the_sidebar(client, analyst):
    # given
    client.force_login(analyst)

    # when
    content = client.get(CHANGELIST, {"risk_flag": "simulator"}).content.decode()

    # then
    for code in SIGNAL_CODES:
        assert f'href="?risk_flag={code}"' in content
    assert re.search(r'<li class="selected">\s*<a href="\?risk_flag=simulator">Simulator</a>', content)


def test_sidebar_offers_filterset_values_by_their_api_names(client, analyst):
    # given
    InstitutionFactory(code="YB", name="Yibai")
    client.force_login(analyst)

    # when
    content = client.get(CHANGELIST, {"is_root": "1"}).content.decode()

    # then: institution by code, booleans as true/false/unknown, the selected one marked
    assert 'href="?institution=YB&amp;is_root=1"' in content or 'href="?is_root=1&amp;institution=YB"' in content
    assert "YB (Yibai)" in content
    assert re.search(r'<li class="selected">\s*<a href="\?is_root=true">Yes</a>', content)
    assert 'href="?is_root=unknown"' in content
    assert 'href="?is_root=1&amp;os_type=android"' in content


def test_every_filterset_parameter_is_read_by_an_admin_filter():
    # given
    model_admin = admin.site._registry[Order]

    # when
    expected = set()
    for list_filter in model_admin.list_filter:
        expected.update(list_filter(None, {}, Order, model_admin).expected_parameters())

    # then: none falls through to the admin's own field lookups, which would read it differently
    assert set(OrderFilterSet.base_filters) <= expected


def test_a_filterset_parameter_without_its_own_sidebar_filter_still_goes_through_the_filterset(rf):
    # given: a list that names no filter, as when OrderFilterSet gains a parameter before the admin does
    wanted = _full_order(order_no="WANTED")
    _full_order(order_no="OTHER")
    model_admin = admin.site._registry[Order]

    # when
    generated = with_every_filterset_parameter([])
    by_name = {list_filter.parameter_name: list_filter for list_filter in generated}
    spec = by_name["order_no"](rf.get("/"), {"order_no": ["WANTED"]}, Order, model_admin)
    bad = by_name["loan_amount_min"](rf.get("/"), {"loan_amount_min": ["1.5"]}, Order, model_admin)

    # then
    assert set(by_name) == set(OrderFilterSet.base_filters)
    assert list(spec.queryset(None, Order.objects.all())) == [wanted]
    with pytest.raises(IncorrectLookupParameters):
        bad.queryset(None, Order.objects.all())
