"""Hostile-input fuzz of push bodies (hypothesis), both doors: never a 5xx, and a refusal writes only its log row.

Each example takes a valid push and breaks it at a random path (a hostile value,
a value JSON does not allow written raw, a repeated key, a deleted key, a flood
of unknown keys), or sends bytes that are no push at all. Examples are bounded
so that the whole module stays well under a minute.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import PushLog
from tests.conftest import PUSH_URL
from tests.factories import PushPayloadFactory
from tests.intake.test_channel import NAMED_URL, encode, envelope, stored_counts

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
MARK = "@@RAW@@"

# Literals Python's decoder reads but JSON does not define, numbers past every limit, and repeated keys.
RAW_LITERALS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e999",
    "9" * 5000,
    "-" + "1" * 4400,
    '"a", "x": "b"',  # closes the value and repeats no key, unless "x" is the key itself
    "1e-400",
    "[NaN, {}]",
]
HOSTILE_STRINGS = [
    "",
    "-1",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff\ud800",
    "9" * 5000,
    "1" * 13,
    "fe80::1%eth0",
    "::ffff:1.2.3.4",
    "1e400",
    "NaN",
    "%",
    "100%",
    "1" * 30 + "%",
    "省,市,区",
    "省," * 100,
    "\u202e",
    "𝟙𝟚𝟛",
    "١٢٣",
    "x" * 70_000,
    # one past the common column lengths: a database error unless the field's own maximum says 400 first
    *("x" * length for length in (17, 33, 65, 129, 257, 513)),
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**90),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=20),
    st.sampled_from(HOSTILE_STRINGS),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)


def paths(node, prefix=()):
    """Every path of the document: sections, leaves and address-book items."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:2]):
            yield from paths(value, (*prefix, index))


TEMPLATE = PushPayloadFactory.build(userAdditional__addressBook__size=2)
ALL_PATHS = [path for path in paths(TEMPLATE) if path]


@st.composite
def broken_pushes(draw) -> str:
    """A valid push's JSON text, broken at one or two paths."""
    payload = json.loads(json.dumps(PushPayloadFactory(userAdditional__addressBook__size=2)))
    raw = None
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = payload
        try:
            for key in path[:-1]:
                parent = parent[key]
            leaf = path[-1]
            parent[leaf]
        except (KeyError, IndexError, TypeError):
            continue
        operation = draw(st.sampled_from(["value", "raw", "delete", "unknown", "flood"]))
        if operation == "value":
            parent[leaf] = draw(json_values)
        elif operation == "raw" and raw is None:
            raw = draw(st.sampled_from(RAW_LITERALS))
            parent[leaf] = MARK
        elif operation == "delete":
            del parent[leaf]
        elif operation == "unknown" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(json_values)
        elif operation == "flood" and isinstance(parent, dict):
            parent.update({f"unknown{index}": index for index in range(draw(st.sampled_from([199, 250])))})
    text = json.dumps(payload, ensure_ascii=draw(st.booleans()))
    if not text.isascii() and any("\ud800" <= char <= "\udfff" for char in text):
        text = json.dumps(payload)  # lone surrogates travel as escapes; raw invalid UTF-8 is fuzzed below
    if raw is not None:
        text = text.replace(json.dumps(MARK), raw, 1)
    return text


def stored_state() -> tuple[dict, int]:
    return stored_counts(), PushLog.objects.count()


@pytest.fixture
def fuzz_settings(settings):
    settings.PUSH_RATE_LIMIT_PER_MINUTE = 10**6
    settings.PUSH_REFUSALS_PER_MINUTE = 10**6
    settings.PUSH_MAX_BODY_BYTES = 64 * 1024


def _rest(client, institution, body: bytes):
    response = client.post(
        PUSH_URL,
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {institution.api_token}"},
    )
    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"] == "application/json"
    return response.status_code in (200, 201)


def _channel(client, body: bytes, content_type: str):
    response = client.generic("POST", NAMED_URL, data=body, content_type=content_type)
    assert response.status_code == 200, response.content[:500]
    return response.json()["status"] == 1


def _channel_answer(client, body: bytes, content_type: str) -> tuple[bool, bool]:
    """(accepted, refused after authentication): a refusal before it (an envelope over the size limit)
    is logged once per address and minute, so it may add no row."""
    response = client.generic("POST", NAMED_URL, data=body, content_type=content_type)
    assert response.status_code == 200, response.content[:500]
    answer = response.json()
    codes = {error["code"] for error in answer["response"].get("errors", [])}
    return answer["status"] == 1, "payload_too_large" not in codes


def assert_refusal_wrote_only_its_log_row(before, accepted: bool, *, own_row: bool = True) -> None:
    counts, logs = stored_state()
    if accepted:
        assert logs == before[1] + 1
        return
    assert counts == before[0], "a refused push wrote rows"
    assert logs - before[1] == 1 if own_row else logs - before[1] in (0, 1)


@FUZZ
@given(text=broken_pushes())
def test_rest_door_fuzz(client, institution, fuzz_settings, text):
    before = stored_state()

    accepted = _rest(client, institution, text.encode("utf-8"))

    assert_refusal_wrote_only_its_log_row(before, accepted)


@FUZZ
@given(text=broken_pushes(), encoding=st.sampled_from(["json", "form"]))
def test_channel_door_fuzz(client, institution, fuzz_settings, text, encoding):
    before = stored_state()
    body, content_type = encode(envelope(institution, text), encoding)

    accepted, own_row = _channel_answer(client, body, content_type)

    assert_refusal_wrote_only_its_log_row(before, accepted, own_row=own_row)


envelope_fields = st.dictionaries(
    st.sampled_from(["ua", "args", "sign", "timeStamp", "call", "other"]), json_values | st.text(max_size=30)
)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
        envelope_fields.map(lambda fields: json.dumps(fields).encode()),
        st.lists(st.tuples(st.text(max_size=8), st.text(max_size=20)), max_size=70).map(
            lambda pairs: "&".join(f"{key}={value}" for key, value in pairs).encode("utf-8", "surrogatepass")
        ),
    ),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "application/json; charset=gbk", "text/plain", ""]
    ),
)
def test_bytes_that_are_no_push_fuzz(client, institution, fuzz_settings, body, content_type):
    before = stored_state()

    rest = _rest(client, institution, body) if content_type.startswith("application/json") else False
    channel = _channel(client, body, content_type)

    # Refusals before authentication are logged at most once per address and minute.
    assert not rest
    assert not channel
    assert stored_counts() == before[0]
    assert PushLog.objects.count() <= before[1] + 2
