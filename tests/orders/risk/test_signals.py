"""Risk signals computed at push time: one test per signal, its negative cases, settings and query counts."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import translation

from orders.models import Order, RiskSignal
from orders.pii import mask_phone, pseudonym
from orders.risk import SIGNAL_CODES, RiskConfig, risk_signals_for_order, signal_reason
from orders.selectors.dossier import RiskSignalItem, order_risk_signals
from tests.factories import (
    SIGNAL_WRITERS_LOCK_QUERIES,
    AnalystFactory,
    InstitutionFactory,
    PushPayloadFactory,
    ReviewerFactory,
    new_mobile,
    phone_list,
    pushed_order,
)

pytestmark = pytest.mark.django_db


# A book that triggers neither thin_address_book nor contact_not_in_address_book by itself.
def full_book(*phones: str, size: int = 12) -> list:
    return [f"联系人_{phone}" for phone in phones] + [f"朋友{i}_{new_mobile()}" for i in range(size - len(phones))]


def push(institution=None, *, phone=None, device=None, contacts=None, book=None, **kwargs) -> Order:
    """Push an order; `contacts` is (mobile, mobileSpare), `device` deviceInfo overrides, `book` a phoneList."""
    phone = phone or new_mobile()
    first, spare = contacts or (new_mobile(), new_mobile())
    document = PushPayloadFactory(
        orderInfo__userPhone=phone,
        userAdditional__contactInfo__mobile=first,
        userAdditional__contactInfo__mobileSpare=spare,
        userAdditional__addressBook__phoneList=book if book is not None else full_book(first, spare),
        **{f"userAdditional__deviceInfo__{key}": value for key, value in (device or {}).items()},
        **kwargs,
    )
    return pushed_order(institution, document)


def signal(order: Order, code: str) -> RiskSignal | None:
    return RiskSignal.objects.filter(order=order, code=code).first()


def item(order: Order, code: str, *, user=None) -> RiskSignalItem:
    """The signal as the order page shows it (its linked orders derived when read)."""
    return next(found for found in order_risk_signals(order_id=order.pk, viewer=user) if found.code == code)


def reason(order: Order, code: str, *, user=None, language: str = "en") -> str:
    """The signal's reason as the order page writes it for `user` (masked without one)."""
    with translation.override(language):
        return item(order, code, user=user).reason


def linked(order: Order, code: str) -> set[int]:
    return {linked_order.pk for linked_order in item(order, code).linked_orders}


def codes(order: Order) -> set[str]:
    return set(RiskSignal.objects.filter(order=order).values_list("code", flat=True))


def test_a_plain_order_has_no_signal():
    # given / when
    order = push()

    # then
    assert codes(order) == set()


# --- shared_device ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_device", "second_device", "named"),
    [
        ({"deviceId": "dev-1"}, {"deviceId": "dev-1"}, "deviceId"),
        ({"imei": "861234567890123"}, {"imei": "861234567890123"}, "imei"),
        ({"androidId": "a1b2c3d4e5f60718"}, {"androidId": "a1b2c3d4e5f60718"}, "androidId"),
        ({"idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC"}, {"idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC"}, "idfa"),
        ({"idfv": "F1E2D3C4-0000-1111-2222-333344445555"}, {"idfv": "F1E2D3C4-0000-1111-2222-333344445555"}, "idfv"),
    ],
)
def test_shared_device_links_two_applicants_both_ways(first_device, second_device, named):
    # given
    earlier = push(device=first_device)

    # when
    later = push(device=second_device)

    # then
    value = next(iter(second_device.values()))
    assert linked(later, "shared_device") == {earlier.pk}
    assert reason(later, "shared_device") == (
        f"This device ({named} {pseudonym(value)}) was also used in the orders of 1 other applicant."
    )
    assert signal(later, "shared_device").severity == "high"
    assert linked(earlier, "shared_device") == {later.pk}
    assert (
        reason(earlier, "shared_device") == f"This device ({named} {pseudonym(value)}) is also used by 1 other order."
    )
    assert reason(earlier, "shared_device", language="zh-hans") == (
        f"本设备（{named} {pseudonym(value)}）也出现在其他 1 个订单中。"
    )


