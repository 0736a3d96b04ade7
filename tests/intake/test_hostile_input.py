"""Hostile push bodies on both doors: values JSON does not allow, repeated keys, unknown-key floods, chunked bodies."""

import io
import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.choices import Door
from orders.models import PushLog, PushOutcome
from tests.conftest import PUSH_URL
from tests.factories import PushPayloadFactory
from tests.intake.test_channel import JSON, NAMED_URL, NOTHING_STORED, encode, envelope, stored_counts

pytestmark = pytest.mark.django_db

DOORS = ["rest", "channel-json", "channel-form"]
MARK = '"@@HOSTILE@@"'


def hostile_text(path: str, literal: str) -> str:
    """A valid push serialised as JSON, with the raw `literal` written at the dotted `path`."""
    payload = PushPayloadFactory(userAdditional__addressBook__size=2)
    *parents, leaf = path.split(".")
    node = payload
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = MARK.strip('"')
    text = json.dumps(payload, ensure_ascii=False)
    assert text.count(MARK) == 1
    return text.replace(MARK, literal)


def send(client, institution, door: str, args: str):
    """Push `args` (the payload's JSON text) through `door`; the error items answered, as the sender reads them."""
    if door == "rest":
        response = client.post(
            PUSH_URL,
            data=args.encode(),
            content_type=JSON,
            headers={"Authorization": f"Bearer {institution.api_token}"},
        )
        assert response.status_code == 400, response.content
        assert response.json()["type"] == "validation_error"
        return response.json()["errors"]
    body, content_type = encode(envelope(institution, args), door.removeprefix("channel-"))
    response = client.post(NAMED_URL, data=body, content_type=content_type)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["status"] == 0, answer
    return answer["response"]["errors"]


def assert_only_the_push_log_row(door: str, errors: list[dict]) -> None:
    assert stored_counts() == NOTHING_STORED
    log = PushLog.objects.get()
    assert (log.outcome, log.errors) == (PushOutcome.REJECTED, errors)
    assert log.http_status == (400 if door == "rest" else 200)


# --- 12.6: NaN, infinities and numbers out of range -----------------------------------------------


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "[1, NaN]"])
@pytest.mark.parametrize(
    "path", ["userAdditional.deviceInfo.bettary", "userAdditional.deviceInfo.sensor", "orderInfo.loan_amount"]
)
def test_nan_and_infinities_are_refused_with_their_path(client, institution, door, literal, path):
    # when
    errors = send(client, institution, door, hostile_text(path, literal))

    # then: named where they stand, as values JSON does not define
    expected_path = f"{path}.1" if literal.startswith("[") else path
    assert [(error["code"], error["attr"]) for error in errors] == [("invalid_json_value", expected_path)]
    assert_only_the_push_log_row(door, errors)


def test_every_refused_value_is_listed(client, institution):
    text = hostile_text("userAdditional.deviceInfo.extra", '{"a": NaN, "b": [Infinity, 1e999], "c": 1.5}')

    errors = send(client, institution, "rest", text)

    assert sorted(error["attr"] for error in errors) == [
        "userAdditional.deviceInfo.extra.a",
        "userAdditional.deviceInfo.extra.b.0",
        "userAdditional.deviceInfo.extra.b.1",
    ]


def test_nan_in_the_channel_envelope_itself_is_refused(client, institution):
    # The envelope's own JSON is read as strictly as the payload.
    fields = envelope(institution, PushPayloadFactory())
    body = json.dumps(fields | {"timeStamp": "@@"}).replace('"@@"', "NaN").encode()

    response = client.post(NAMED_URL, data=body, content_type=JSON)

    answer = response.json()
    assert (response.status_code, answer["status"]) == (200, 0)
    assert [(e["code"], e["attr"]) for e in answer["response"]["errors"]] == [("invalid_json_value", "timeStamp")]
    assert_only_the_push_log_row("channel", answer["response"]["errors"])


# --- 12.7: repeated keys ----------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("orderInfo", "userPhone"),
        ("userAdditional.deviceInfo", "deviceId"),
        ("userAdditional.deviceInfo", "screen"),  # a key the protocol does not define
        ("userAdditional.contactInfo", "mobile"),
    ],
)
def test_a_repeated_key_is_refused_with_its_path(client, institution, door, section, key):
    # given "userPhone": "1379…", "userPhone": "1371…"
    text = hostile_text(f"{section}.{key}", '"13799990000", "' + key + '": "13711110000"')

    # when
    errors = send(client, institution, door, text)

    # then
    assert [(error["code"], error["attr"]) for error in errors] == [("duplicate_key", f"{section}.{key}")]
    assert_only_the_push_log_row(door, errors)


