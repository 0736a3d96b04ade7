"""Property-based tests (hypothesis) for every normalizer: only NormalizationError, and invariants hold."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from orders import normalizers as n
from orders.choices import OsKind, RelationCategory

# Anything JSON can hold, as the payload parser hands it over.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
digit_strings = st.text(alphabet="0123456789", min_size=0, max_size=16)
scalars = json_values | digit_strings | st.from_regex(r"[+\-0-9 .%a-zA-Z]{0,20}", fullmatch=True)
mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)

NORMALIZERS = [
    n.order_no,
    n.loan_amount_fen,
    n.mobile_phone,
    n.unix_time,
    n.longitude,
    n.latitude,
    n.ip_address,
    n.tri_state,
    n.battery_percent,
    n.non_negative_count,
    n.storage_size,
    n.os_type,
    n.areas,
    n.relation,
    n.address_book_entry,
]


def _accepts(normalizer, value):
    """The normalizer's output, or None when it refused with NormalizationError (anything else propagates)."""
    try:
        return normalizer(value)
    except n.NormalizationError as error:
        refusal = error
    assert refusal.message  # a reason the sender can read
    return None


@pytest.mark.parametrize("normalizer", NORMALIZERS, ids=lambda normalizer: normalizer.__name__)
@given(value=scalars)
def test_no_input_raises_anything_but_normalization_error(normalizer, value):
    _accepts(normalizer, value)


@given(value=scalars)
@example("+86 139-1234-5678")
@example("0086 13912345678")
def test_mobile_phone_output_is_eleven_digit_mobile(value):
    result = _accepts(n.mobile_phone, value)
    assert result is None or re.fullmatch(r"1[3-9]\d{9}", result)


@given(number=mobiles, prefix=st.sampled_from(["", "+86", "0086", "86", "+86 ", "0086-"]), dashed=st.booleans())
def test_formatted_variants_of_a_mobile_round_trip(number, prefix, dashed):
    body = f"{number[:3]}-{number[3:7]}-{number[7:]}" if dashed else number
    assert n.mobile_phone(prefix + body) == number
    assert n.phone_digits(prefix + body) == number
    assert n.is_mobile(n.phone_digits(prefix + body))


@given(value=st.integers(min_value=10**9, max_value=10**10 - 1), millis=st.booleans())
def test_unix_time_is_aware_utc_in_range(value, millis):
    text = str(value * 1000 if millis else value)
    result = n.unix_time(text)
    assert result.tzinfo == UTC
    assert datetime(2001, 9, 9, tzinfo=UTC) <= result < datetime(2286, 11, 21, tzinfo=UTC)
    assert int(result.timestamp()) == value


@given(value=scalars)
def test_coordinates_stay_in_range(value):
    for normalizer, limit in ((n.longitude, 180), (n.latitude, 90)):
        result = _accepts(normalizer, value)
        assert result is None or (isinstance(result, Decimal) and -limit <= result <= limit)


@given(value=scalars | st.from_regex(r"\s*\d{1,6}(\.\d{1,3})?\s*[KMGTkmgt]?[Bb]?\s*", fullmatch=True))
@example("3.66 GB")
@example("2048MB")
def test_storage_size_keeps_the_text_and_non_negative_bytes(value):
    result = _accepts(n.storage_size, value)
    if result is not None:
        assert result.text == (str(value) if isinstance(value, int) else value)
        assert result.bytes is None or 0 <= result.bytes < 2**53


@given(value=scalars)
def test_bounded_numbers_stay_in_their_bounds(value):
    battery = _accepts(n.battery_percent, value)
    count = _accepts(n.non_negative_count, value)
    amount = _accepts(n.loan_amount_fen, value)
    assert battery is None or 0 <= battery <= 100
    assert count is None or 0 <= count <= 2**31 - 1
    assert amount is None or 1 <= amount <= n.MAX_LOAN_AMOUNT_FEN


@given(value=scalars)
def test_categorical_outputs_are_members_of_their_choices(value):
    tri = _accepts(n.tri_state, value)
    os_type = _accepts(n.os_type, value)
    relation = _accepts(n.relation, value)
    assert tri in (True, False, None)
    assert os_type is None or os_type.kind in OsKind.values
    assert relation is None or relation.category in RelationCategory.values


@given(value=scalars)
def test_order_no_and_areas_shapes(value):
    order_no = _accepts(n.order_no, value)
    areas = _accepts(n.areas, value)
    assert order_no is None or (1 <= len(order_no) <= 64 and not any(char.isspace() for char in order_no))
    assert areas is None or all(part and part == part.strip() for part in areas)


@given(value=scalars)
def test_ip_address_output_parses_back_to_itself(value):
    result = _accepts(n.ip_address, value)
    assert result is None or n.ip_address(result) == result


@given(name=st.text(max_size=20), number=mobiles, as_object=st.booleans())
def test_address_book_entries_split_on_the_last_underscore(name, number, as_object):
    entry = n.address_book_entry({"name": name, "phone": number} if as_object else f"{name}_{number}")
    assert (entry.name, entry.phone, entry.phone_digits, entry.is_mobile) == (name, number, number, True)