def test_shared_device_third_applicant_updates_the_earlier_orders():
    # given
    first, second = push(device={"deviceId": "dev-3"}), push(device={"deviceId": "dev-3"})

    # when
    third = push(device={"deviceId": "dev-3"})

    # then
    assert linked(third, "shared_device") == {first.pk, second.pk}
    assert reason(third, "shared_device").endswith("was also used in the orders of 2 other applicants.")
    assert linked(first, "shared_device") == {second.pk, third.pk}
    assert (
        reason(first, "shared_device") == f"This device (deviceId {pseudonym('dev-3')}) is also used by 2 other orders."
    )
    assert RiskSignal.objects.filter(order=first, code="shared_device").count() == 1


@pytest.mark.parametrize("first_computed", ["earlier", "later"])
def test_two_orders_link_both_ways_whichever_is_computed_first(settings, first_computed):
    # given: two applicants on one device, the later naming the earlier as emergency contact, both
    # pushed before either's job ran (as when two workers pick them up out of order)
    settings.JOBS_INLINE = False
    earlier = push(device={"imei": "862222222222222"})
    later = push(device={"imei": "862222222222222"}, contacts=(earlier.user_phone, new_mobile()))
    orders = {"earlier": earlier, "later": later}

    # when
    for name in (first_computed, *(set(orders) - {first_computed})):
        assert risk_signals_for_order(order_id=orders[name].pk)

    # then
    for code in ("shared_device", "phone_in_other_contacts"):
        assert linked(earlier, code) == {later.pk}
        assert linked(later, code) == {earlier.pk}
    assert reason(later, "shared_device").endswith("was also used in the orders of 1 other applicant.")
    assert reason(earlier, "shared_device").endswith("was also used in the orders of 1 other applicant.")
    assert RiskSignal.objects.filter(order__in=[earlier, later]).count() == 4


def test_same_applicant_pushing_through_two_institutions_is_not_a_shared_device():
    # given
    phone = new_mobile()
    first = push(InstitutionFactory(), phone=phone, device={"deviceId": "dev-same", "imei": "869999999999999"})

    # when
    second = push(InstitutionFactory(), phone=phone, device={"deviceId": "dev-same", "imei": "869999999999999"})

    # then
    assert signal(first, "shared_device") is None
    assert signal(second, "shared_device") is None


@pytest.mark.parametrize(
    "placeholder",
    [{"idfa": "00000000-0000-0000-0000-000000000000"}, {"androidId": "9774d56d682e549c"}, {"imei": "unknown"}],
)
def test_placeholder_identifiers_do_not_link_strangers(placeholder):
    # given
    push(device=placeholder)

    # when
    later = push(device=placeholder)

    # then
    assert signal(later, "shared_device") is None


def test_shared_device_ignores_empty_identifiers():
    # given: neither sends an IMEI (the factory leaves it out, the other sends "")
    push(device={"imei": ""})

    # when
    later = push(device={"imei": ""})

    # then
    assert signal(later, "shared_device") is None


# --- phone_in_other_contacts -------------------------------------------------------------------


def test_applicant_who_is_an_earlier_applicants_emergency_contact():
    # given
    phone = new_mobile()
    earlier = push(contacts=(phone, new_mobile()))

    # when
    later = push(phone=phone)

    # then
    assert linked(later, "phone_in_other_contacts") == {earlier.pk}
    assert reason(later, "phone_in_other_contacts") == (
        f"The applicant's phone {mask_phone(phone)} is an emergency contact on 1 order of another applicant. "
        # The earlier order's address book holds its contacts too.
        f"The applicant's phone {mask_phone(phone)} is in the address book of 1 order of another applicant."
    )
    assert reason(earlier, "phone_in_other_contacts") == (
        f"Linked to 1 other order through the number {mask_phone(phone)}."
    )
    assert linked(earlier, "phone_in_other_contacts") == {later.pk}


def test_applicant_in_an_earlier_applicants_address_book():
    # given
    phone = new_mobile()
    earlier = push(book=full_book(phone))

    # when
    later = push(phone=phone)

    # then
    assert linked(later, "phone_in_other_contacts") == {earlier.pk}
    assert reason(later, "phone_in_other_contacts") == (
        f"The applicant's phone {mask_phone(phone)} is in the address book of 1 order of another applicant."
    )
    assert linked(earlier, "phone_in_other_contacts") == {later.pk}