@pytest.mark.parametrize("field", ["sign", "args", "ua"])
def test_a_repeated_field_of_the_json_envelope_is_refused(client, institution, field):
    # Which copy was signed is anyone's guess: refuse rather than pick one.
    fields = envelope(institution, PushPayloadFactory())
    body = json.dumps(fields, ensure_ascii=False)[:-1] + f", {json.dumps(field)}: {json.dumps(fields[field])}}}"

    response = client.post(NAMED_URL, data=body.encode(), content_type=JSON)

    answer = response.json()
    assert (response.status_code, answer["status"]) == (200, 0)
    assert [(e["code"], e["attr"]) for e in answer["response"]["errors"]] == [("duplicate_key", field)]
    assert_only_the_push_log_row("channel", answer["response"]["errors"])


# --- 12.10: unknown keys are bounded per section ----------------------------------------------


@pytest.mark.parametrize("door", ["rest", "channel-json"])
def test_200000_unknown_device_keys_are_refused_cheaply(client, institution, door):
    # given one push with 200,000 unknown keys in deviceInfo (3 MB, under the body limit)
    payload = PushPayloadFactory()
    device = json.dumps(payload["userAdditional"]["deviceInfo"], ensure_ascii=False)
    flood = "".join(f', "k{index}": 0' for index in range(200_000))
    text = hostile_text("userAdditional.deviceInfo", device[:-1] + flood + "}")

    # when
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        errors = send(client, institution, door, text)
        elapsed = time.perf_counter() - started

    # then: the section is named, and nothing but the look-up of the sender and its log row was written
    assert [(error["code"], error["attr"]) for error in errors] == [
        ("too_many_unknown_keys", "userAdditional.deviceInfo")
    ]
    assert_only_the_push_log_row(door, errors)
    assert not any(query["sql"].lower().startswith('insert into "orders_') for query in queries)
    print(f"200,000 unknown keys refused in {elapsed * 1000:.0f} ms ({len(text) / 1e6:.1f} MB)")


@pytest.mark.parametrize(
    "section", ["", "orderInfo", "userAdditional", "userAdditional.contactInfo", "userAdditional.deviceInfo.extra"]
)
def test_every_section_is_bounded(client, institution, settings, section):
    settings.PUSH_MAX_UNKNOWN_KEYS = 5
    payload = PushPayloadFactory()
    node = payload
    for key in filter(None, section.split(".")):
        node = node.setdefault(key, {})
    node.update({f"unknown{index}": index for index in range(6)})

    errors = send(client, institution, "rest", json.dumps(payload))

    assert [(error["code"], error["attr"]) for error in errors] == [("too_many_unknown_keys", section or None)]


def test_unknown_keys_up_to_the_limit_are_accepted(client, institution, settings, push):
    settings.PUSH_MAX_UNKNOWN_KEYS = 5
    payload = PushPayloadFactory()
    payload["userAdditional"]["deviceInfo"].update({f"unknown{index}": index for index in range(5)})

    response = push(payload)

    assert response.status_code == 201, response.json()


# --- 12.12: numbers Python will not convert ---------------------------------------------------


@pytest.mark.parametrize("door", ["rest", "channel-form"])
@pytest.mark.parametrize(
    ("path", "literal", "says"),
    [
        ("orderInfo.loan_amount", '"' + "9" * 5000 + '"', "between 1 and"),
        ("orderInfo.loan_amount", "9" * 5000, "digits"),
        ("userAdditional.deviceInfo.bettary", '"' + "1" * 5000 + '"', "0 to 100"),
        ("userAdditional.deviceInfo.picCount", '"' + "1" * 5000 + '"', "too large"),
        ("userAdditional.deviceInfo.lastLoginTime", '"' + "1" * 5000 + '"', "10 digits"),
        ("userAdditional.contactInfo.relation", '"' + "1" * 5000 + '"', "32 characters"),
        ("userAdditional.deviceInfo.sensor", "-" + "7" * 5000, "digits"),
    ],
)
def test_a_5000_digit_number_says_what_the_field_accepts(client, institution, door, path, literal, says):
    errors = send(client, institution, door, hostile_text(path, literal))

    assert [error["attr"] for error in errors] == [path]
    assert says in errors[0]["detail"]
    assert "sys." not in errors[0]["detail"]
    assert "int_max_str_digits" not in errors[0]["detail"]
    assert_only_the_push_log_row(door, errors)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("userAdditional.deviceInfo.osType", "i" * 65),
        ("userAdditional.deviceInfo.ip", "fe80::1%eth0"),
        ("userAdditional.workOfficeInfo.areas", "省" * 65 + ",市,区"),
    ],
)
def test_text_longer_than_its_column_is_a_400_not_a_database_error(client, institution, path, value):
    errors = send(client, institution, "rest", hostile_text(path, json.dumps(value, ensure_ascii=False)))

    assert [error["attr"] for error in errors] == [path]


