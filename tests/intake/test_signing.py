"""The channel envelope's signature and timestamp window, checked against MD5 written out here."""

import hashlib
from pathlib import Path

import pytest

from intake.signing import channel_sign, channel_sign_matches, timestamp_within_window

# The worked example of docs/integration.md: the same numbers are printed there.
DOC_UA = "demolender"
DOC_KEY = "8c1f4e2a9b7d6c5e3f0a1b2c3d4e5f60718293a4b5c6d7e8"
DOC_ARGS = '{"orderInfo":{"orderNo":"DEMO0001","loan_amount":"500000","userPhone":"13912345678"}}'
DOC_CALL = "Order.pushUserAdditionalInfo"
DOC_SIGN = "663237ac8ee6e8b69a43a7ea66ac83f2"
DOC_SIGN_WITH_CALL = "4dd59eca0acbf2b184e1c67361ed7541"
INTEGRATION_DOC = Path(__file__).resolve().parents[2] / "docs" / "integration.md"


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def test_worked_example_of_the_docs_without_call():
    # given
    sign_key = DOC_UA + DOC_KEY + DOC_UA
    # when
    sign = channel_sign(ua=DOC_UA, key=DOC_KEY, args=DOC_ARGS)
    # then
    assert sign == DOC_SIGN == md5_hex(sign_key + DOC_ARGS + sign_key)


def test_worked_example_of_the_docs_with_call():
    # given
    sign_key = DOC_UA + DOC_KEY + DOC_UA
    # when
    sign = channel_sign(ua=DOC_UA, key=DOC_KEY, args=DOC_ARGS, call=DOC_CALL)
    # then
    assert sign == DOC_SIGN_WITH_CALL == md5_hex(sign_key + DOC_CALL + sign_key + DOC_ARGS + sign_key)


@pytest.mark.parametrize("value", [DOC_UA, DOC_KEY, DOC_ARGS, DOC_SIGN, DOC_SIGN_WITH_CALL])
def test_the_docs_print_the_tested_numbers(value):
    # given
    text = INTEGRATION_DOC.read_text("utf-8")
    # then
    assert value in text


def test_non_ascii_args_are_signed_as_utf8():
    # given
    ua, key, args = "lender-cn", "k" * 48, '{"contactInfo":{"name":"张建国","relation":"父母"}}'
    sign_key = ua + key + ua
    expected = hashlib.md5((sign_key + args + sign_key).encode("utf-8")).hexdigest()
    # when
    sign = channel_sign(ua=ua, key=key, args=args)
    # then
    assert sign == expected
    assert sign != hashlib.md5((sign_key + args + sign_key).encode("gb18030")).hexdigest()


@pytest.mark.parametrize("call", [None, DOC_CALL])
@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_matching_sign_is_accepted_in_either_case(call, case):
    # given
    sign_key = DOC_UA + DOC_KEY + DOC_UA
    signed = md5_hex(sign_key + (DOC_CALL + sign_key if call else "") + DOC_ARGS + sign_key)
    # when
    matches = channel_sign_matches(ua=DOC_UA, key=DOC_KEY, args=DOC_ARGS, sign=case(signed), call=call)
    # then
    assert matches


@pytest.mark.parametrize(
    ("changed", "sign"),
    [
        ("another key", {"key": DOC_KEY[:-1] + "9"}),
        ("another ua", {"ua": "otherlender"}),
        ("args re-serialised with spaces", {"args": DOC_ARGS.replace(":", ": ")}),
        ("call signed but not sent", {"call": None, "sign": DOC_SIGN_WITH_CALL}),
        ("call sent but not signed", {"call": DOC_CALL, "sign": DOC_SIGN}),
        ("truncated sign", {"sign": DOC_SIGN[:-1]}),
        ("empty sign", {"sign": ""}),
        ("non-ASCII sign", {"sign": "签名" * 16}),
        ("sha256 instead of md5", {"sign": hashlib.sha256(DOC_ARGS.encode()).hexdigest()}),
    ],
)
def test_anything_else_does_not_match(changed, sign):
    # given
    arguments = {"ua": DOC_UA, "key": DOC_KEY, "args": DOC_ARGS, "call": None, "sign": DOC_SIGN} | sign
    # when
    matches = channel_sign_matches(**arguments)
    # then
    assert not matches, changed


@pytest.mark.parametrize(
    ("timestamp", "within"),
    [
        (1_700_000_000, True),
        (1_700_000_000 - 600, True),
        (1_700_000_000 + 600, True),
        (1_700_000_000 - 601, False),
        (1_700_000_000 + 601, False),
        (1_700_000_000_000, False),  # milliseconds, not seconds
        (0, False),
    ],
)
def test_timestamp_window_counts_both_directions(timestamp, within):
    # when
    result = timestamp_within_window(timestamp=timestamp, now=1_700_000_000.0, window_seconds=600)
    # then
    assert result is within