@pytest.mark.parametrize("where", ["contact", "address_book"])
def test_new_order_naming_an_earlier_applicant_links_both(where):
    # given
    earlier = push()
    contacts = (earlier.user_phone, new_mobile()) if where == "contact" else None
    book = full_book(f"+86 {earlier.user_phone}") if where == "address_book" else None

    # when
    later = push(contacts=contacts, book=book)

    # then
    assert linked(later, "phone_in_other_contacts") == {earlier.pk}
    assert reason(later, "phone_in_other_contacts") == (
        f"1 number in this order's emergency contacts or address book ({mask_phone(earlier.user_phone)}) "
        "is the phone of another order's applicant."
    )
    assert linked(earlier, "phone_in_other_contacts") == {later.pk}


def test_applicant_in_own_earlier_orders_book_or_contacts_is_not_a_link():
    # given: the same person, an earlier order whose book and contact list hold their own number
    phone = new_mobile()
    push(InstitutionFactory(), phone=phone, contacts=(phone, new_mobile()), book=full_book(phone))

    # when
    later = push(InstitutionFactory(), phone=phone)

    # then
    assert signal(later, "phone_in_other_contacts") is None


def test_unrelated_numbers_in_books_do_not_link():
    # given
    push(book=full_book(new_mobile()))

    # when
    later = push()

    # then
    assert signal(later, "phone_in_other_contacts") is None


# --- shared_emergency_contact ------------------------------------------------------------------


def test_shared_emergency_contact_counts_other_applicants():
    # given
    contact = new_mobile()
    first = push(contacts=(contact, new_mobile()))
    second = push(contacts=(new_mobile(), contact))

    # when
    third = push(contacts=(contact, new_mobile()))

    # then
    assert linked(third, "shared_emergency_contact") == {first.pk, second.pk}
    assert reason(third, "shared_emergency_contact") == (
        f"The emergency contact {contact[:3]}****{contact[-4:]} is also the emergency contact of 2 other applicants."
    )
    assert reason(first, "shared_emergency_contact", language="zh-hans") == (
        f"紧急联系人 {contact[:3]}****{contact[-4:]} 也是其他 2 个订单的紧急联系人。"
    )
    assert linked(first, "shared_emergency_contact") == {second.pk, third.pk}


def test_reasons_show_numbers_and_identifiers_to_pii_holders_and_mask_them_for_analysts():
    # given: two applicants on one device, the later naming the earlier as emergency contact
    earlier = push(device={"deviceId": "dev-clear-1"})
    later = push(device={"deviceId": "dev-clear-1"}, contacts=(earlier.user_phone, new_mobile()))
    reviewer, analyst = ReviewerFactory(), AnalystFactory()
    # when
    seen_by_reviewer = reason(later, "shared_device", user=reviewer) + reason(
        later, "phone_in_other_contacts", user=reviewer
    )
    seen_by_analyst = reason(later, "shared_device", user=analyst) + reason(
        later, "phone_in_other_contacts", user=analyst
    )
    # then
    assert "deviceId dev-clear-1" in seen_by_reviewer
    assert earlier.user_phone in seen_by_reviewer
    assert f"deviceId {pseudonym('dev-clear-1')}" in seen_by_analyst
    assert mask_phone(earlier.user_phone) in seen_by_analyst
    assert "dev-clear-1" not in seen_by_analyst
    assert earlier.user_phone not in seen_by_analyst
    assert "dev-clear-1" in reason(earlier, "shared_device", user=reviewer)


def test_old_rows_without_facts_show_their_stored_text():
    # given: a signal written before reasons had facts
    order = push()
    old = RiskSignal.objects.create(order=order, code="simulator", severity="high", reason_zh="旧", reason_en="old")
    # when / then
    with translation.override("en"):
        assert signal_reason(old) == "old"
    with translation.override("zh-hans"):
        assert signal_reason(old) == "旧"


def test_same_applicant_listing_the_same_contacts_again_is_not_shared():
    # given
    phone, contacts = new_mobile(), (new_mobile(), new_mobile())
    push(InstitutionFactory(), phone=phone, contacts=contacts)

    # when
    later = push(InstitutionFactory(), phone=phone, contacts=contacts)

    # then
    assert signal(later, "shared_emergency_contact") is None


# --- signals of the order alone ----------------------------------------------------------------