# --- 12.8: chunked bodies ---------------------------------------------------------------------


def chunked(client, url: str, body: bytes, content_type: str, *, terminated: bool = True, **headers):
    """A request as a WSGI server hands over a chunked body: no CONTENT_LENGTH, the input de-chunked."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": url,
        "CONTENT_TYPE": content_type,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    return client.request(**environ)


def test_a_chunked_push_is_read_and_accepted_on_the_rest_door(client, institution):
    payload = PushPayloadFactory()

    response = chunked(
        client, PUSH_URL, json.dumps(payload).encode(), JSON, Authorization=f"Bearer {institution.api_token}"
    )

    assert response.status_code == 201, response.content
    assert response.json()["orderNo"] == payload["orderInfo"]["orderNo"]


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_a_chunked_push_is_read_and_accepted_on_the_channel_door(client, institution, encoding):
    body, content_type = encode(envelope(institution, PushPayloadFactory()), encoding)

    response = chunked(client, NAMED_URL, body, content_type)

    assert response.json()["status"] == 1, response.json()


@pytest.mark.parametrize("door", ["rest", "channel"])
def test_a_chunked_body_over_the_limit_is_413_and_read_no_further(client, institution, settings, door):
    # given a 6 MiB chunked body against the 5 MiB limit
    settings.PUSH_MAX_BODY_BYTES = 5 * 1024 * 1024
    stream = io.BytesIO(b"{" + b" " * (6 * 1024 * 1024) + b"}")
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PUSH_URL if door == "rest" else NAMED_URL,
        "CONTENT_TYPE": JSON,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_AUTHORIZATION": f"Bearer {institution.api_token}",
        "wsgi.input": stream,
        "wsgi.input_terminated": True,
    }

    # when
    response = client.request(**environ)

    # then: refused as too large, having read at most the limit and one byte
    if door == "rest":
        assert response.status_code == 413
        assert response.json()["errors"][0]["code"] == "payload_too_large"
    else:
        assert (response.status_code, response.json()["status"]) == (200, 0)
        assert response.json()["response"]["errors"][0]["code"] == "payload_too_large"
    assert stream.tell() == settings.PUSH_MAX_BODY_BYTES + 1
    assert stored_counts() == NOTHING_STORED
    assert PushLog.objects.get().body is None


@pytest.mark.parametrize("door", ["rest", "channel"])
def test_a_chunked_body_on_a_server_that_cannot_dechunk_is_411(client, institution, door):
    # Django's runserver hands over the raw socket: reading it would return the chunk framing.
    body = json.dumps(PushPayloadFactory()).encode()

    response = chunked(
        client,
        PUSH_URL if door == "rest" else NAMED_URL,
        body,
        JSON,
        terminated=False,
        Authorization=f"Bearer {institution.api_token}",
    )

    if door == "rest":
        assert response.status_code == 411
        assert "Content-Length" in response.json()["errors"][0]["detail"]
    else:
        assert response.json()["response"]["errors"][0]["code"] == "length_required"
    assert stored_counts() == NOTHING_STORED
    assert PushLog.objects.get().outcome == PushOutcome.REJECTED


def test_channel_refusals_are_logged_as_answered(client, institution):
    # 13.9: the institution received HTTP 200 with status 0, and that is what the push log says.
    fields = envelope(institution, PushPayloadFactory(), sign="0" * 32)
    body, content_type = encode(fields, "form")

    response = client.post(NAMED_URL, data=body, content_type=content_type)

    assert (response.status_code, response.json()["status"]) == (200, 0)
    log = PushLog.objects.get()
    assert (log.door, log.http_status, log.outcome) == (Door.CHANNEL, 200, PushOutcome.UNAUTHORIZED)
