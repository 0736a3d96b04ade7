"""Tolerant pushes: address-book entries saved without a number, and an orderNo sent as a JSON integer."""

import json

import pytest

from orders import normalizers
from orders.models import AddressBookEntry, Order, RiskSignal
from orders.risk.links import RELATIONAL
from tests.factories import InstitutionFactory, PushPayloadFactory, pushed_order
from tests.intake.test_channel import LEGACY_URL, NAMED_URL, envelope, send

pytestmark = pytest.mark.django_db

# What a phone's contacts export holds for people saved without a number, beside ordinary entries.
MESSY_BOOK = [
    "王芳_",
    "_",
    "",
    {"name": "李四"},
    {"name": "赵六", "phone": None},
    {"name": "钱七", "phone": "  "},
    "张三_13800001111",
    "中国移动_10086",
]
WITHOUT_PHONE = 6


def messy_payload(**kwargs) -> dict:
    return PushPayloadFactory(userAdditional__addressBook__phoneList=MESSY_BOOK, **kwargs)


# --- Address-book entries without a number -----------------------------------------------------


@pytest.mark.parametrize(
    ("item", "name"),
    [("王芳_", "王芳"), ("_", ""), ("", ""), ({"name": "李四"}, "李四"), ({"name": "x", "phone": None}, "x")],
)
def test_an_entry_without_a_number_is_kept_with_an_empty_phone(item, name):
    # when
    entry = normalizers.address_book_entry(item)
    # then
    assert entry == normalizers.AddressBookEntry(name, "", "", False)


def test_an_entry_whose_phone_is_blank_is_kept_with_an_empty_phone():
    assert normalizers.address_book_entry({"name": "钱七", "phone": " \t"}).phone == ""


@pytest.mark.parametrize("item", [{"name": "x" * 129}, {"name": 5}, {"phone": ["138"]}, 7])
def test_what_is_not_a_missing_number_is_still_refused(item):
    with pytest.raises(normalizers.NormalizationError):
        normalizers.address_book_entry(item)


def test_rest_push_with_entries_without_a_number_is_accepted_and_counted(push):
    # when
    response = push(messy_payload())
    # then
    assert response.status_code == 201, response.json()
    assert response.json()["addressBookEntriesWithoutPhone"] == WITHOUT_PHONE
    order = Order.objects.get(order_no=response.json()["orderNo"])
    stored = list(AddressBookEntry.objects.filter(order=order).order_by("id").values_list("name", "phone"))
    assert order.address_book_count == len(MESSY_BOOK) == len(stored)
    assert stored[:3] == [("王芳", ""), ("", ""), ("", "")]
    assert stored[-2:] == [("张三", "13800001111"), ("中国移动", "10086")]


def test_the_retry_answer_carries_the_same_count(push):
    # given
    payload = messy_payload()
    first = push(payload).json()
    # when
    retry = push(payload)
    # then
    assert retry.status_code == 200
    assert retry.json() == {**first, "status": "duplicate"}


def test_a_book_with_every_number_counts_zero(push):
    response = push(PushPayloadFactory())
    assert response.json()["addressBookEntriesWithoutPhone"] == 0


@pytest.mark.parametrize("encoding", ["json", "form"])
@pytest.mark.parametrize("url", [NAMED_URL, LEGACY_URL])
def test_channel_push_with_entries_without_a_number_is_accepted_and_counted(client, institution, encoding, url):
    # given
    call = "Order.pushUserAdditionalInfo" if url == LEGACY_URL else None
    # when
    answer = send(client, envelope(institution, messy_payload(), call=call), encoding=encoding, url=url).json()
    # then
    assert answer["status"] == 1, answer
    assert answer["response"]["addressBookEntriesWithoutPhone"] == WITHOUT_PHONE


def test_empty_numbers_never_link_two_applicants():
    # given: two applicants whose books hold only contacts without a number
    empty_book = ["王芳_", "_", {"name": "李四"}]
    first = pushed_order(payload=PushPayloadFactory(userAdditional__addressBook__phoneList=empty_book))
    # when
    second = pushed_order(payload=PushPayloadFactory(userAdditional__addressBook__phoneList=empty_book))
    # then: the signals job ran for both, and no signal relates them
    assert not Order.objects.filter(pk__in=[first.pk, second.pk], risk_pending=True).exists()
    assert not RiskSignal.objects.filter(order__in=[first, second], code__in=RELATIONAL).exists()


def test_an_order_with_empty_numbers_is_shown_masked_to_an_analyst(client):
    # given
    from tests.factories import AnalystFactory

    order = pushed_order(payload=messy_payload())
    client.force_login(AnalystFactory())
    # when
    page = client.get(f"/admin/orders/order/{order.pk}/change/")
    # then
    assert page.status_code == 200
    text = page.content.decode()
    assert "王*" in text
    assert "王芳" not in text
    assert "138****1111" in text
    assert "13800001111" not in text


# --- A numeric orderNo ---------------------------------------------------------------------------


def with_order_no(order_no) -> dict:
    payload = PushPayloadFactory()
    payload["orderInfo"]["orderNo"] = order_no
    return payload


def test_an_integer_order_no_is_read_as_its_text_on_the_rest_door(push):
    # when
    response = push(with_order_no(12345))
    # then
    assert response.status_code == 201, response.json()
    assert response.json()["orderNo"] == "12345"
    assert Order.objects.get().order_no == "12345"


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_an_integer_order_no_is_read_as_its_text_on_the_channel_door(client, institution, encoding):
    # when
    answer = send(client, envelope(institution, with_order_no(12345)), encoding=encoding).json()
    # then
    assert (answer["status"], answer["response"]["orderNo"]) == (1, "12345")


def test_an_integer_order_no_and_its_text_are_not_the_same_push(push):
    # given: "identical" means the same JSON value, and 12345 is not "12345"
    payload = with_order_no(12345)
    assert push(payload).status_code == 201
    # when
    same = push(payload)
    as_text = push({**payload, "orderInfo": {**payload["orderInfo"], "orderNo": "12345"}})
    # then
    assert same.status_code == 200
    assert as_text.status_code == 409
    assert as_text.json()["errors"][0]["code"] == "order_conflict"
    assert Order.objects.count() == 1


def test_the_same_integer_order_no_through_the_channel_is_a_duplicate_of_the_rest_push(client, institution, push):
    # given
    payload = with_order_no(987654321)
    assert push(payload).status_code == 201
    # when
    answer = send(client, envelope(institution, payload), encoding="form").json()
    # then
    assert (answer["status"], answer["response"]["status"]) == (1, "duplicate")


@pytest.mark.parametrize("order_no", [True, 1.5, 10**64, [], {}])
def test_other_non_strings_are_still_refused(push, order_no):
    # when
    response = push(with_order_no(order_no))
    # then
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["orderInfo.orderNo"]


def test_a_refused_push_with_an_integer_order_no_is_logged_under_its_text(push):
    # given
    from orders.models import PushLog

    payload = with_order_no(4242)
    payload["orderInfo"]["userPhone"] = "not a phone"
    # when
    assert push(json.dumps(payload)).status_code == 400
    # then
    assert PushLog.objects.get().order_no == "4242"


def test_another_institution_may_use_the_same_integer_order_no(push):
    # given
    assert push(with_order_no(7)).status_code == 201
    other = InstitutionFactory()
    # when
    response = push(with_order_no(7), token=other.api_token)
    # then
    assert response.status_code == 201