def test_contact_is_applicant():
    # given
    phone = new_mobile()

    # when
    order = push(phone=phone, contacts=(new_mobile(), phone))

    # then
    assert reason(order, "contact_is_applicant") == "The second emergency contact has the applicant's own number."
    assert reason(order, "contact_is_applicant", language="zh-hans") == "第二紧急联系人的号码就是申请人本人的手机号。"
    assert item(order, "contact_is_applicant").linked_orders == []


def test_duplicate_contacts():
    # given
    mobile = new_mobile()

    # when
    order = push(contacts=(mobile, mobile))

    # then
    assert reason(order, "duplicate_contacts") == f"Both emergency contacts have the same number, {mask_phone(mobile)}."
    assert signal(order, "contact_is_applicant") is None


@pytest.mark.parametrize(
    ("in_book", "expected"),
    [
        ("both", None),
        ("first", "The second emergency contact's number is not in the applicant's address book."),
        ("none", "Neither emergency contact's number is in the applicant's address book."),
    ],
)
def test_contact_not_in_address_book(in_book, expected):
    # given
    first, spare = new_mobile(), new_mobile()
    listed = {"both": (first, f"+86 {spare[:3]}-{spare[3:7]}-{spare[7:]}"), "first": (first,), "none": ()}[in_book]

    # when
    order = push(contacts=(first, spare), book=full_book(*listed))

    # then
    found = signal(order, "contact_not_in_address_book")
    assert (reason(order, "contact_not_in_address_book") if found else None) == expected


def test_empty_address_book_is_thin_not_missing_contacts():
    # given / when
    order = push(book=[])

    # then
    assert signal(order, "contact_not_in_address_book") is None
    assert reason(order, "thin_address_book") == "The address book has only 0 entries (fewer than 10)."


@pytest.mark.parametrize(("code", "field"), [("rooted_device", "isRoot"), ("simulator", "isSimulator")])
@pytest.mark.parametrize(("value", "flagged"), [("1", True), ("true", True), ("0", False), ("", False), ("-1", False)])
def test_device_flags(code, field, value, flagged):
    # given / when
    order = push(device={field: value})

    # then
    assert (signal(order, code) is not None) is flagged


@pytest.mark.parametrize(
    ("book", "flagged"),
    [
        (phone_list(9), True),
        ([f"友{i}_{new_mobile()}" for i in range(10)], False),
        ([f"座机{i}_021-6666{i:04d}" for i in range(8)] + [f"友{i}_{new_mobile()}" for i in range(4)], True),
        ([f"座机{i}_021-6666{i:04d}" for i in range(6)] + [f"友{i}_{new_mobile()}" for i in range(6)], False),
    ],
    ids=["9-entries", "10-mobiles", "mostly-landlines", "half-mobiles"],
)
def test_thin_address_book(book, flagged):
    # given / when
    order = push(book=book)

    # then
    assert (signal(order, "thin_address_book") is not None) is flagged


def test_mostly_landlines_reason():
    # given
    book = [f"座机{i}_021-6666{i:04d}" for i in range(9)] + [f"友{i}_{new_mobile()}" for i in range(3)]

    # when
    order = push(book=book)

    # then
    assert reason(order, "thin_address_book") == "Only 25% of the address book are mobile numbers (below 50%)."
    assert reason(order, "thin_address_book", language="zh-hans") == "通讯录中手机号只占 25%（低于 50%）。"


# --- settings ----------------------------------------------------------------------------------


def test_severity_threshold_and_disabling_come_from_settings():
    # given
    risk = {
        "SEVERITY": {"rooted_device": "high"},
        "DISABLED": ["simulator"],
        "THIN_ADDRESS_BOOK_MIN_ENTRIES": 3,
    }

    # when
    with override_settings(RISK_SIGNALS=risk):
        order = push(device={"isRoot": "1", "isSimulator": "1"}, book=phone_list(4))

    # then
    assert signal(order, "rooted_device").severity == "high"
    assert signal(order, "simulator") is None
    assert signal(order, "thin_address_book") is None


def test_linked_orders_are_capped_by_the_setting():
    # given: three applicants on one device, none flagged yet (the signal was off when they came)
    with override_settings(RISK_SIGNALS={"DISABLED": ["shared_device"]}):
        earlier = [push(device={"deviceId": "dev-popular"}) for _ in range(3)]

    # when
    with override_settings(RISK_SIGNALS={"LINKED_ORDERS_LIMIT": 2}):
        later = push(device={"deviceId": "dev-popular"})

    # then: the look-up stops at the two newest, which alone are flagged; the page still lists all three
    assert signal(later, "shared_device").params["applicants"] == 2
    assert [signal(order, "shared_device") is not None for order in earlier] == [False, True, True]
    assert linked(later, "shared_device") == {order.pk for order in earlier}


