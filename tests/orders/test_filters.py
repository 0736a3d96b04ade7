"""The shared order FilterSet: every filter, its edge cases and its refusals."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from orders.choices import OsKind, ReviewStatus
from orders.models import Order
from orders.risk import SIGNAL_CODES
from orders.selectors import InvalidFiltersError, order_filter
from tests.factories import DeviceFactory, InstitutionFactory, OrderFactory, flag

SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db


def matching(**params) -> set[str]:
    return set(order_filter(params=params).values_list("order_no", flat=True))


def refused(**params) -> dict:
    with pytest.raises(InvalidFiltersError) as raised:
        list(order_filter(params=params))
    return raised.value.errors


def test_no_filter_returns_every_order_newest_first():
    # given
    older = OrderFactory(received_at=datetime(2024, 5, 1, tzinfo=SHANGHAI))
    newer = OrderFactory(received_at=datetime(2024, 5, 2, tzinfo=SHANGHAI))
    # when
    orders = list(order_filter(params={}))
    # then
    assert orders == [newer, older]


def test_institution_by_code():
    # given
    ours, theirs = InstitutionFactory(code="ours"), InstitutionFactory(code="theirs")
    OrderFactory(institution=ours, order_no="A")
    OrderFactory(institution=theirs, order_no="B")
    # when / then
    assert matching(institution="ours") == {"A"}


def test_unknown_institution_is_refused_not_ignored():
    # given
    OrderFactory()
    # when
    errors = refused(institution="nobody")
    # then
    assert list(errors) == ["institution"]
    assert errors["institution"][0].code == "invalid_choice"


def test_order_no_is_exact():
    # given
    OrderFactory(order_no="YB1")
    OrderFactory(order_no="YB10")
    # when / then
    assert matching(order_no="YB1") == {"YB1"}


def test_order_no_longer_than_the_protocol_allows_is_refused():
    assert "order_no" in refused(order_no="x" * 65)


@pytest.mark.parametrize("typed", ["13812340000", "+86 138-1234-0000", "0086 13812340000", "86-138 1234 0000"])
def test_user_phone_matches_on_normalised_digits(typed):
    # given
    OrderFactory(order_no="hit", user_phone="13812340000")
    OrderFactory(order_no="miss", user_phone="13812340001")
    # when / then
    assert matching(user_phone=typed) == {"hit"}


@pytest.mark.parametrize("typed", ["abc", "12345", "1381234000a", "23812340000", "138123400001"])
def test_user_phone_that_is_no_mobile_number_is_refused(typed):
    errors = refused(user_phone=typed)
    assert list(errors) == ["user_phone"]


@pytest.fixture
def day_orders():
    """Orders at the edges of 1 May 2024, Beijing time."""
    OrderFactory(order_no="apr30-late", received_at=datetime(2024, 4, 30, 23, 59, 59, tzinfo=SHANGHAI))
    OrderFactory(order_no="may1-start", received_at=datetime(2024, 5, 1, 0, 0, tzinfo=SHANGHAI))
    OrderFactory(order_no="may1-noon", received_at=datetime(2024, 5, 1, 12, 0, tzinfo=SHANGHAI))
    OrderFactory(order_no="may1-end", received_at=datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=SHANGHAI))
    OrderFactory(order_no="may2-start", received_at=datetime(2024, 5, 2, 0, 0, tzinfo=SHANGHAI))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # A date is a whole Beijing day, inclusive at both ends.
        ({"received_after": "2024-05-01", "received_before": "2024-05-01"}, {"may1-start", "may1-noon", "may1-end"}),
        ({"received_before": "2024-04-30"}, {"apr30-late"}),
        ({"received_after": "2024-05-02"}, {"may2-start"}),
        # A naive datetime is Beijing time; datetimes are inclusive too.
        ({"received_after": "2024-05-01T12:00:00"}, {"may1-noon", "may1-end", "may2-start"}),
        ({"received_before": "2024-05-01T12:00"}, {"apr30-late", "may1-start", "may1-noon"}),
        # An explicit offset wins over Beijing time: 04:00Z is 12:00 in Beijing.
        ({"received_after": "2024-05-01T04:00:00Z"}, {"may1-noon", "may1-end", "may2-start"}),
        ({"received_after": "2024-05-01T12:00:00+08:00"}, {"may1-noon", "may1-end", "may2-start"}),
        # `+08:00` typed into a URL unencoded arrives as a space.
        ({"received_after": "2024-05-01T12:00:00 08:00"}, {"may1-noon", "may1-end", "may2-start"}),
        ({"received_after": "2024-05-01 12:00:00"}, {"may1-noon", "may1-end", "may2-start"}),
    ],
)
def test_received_bounds(day_orders, params, expected):
    assert matching(**params) == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "2024-13-01", "2024-05-01T25:00", "01/05/2024", "2024-5-1", "1714521600"]
)
@pytest.mark.parametrize("name", ["received_after", "received_before"])
def test_unreadable_received_bound_is_refused(name, value):
    errors = refused(**{name: value})
    assert list(errors) == [name]
    assert errors[name][0].code == "invalid"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"loan_amount_min": "50000"}, {"500", "1000"}),
        ({"loan_amount_max": "50000"}, {"100", "500"}),
        ({"loan_amount_min": "10001", "loan_amount_max": "99999"}, {"500"}),
    ],
)
def test_loan_amount_bounds_in_fen_inclusive(params, expected):
    # given
    for yuan in (100, 500, 1000):
        OrderFactory(order_no=str(yuan), loan_amount_fen=yuan * 100)
    # when / then
    assert matching(**params) == expected


@pytest.mark.parametrize("value", ["1.5", "-1", "abc", "1e3", "10 fen"])
@pytest.mark.parametrize("name", ["loan_amount_min", "loan_amount_max"])
def test_unreadable_loan_amount_is_refused(name, value):
    assert list(refused(**{name: value})) == [name]


@pytest.mark.parametrize("name", ["institution", "order_no", "user_phone", "received_after", "os_type", "is_root"])
def test_empty_value_means_not_given(name):
    # given
    OrderFactory(order_no="any")
    # when / then
    assert matching(**{name: ""}) == {"any"}


@pytest.fixture
def devices():
    DeviceFactory(order__order_no="iphone", os_kind=OsKind.IOS, is_root=False, is_simulator=False)
    DeviceFactory(order__order_no="rooted", os_kind=OsKind.ANDROID, os_type="Android", is_root=True, is_simulator=None)
    DeviceFactory(
        order__order_no="emulator", os_kind=OsKind.OTHER, os_type="HarmonyOS", is_root=None, is_simulator=True
    )
    OrderFactory(order_no="no-device")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"os_type": "ios"}, {"iphone"}),
        ({"os_type": "android"}, {"rooted"}),
        ({"os_type": "other"}, {"emulator"}),
        ({"is_root": "true"}, {"rooted"}),
        ({"is_root": "1"}, {"rooted"}),
        ({"is_root": "TRUE"}, {"rooted"}),
        ({"is_root": "false"}, {"iphone"}),
        ({"is_root": "0"}, {"iphone"}),
        # Unknown: the sender said "" (or sent no device at all).
        ({"is_root": "unknown"}, {"emulator", "no-device"}),
        ({"is_simulator": "true"}, {"emulator"}),
        ({"is_simulator": "false"}, {"iphone"}),
        ({"is_simulator": "unknown"}, {"rooted", "no-device"}),
        ({"os_type": "android", "is_root": "1"}, {"rooted"}),
        ({"os_type": "ios", "is_root": "1"}, set()),
    ],
)
def test_device_filters(devices, params, expected):
    assert matching(**params) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("os_type", "windows"),
        ("os_type", "iOS"),
        ("is_root", "maybe"),
        ("is_root", "yes"),
        ("is_simulator", "2"),
        ("review_status", "done"),
    ],
)
def test_unknown_enum_value_is_refused(name, value):
    errors = refused(**{name: value})
    assert list(errors) == [name]
    assert errors[name][0].code == "invalid_choice"


def test_review_status():
    # given
    OrderFactory(order_no="new")
    OrderFactory(order_no="ok", review_status=ReviewStatus.APPROVED)
    # when / then
    assert matching(review_status="approved") == {"ok"}
    assert matching(review_status="pending") == {"new"}


@pytest.fixture
def flagged_orders():
    flag(OrderFactory(order_no="device"), "shared_device")
    flag(OrderFactory(order_no="both"), "shared_device", "simulator")
    flag(OrderFactory(order_no="thin"), "thin_address_book")
    OrderFactory(order_no="clean")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("shared_device", {"device", "both"}),
        ("simulator", {"both"}),
        ("thin_address_book", {"thin"}),
        ("rooted_device", set()),
    ],
)
def test_risk_flag_keeps_the_orders_carrying_that_signal(flagged_orders, code, expected):
    assert matching(risk_flag=code) == expected


@pytest.mark.parametrize("code", SIGNAL_CODES)
def test_risk_flag_accepts_every_signal_code(code):
    # given
    flag(OrderFactory(order_no="flagged"), code)
    flag(OrderFactory(order_no="other"), *(other for other in SIGNAL_CODES if other != code))
    # when / then
    assert matching(risk_flag=code) == {"flagged"}


@pytest.mark.parametrize("value", ["bogus", "SHARED_DEVICE", "shared_device;simulator"])
def test_unknown_risk_flag_is_refused_not_ignored(flagged_orders, value):
    errors = refused(risk_flag=value)
    assert list(errors) == ["risk_flag"]
    assert errors["risk_flag"][0].code == "invalid_choice"


def test_risk_flag_combines_with_other_filters(flagged_orders):
    # given
    Order.objects.filter(order_no="both").update(review_status=ReviewStatus.APPROVED)
    # when / then
    assert matching(risk_flag="shared_device", review_status="approved") == {"both"}
    assert matching(risk_flag="shared_device", review_status="pending") == {"device"}


def test_every_bad_parameter_is_reported_at_once():
    errors = refused(os_type="bsd", loan_amount_min="x", received_after="soon", user_phone="110", risk_flag="x")
    assert set(errors) == {"os_type", "loan_amount_min", "received_after", "user_phone", "risk_flag"}


def test_all_filters_together_are_one_query_plus_the_institution_lookup(devices, django_assert_num_queries):
    # given
    institution = InstitutionFactory(code="all")
    DeviceFactory(
        order__institution=institution,
        order__order_no="target",
        order__user_phone="13812340000",
        order__loan_amount_fen=100_000,
        order__received_at=datetime(2024, 5, 1, 9, tzinfo=SHANGHAI),
        is_root=True,
        is_simulator=False,
    )
    flag(Order.objects.get(order_no="target"), "rooted_device")
    params = {
        "institution": "all",
        "order_no": "target",
        "user_phone": "+86 138 1234 0000",
        "received_after": "2024-05-01",
        "received_before": "2024-05-01",
        "loan_amount_min": "1",
        "loan_amount_max": "100000",
        "os_type": "ios",
        "is_root": "1",
        "is_simulator": "0",
        "review_status": "pending",
        "risk_flag": "rooted_device",
    }
    # when / then
    with django_assert_num_queries(2):
        assert matching(**params) == {"target"}
