"""Reads: phone/orderNo search, the row estimate, pretty push bodies, the order dossier."""

import json

import pytest
from django.db import connection

from orders import selectors
from orders.models import Order, PushLog
from tests.factories import (
    AddressBookEntryFactory,
    AnalystFactory,
    ContactFactory,
    InstitutionFactory,
    OrderFactory,
    ReviewerFactory,
    UserFactory,
    pushed_order,
)

pytestmark = pytest.mark.django_db


def _found(term):
    return set(selectors.order_search(Order.objects.all(), term).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "typed", ["13800001111", "138 0000 1111", "+8613800001111", "+86 138-0000-1111", "008613800001111"]
)
def test_search_finds_the_applicant_by_any_spelling_of_the_phone(typed):
    # given
    order = OrderFactory(user_phone="13800001111")
    OrderFactory()

    # when / then
    assert _found(typed) == {order.pk}


def test_search_finds_orders_by_an_emergency_contacts_mobile():
    # given
    contact = ContactFactory(mobile="13911112222")
    OrderFactory()

    # when / then
    assert _found(" 139-1111-2222 ") == {contact.order_id}


def test_search_finds_every_order_whose_address_book_holds_the_number():
    # given
    first = AddressBookEntryFactory(phone="+86 137 0000 3333", phone_digits="13700003333")
    second = AddressBookEntryFactory(phone="13700003333", phone_digits="13700003333")
    AddressBookEntryFactory()

    # when / then
    assert _found("13700003333") == {first.order_id, second.order_id}


def test_search_by_order_number_is_exact():
    # given
    order = OrderFactory(order_no="YB2024-0001")
    OrderFactory(order_no="YB2024-00011")

    # when / then
    assert _found("YB2024-0001") == {order.pk}
    assert _found("YB2024") == set()


def test_a_number_that_is_applicant_and_contact_finds_each_order_once():
    # given
    order = OrderFactory(user_phone="13500005555")
    ContactFactory(order=order, mobile="13500005555")
    AddressBookEntryFactory(order=order, phone="13500005555", phone_digits="13500005555")

    # when
    results = list(selectors.order_search(Order.objects.all(), "13500005555"))

    # then
    assert [o.pk for o in results] == [order.pk]


@pytest.mark.parametrize("term", ["", "   "])
def test_an_empty_search_returns_the_queryset_unchanged(term):
    OrderFactory.create_batch(2)
    assert len(_found(term)) == 2


def test_short_digit_strings_only_match_an_order_number():
    # given: 10086 is in half the address books; it is not a useful phone search
    AddressBookEntryFactory(phone="10086", phone_digits="10086")
    order = OrderFactory(order_no="10086")

    # when / then
    assert _found("1008") == set()
    assert _found("10086") == {order.pk}


def test_search_keeps_the_callers_filters():
    # given
    kept = OrderFactory(user_phone="13600006666")
    OrderFactory(user_phone="13600006666", institution=InstitutionFactory())

    # when
    results = selectors.order_search(Order.objects.filter(institution=kept.institution), "13600006666")

    # then
    assert [o.pk for o in results] == [kept.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_phone_search_uses_the_phone_indexes_not_a_pattern_scan():
    # given
    OrderFactory()

    # when
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        sql, params = selectors.order_search(Order.objects.all(), "13800001111").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")

    # then
    assert "LIKE" not in sql.upper()
    for index in ("order_user_phone_idx", "contact_mobile_idx", "addressbook_phone_idx", "order_order_no_idx"):
        assert index in plan, plan


def test_reviewer_queryset_holds_active_staff_who_may_review():
    # given
    reviewer = ReviewerFactory()
    superuser = UserFactory(is_superuser=True)
    AnalystFactory()
    ReviewerFactory(is_active=False)
    ReviewerFactory(is_staff=False)

    # when / then
    assert set(selectors.reviewer_queryset()) == {reviewer, superuser}


def test_row_estimate_is_none_without_a_planner():
    # given
    OrderFactory()

    # when
    estimate = selectors.table_row_estimate(Order)

    # then
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE orders_order")
        assert selectors.table_row_estimate(Order) == 1
    else:
        assert estimate is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"b":1,"a":"中文"}', '{\n  "b": 1,\n  "a": "中文"\n}'),
        ("not json {", "not json {"),
        ("", ""),
        (
            json.dumps({"ua": "demo", "args": '{"orderInfo":{"orderNo":"X"}}'}),
            '{\n  "ua": "demo",\n  "args": {\n    "orderInfo": {\n      "orderNo": "X"\n    }\n  }\n}',
        ),
        (json.dumps({"ua": "demo", "args": "{broken"}), '{\n  "ua": "demo",\n  "args": "{broken"\n}'),
    ],
)
def test_push_body_pretty(body, expected):
    assert selectors.push_body_pretty(body) == expected


def test_dossier_holds_everything_pushed_for_the_order():
    # given
    payload_extra = {"userAdditional__deviceInfo__brandNew": "x1", "userAdditional__addressBook__size": 60}
    order = pushed_order(**payload_extra)

    # when
    dossier = selectors.order_dossier(order_id=order.pk)

    # then
    assert dossier.order == order
    assert {row.name for row in dossier.device_rows} >= {"device_id", "os_type", "is_root", "imei", "last_login_at"}
    assert "order" not in {row.name for row in dossier.device_rows}
    assert [(row.label, row.value) for row in dossier.device_extra_rows] == [("brandNew", "x1")]
    assert [contact.priority for contact in dossier.contacts] == [1, 2]
    assert dossier.employer is not None
    assert len(dossier.address_book) == selectors.ADDRESS_BOOK_PREVIEW
    assert dossier.address_book_count == 60
    assert dossier.address_book_truncated
    assert len(dossier.push_history) == 1
    assert dossier.push_history[0].body_complete
    assert json.loads(dossier.push_history[0].body_head)["orderInfo"]["orderNo"] == order.order_no
    assert dossier.push_count == 1


def test_dossier_push_history_is_scoped_to_the_institution_and_order_number():
    # given
    order = pushed_order()
    other_institution = pushed_order(payload=None, orderInfo__orderNo=order.order_no)
    assert other_institution.institution != order.institution

    # when
    dossier = selectors.order_dossier(order_id=order.pk)

    # then
    assert [item.log.institution_id for item in dossier.push_history] == [order.institution_id]
    assert PushLog.objects.filter(order_no=order.order_no).count() == 2


def test_dossier_of_a_bare_order_has_empty_sections():
    # given
    order = OrderFactory()

    # when
    dossier = selectors.order_dossier(order_id=order.pk)

    # then
    assert dossier.device is None
    assert dossier.device_rows == []
    assert dossier.employer is None
    assert dossier.contacts == []
    assert dossier.address_book == []
    assert dossier.push_history == []


def test_dossier_of_a_missing_order_is_none():
    assert selectors.order_dossier(order_id=123456) is None


@pytest.mark.parametrize("book_size", [3, 300])
def test_dossier_costs_the_same_queries_whatever_the_address_book_size(django_assert_num_queries, book_size):
    # given
    order = OrderFactory(address_book_count=book_size)
    AddressBookEntryFactory.create_batch(book_size, order=order)

    # when / then: order+joins, push log, contacts, address book preview, events, risk signals (the
    # sixth, added with the order page's risk panel; their linked orders are one more only when there are signals),
    # decisions and revisions
    with django_assert_num_queries(8):
        dossier = selectors.order_dossier(order_id=order.pk)
    assert len(dossier.address_book) == min(book_size, selectors.ADDRESS_BOOK_PREVIEW)