@pytest.mark.parametrize(
    "risk",
    [
        {"SEVERITY": {"simulator": "critical"}},
        {"SEVERITY": {"no_such_signal": "low"}},
        {"DISABLED": ["no_such_signal"]},
        {"LINKED_ORDERS_LIMIT": 0},
        {"THRESHOLD": 1},
    ],
)
def test_bad_settings_are_refused(risk):
    # given / when / then
    with override_settings(RISK_SIGNALS=risk), pytest.raises(ImproperlyConfigured):
        RiskConfig.from_settings()


def test_every_default_severity_is_configured():
    # given / when
    config = RiskConfig.from_settings()

    # then
    assert set(config.severity) == set(SIGNAL_CODES)


# --- cost ---------------------------------------------------------------------------------------

# One order's signal job: its savepoint (2), the order, its contacts, its book's facts (2), the identifier
# locks (one statement, PostgreSQL), the look-ups, one INSERT of its rows and of the rows linked orders
# lack, one upsert of its own rows (they may be rows others created), the pending mark.
JOB_QUERIES = 10 + SIGNAL_WRITERS_LOCK_QUERIES


def pending_again(order: Order) -> None:
    RiskSignal.objects.filter(order=order).delete()
    Order.objects.filter(pk=order.pk).update(risk_pending=True)


@pytest.mark.parametrize("book_size", [10, 1000])
@pytest.mark.parametrize("others", [1, 12])
def test_query_count_does_not_grow_with_the_book_or_the_table(django_assert_num_queries, book_size, others):
    # given: `others` earlier applicants share the device and a contact and hold the applicant in their books
    phone, contact = new_mobile(), new_mobile()
    for _ in range(others):
        push(device={"deviceId": "dev-q"}, contacts=(contact, new_mobile()), book=full_book(phone))
    document = PushPayloadFactory(
        orderInfo__userPhone=phone,
        userAdditional__deviceInfo__deviceId="dev-q",
        userAdditional__contactInfo__mobile=contact,
        userAdditional__addressBook__phoneList=full_book(contact, size=book_size),
    )
    order = pushed_order(None, document)
    pending_again(order)

    # when
    with django_assert_num_queries(JOB_QUERIES):
        assert risk_signals_for_order(order_id=order.pk)

    # then
    assert {"shared_device", "phone_in_other_contacts", "shared_emergency_contact"} <= codes(order)
    assert len(linked(order, "shared_device")) == others


@pytest.mark.parametrize("earlier", [1, 150])
def test_a_hot_identifier_costs_a_push_the_same_as_a_pair(django_assert_num_queries, earlier):
    # given: `earlier` applicants' orders on one IMEI, every one already flagged
    for _ in range(earlier + 1):
        push(device={"imei": "861111111111111"})
    order = Order.objects.latest("pk")
    pending_again(order)
    before = list(RiskSignal.objects.order_by("pk").values_list("pk", "order_id", "params", "computed_at"))

    # when: the same statements, each writing as many rows, whether 1 or 150 orders share the IMEI
    with django_assert_num_queries(JOB_QUERIES):
        assert risk_signals_for_order(order_id=order.pk)

    # then: no row of an earlier order was written, yet each counts one more linked order
    after = list(
        RiskSignal.objects.exclude(order=order).order_by("pk").values_list("pk", "order_id", "params", "computed_at")
    )
    assert after == before
    assert len(after) == earlier
    assert item(order, "shared_device").links.count == earlier
    first = Order.objects.earliest("pk")
    assert item(first, "shared_device").links.count == earlier
    assert reason(first, "shared_device").endswith(f"is also used by {earlier} other order{'s' * (earlier > 1)}.")


def test_an_order_without_links_costs_only_its_lookups(django_assert_num_queries):
    # given
    document = PushPayloadFactory(userAdditional__addressBook__size=1000)
    order = pushed_order(None, document)
    pending_again(order)

    # when: the same statements as an order linked to many
    with django_assert_num_queries(JOB_QUERIES):
        assert risk_signals_for_order(order_id=order.pk)

    # then
    assert "contact_not_in_address_book" in codes(order)
