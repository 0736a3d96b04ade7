"""The signed channel door: envelopes, signatures written out with hashlib here, and the shared order space."""

import copy
import hashlib
import json
import time
from urllib.parse import urlencode

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config import crypto
from intake import services
from intake.throttling import rate_limit_consume
from orders.choices import Door
from orders.institutions import institution_revoke_credentials
from orders.models import AddressBookEntry, Contact, Device, Employer, Order, PushLog, PushOutcome
from tests.factories import InstitutionFactory, PushPayloadFactory, sample
from tests.intake.test_signing import DOC_ARGS, DOC_KEY, DOC_SIGN, DOC_SIGN_WITH_CALL, DOC_UA

NAMED_URL = "/channel/pushUserAdditionalInfo"
LEGACY_URL = "/channel/"
CALL = "Order.pushUserAdditionalInfo"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
STORED_MODELS = (Order, Device, Contact, Employer, AddressBookEntry)


def md5_sign(ua: str, key: str, args: str, call: str | None = None) -> str:
    """The contract's formula, written out independently of intake.signing."""
    sign_key = ua + key + ua
    text = sign_key + args + sign_key if call is None else sign_key + call + sign_key + args + sign_key
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def as_args(payload) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)


def envelope(institution, payload, *, call=None, key=None, ua=None, **extra) -> dict:
    """A correctly signed envelope; `extra` fields are added (or override) after signing."""
    ua = ua or institution.code
    args = as_args(payload)
    fields = {"ua": ua, "args": args, "sign": md5_sign(ua, key or institution.channel_key_plain, args, call)}
    if call is not None:
        fields["call"] = call
    return fields | extra


def encode(fields, encoding: str) -> tuple[bytes, str]:
    if encoding == "json":
        return json.dumps(fields, ensure_ascii=False).encode(), JSON
    return urlencode(fields).encode(), FORM


def send(client, fields, *, encoding="json", url=NAMED_URL):
    body, content_type = encode(fields, encoding)
    return client.post(url, data=body, content_type=content_type)


def stored_counts() -> dict:
    return {model.__name__: model.objects.count() for model in STORED_MODELS}


NOTHING_STORED = {model.__name__: 0 for model in STORED_MODELS}


# --- Acceptance -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["json", "form"])
@pytest.mark.parametrize(("url", "call"), [(NAMED_URL, None), (LEGACY_URL, CALL), (NAMED_URL, CALL)])
def test_signed_push_is_accepted(client, institution, encoding, url, call):
    # given
    payload = PushPayloadFactory()
    body, content_type = encode(envelope(institution, payload, call=call), encoding)
    # when
    response = client.post(url, data=body, content_type=content_type)
    # then
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == 1, answer
    assert answer["message"] == "success"
    assert answer["response"]["orderNo"] == payload["orderInfo"]["orderNo"]
    assert answer["response"]["status"] == "accepted"
    order = Order.objects.get()
    assert (order.institution, order.door, order.order_no) == (
        institution,
        Door.CHANNEL,
        payload["orderInfo"]["orderNo"],
    )
    log = PushLog.objects.get()
    assert (log.door, log.outcome, log.http_status, log.institution) == (
        Door.CHANNEL,
        PushOutcome.ACCEPTED,
        200,  # what the institution received (status 1 in the body)
        institution,
    )
    assert bytes(log.body) == body  # the envelope as received, sign included


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/channel/pushUserAdditionalInfo/", "/channel"])
def test_either_spelling_of_the_url_is_served(client, institution, url):
    # given
    call = CALL if url == "/channel" else None
    # when
    response = send(client, envelope(institution, PushPayloadFactory(), call=call), url=url)
    # then
    assert response.json()["status"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("call", [None, CALL])
def test_uppercase_sign_is_accepted(client, institution, call):
    # given
    fields = envelope(institution, PushPayloadFactory(), call=call)
    fields["sign"] = fields["sign"].upper()
    # when
    response = send(client, fields, url=LEGACY_URL if call else NAMED_URL)
    # then
    assert response.json()["status"] == 1
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_signature_covers_args_exactly_as_sent(client, institution):
    # given: args with unusual spacing, key order and a plus sign, signed as they stand
    user_additional = json.dumps(PushPayloadFactory()["userAdditional"], ensure_ascii=False)
    args = '{ "userAdditional" : ' + user_additional + ' ,"orderInfo":{"userPhone":"+8613912345678","orderNo":"A+B",'
    args += '"loan_amount":1}}'
    # when
    response = send(client, envelope(institution, args), encoding="form")
    # then
    assert response.json()["status"] == 1, response.json()
    assert Order.objects.get().order_no == "A+B"


@pytest.mark.django_db
def test_csrf_is_not_required(institution):
    # given
    client = Client(enforce_csrf_checks=True)
    # when
    response = send(client, envelope(institution, PushPayloadFactory()))
    # then
    assert response.json()["status"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
@pytest.mark.parametrize("url", [NAMED_URL, LEGACY_URL])
def test_only_post_is_allowed(client, method, url):
    # when
    response = getattr(client, method)(url)
    # then
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == JSON
    assert response.json()["status"] == 0
    assert response.json()["response"]["errors"][0]["code"] == "method_not_allowed"
    assert PushLog.objects.count() == 0


# --- Idempotency across doors -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["json", "form"])
def test_identical_channel_retry_is_a_duplicate(client, institution, encoding):
    # given
    fields = envelope(institution, PushPayloadFactory())
    send(client, fields, encoding=encoding)
    # when
    response = send(client, fields, encoding=encoding)
    # then
    answer = response.json()
    assert (answer["status"], answer["message"], answer["response"]["status"]) == (1, "success", "duplicate")
    assert Order.objects.count() == 1
    assert list(PushLog.objects.order_by("id").values_list("outcome", flat=True)) == ["accepted", "duplicate"]


@pytest.mark.django_db
def test_rest_retry_of_a_channel_push_is_a_duplicate(client, institution, push):
    # given
    payload = PushPayloadFactory()
    send(client, envelope(institution, payload))
    # when: the same JSON value, serialised differently
    response = push(json.dumps(payload, indent=2, sort_keys=True))
    # then
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "duplicate"
    assert Order.objects.get().door == Door.CHANNEL


@pytest.mark.django_db
@pytest.mark.parametrize("url", [NAMED_URL, LEGACY_URL])
def test_channel_retry_of_a_rest_push_is_a_duplicate(client, institution, push, url):
    # given
    payload = PushPayloadFactory()
    assert push(payload).status_code == 201
    # when
    response = send(client, envelope(institution, payload, call=CALL if url == LEGACY_URL else None), url=url)
    # then
    answer = response.json()
    assert (answer["status"], answer["response"]["status"]) == (1, "duplicate")
    assert Order.objects.get().door == Door.REST


@pytest.mark.django_db
@pytest.mark.parametrize("first_door", ["rest", "channel"])
def test_same_order_no_with_other_content_conflicts_across_doors(client, institution, push, first_door):
    # given
    payload = PushPayloadFactory()
    changed = copy.deepcopy(payload)
    changed["orderInfo"]["loan_amount"] = "600000"
    if first_door == "rest":
        assert push(payload).status_code == 201
    else:
        assert send(client, envelope(institution, payload)).json()["status"] == 1
    # when
    channel_answer = send(client, envelope(institution, changed)).json() if first_door == "rest" else None
    rest_response = push(changed) if first_door == "channel" else None
    # then
    if channel_answer is not None:
        assert channel_answer["status"] == 0
        assert channel_answer["response"]["errors"] == [
            {
                "code": "order_conflict",
                "detail": "This orderNo was already pushed with different content; the stored order is unchanged.",
                "attr": "orderInfo.orderNo",
            }
        ]
        assert channel_answer["message"].startswith("orderInfo.orderNo: This orderNo was already pushed")
    else:
        assert rest_response.status_code == 409
        assert rest_response.json()["errors"][0]["code"] == "order_conflict"
    assert Order.objects.get().loan_amount_fen == 500000
    assert PushLog.objects.order_by("-id").first().outcome == PushOutcome.CONFLICT


@pytest.mark.django_db
def test_sample_round_trip_stores_the_same_order_as_rest(client, push, institution):
    # given
    document = sample("push-ios-office-worker.json")
    other = InstitutionFactory()
    assert push(document).status_code == 201
    rest_order = Order.objects.get(institution=institution)
    # when
    response = send(client, envelope(other, document), encoding="form")
    # then
    assert response.json()["status"] == 1, response.json()
    channel_order = Order.objects.get(institution=other)
    assert channel_order.door == Door.CHANNEL
    assert rest_order.door == Door.REST
    assert stored_rows(channel_order) == stored_rows(rest_order)
    assert stored_rows(rest_order)["AddressBookEntry"]  # the comparison is not of two empty lists


def stored_rows(order: Order) -> dict:
    """Everything a push wrote for `order`, without the keys that differ by construction."""
    ignored = {"id", "order_id"}

    def rows(model, *ordering):
        return [
            {key: value for key, value in row.items() if key not in ignored}
            for row in model.objects.filter(order=order).order_by(*ordering).values()
        ]

    head = {
        field: getattr(order, field)
        for field in ("order_no", "loan_amount_fen", "user_phone", "payload_sha256", "address_book_count")
    }
    return {
        "Order": head,
        "Device": rows(Device),
        "Contact": rows(Contact, "priority"),
        "Employer": rows(Employer),
        "AddressBookEntry": rows(AddressBookEntry, "id"),
    }


@pytest.mark.django_db
def test_invalid_payload_gets_the_same_error_items_as_rest(client, institution, push):
    # given
    payload = PushPayloadFactory()
    payload["orderInfo"]["userPhone"] = "12345"
    del payload["userAdditional"]["contactInfo"]
    payload["userAdditional"]["deviceInfo"]["bettary"] = "101"
    rest_errors = push(payload).json()["errors"]
    # when
    answer = send(client, envelope(institution, payload)).json()
    # then
    assert answer["status"] == 0
    assert answer["message"] == "3 problems; see response.errors."
    assert answer["response"] == {"errors": rest_errors}
    assert len(rest_errors) == 3
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_worked_example_of_the_docs_is_verified_by_the_server(client):
    # given: the docs' institution, with the docs' key
    institution = InstitutionFactory(code=DOC_UA)
    institution.channel_key_encrypted = crypto.encrypt(DOC_KEY)
    institution.save()
    named = {"ua": DOC_UA, "args": DOC_ARGS, "sign": DOC_SIGN, "timeStamp": int(time.time())}
    legacy = {"call": CALL, "ua": DOC_UA, "args": DOC_ARGS, "sign": DOC_SIGN_WITH_CALL}
    # when
    answers = [send(client, named).json(), send(client, legacy, encoding="form", url=LEGACY_URL).json()]
    # then: the signature passes; the example's args lack userAdditional, as the docs show
    expected = {
        "status": 0,
        "message": "userAdditional: This field is required.",
        "response": {"errors": [{"code": "required", "detail": "This field is required.", "attr": "userAdditional"}]},
    }
    assert answers == [expected, expected]


# --- Refusals -------------------------------------------------------------------------------------


def _signed(institution, **changes):
    return envelope(institution, PushPayloadFactory(userAdditional__addressBook__size=3), **changes)


def _json(fields, url=NAMED_URL):
    return {"url": url, "data": json.dumps(fields, ensure_ascii=False).encode(), "content_type": JSON}


def _form(fields, url=NAMED_URL):
    return {"url": url, "data": urlencode(fields).encode(), "content_type": FORM}


def _without(field):
    def build(institution, settings):
        fields = _signed(institution)
        del fields[field]
        return _json(fields)

    return build


def _tampered_args(institution, settings):
    fields = _signed(institution)
    fields["args"] = json.dumps(json.loads(fields["args"]), ensure_ascii=False, indent=1)
    return _json(fields)


def _revoked(institution, settings):
    institution_revoke_credentials(institution=institution)
    return _json(_signed(institution))


def _disabled(institution, settings):
    institution.is_active = False
    institution.save()
    return _json(_signed(institution))


def _require_timestamp(institution, settings):
    institution.require_timestamp = True
    institution.save()
    return _form(_signed(institution))


def _stale(seconds):
    def build(institution, settings):
        settings.CHANNEL_TIMESTAMP_WINDOW_SECONDS = 600
        return _json(_signed(institution, timeStamp=int(time.time()) + seconds))

    return build


def _too_large(institution, settings):
    settings.PUSH_MAX_BODY_BYTES = 2048
    return _json(_signed(institution) | {"padding": "x" * 4096})


AUTH_FAILED = ("authentication_failed", "sign", PushOutcome.UNAUTHORIZED, False, False)
MALFORMED = ("parse_error", None, PushOutcome.REJECTED, False, False)

# build(institution, settings) -> client.post kwargs;
# then: error code, attr, push-log outcome, institution logged?, body logged?
REFUSALS = {
    "unknown ua": (lambda i, s: _json(_signed(i, ua="nosuchlender")), *AUTH_FAILED),
    "ua that is no institution code": (lambda i, s: _json(_signed(i, ua="no such/lender")), *AUTH_FAILED),
    "ua with a NUL character": (
        lambda i, s: _json(_signed(i, ua="lender\x00")),
        "null_characters_not_allowed",
        "ua",
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "wrong sign": (lambda i, s: _json(_signed(i, sign="0" * 32)), *AUTH_FAILED),
    "another institution's key": (
        lambda i, s: _json(_signed(i, key=InstitutionFactory().channel_key_plain)),
        *AUTH_FAILED,
    ),
    "args changed after signing": (_tampered_args, *AUTH_FAILED),
    "call sent but not signed": (
        lambda i, s: _form(_signed(i) | {"call": CALL}, url=LEGACY_URL),
        *AUTH_FAILED,
    ),
    "call signed but not sent": (
        lambda i, s: _json({k: v for k, v in _signed(i, call=CALL).items() if k != "call"}),
        *AUTH_FAILED,
    ),
    "revoked channel key": (_revoked, *AUTH_FAILED),
    "disabled institution": (_disabled, "institution_disabled", None, PushOutcome.UNAUTHORIZED, True, False),
    "missing ua": (_without("ua"), "required", "ua", PushOutcome.REJECTED, False, False),
    "missing args": (_without("args"), "required", "args", PushOutcome.REJECTED, False, False),
    "missing sign": (_without("sign"), "required", "sign", PushOutcome.REJECTED, False, False),
    "blank sign": (lambda i, s: _form(_signed(i, sign="")), "blank", "sign", PushOutcome.REJECTED, False, False),
    "args as an object": (
        lambda i, s: _json(_signed(i) | {"args": PushPayloadFactory()}),
        "invalid",
        "args",
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "args with a lone surrogate": (
        lambda i, s: {"url": NAMED_URL, "data": b'{"ua":"x","sign":"y","args":"\\ud800"}', "content_type": JSON},
        "null_characters_not_allowed",
        "args",
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "args that is not JSON": (
        lambda i, s: _form(envelope(i, "orderNo=1&loan_amount=2")),
        "parse_error",
        None,
        PushOutcome.REJECTED,
        True,
        True,
    ),
    "args that is not a valid push": (
        lambda i, s: _json(envelope(i, {"orderInfo": PushPayloadFactory()["orderInfo"]})),
        "required",
        "userAdditional",
        PushOutcome.REJECTED,
        True,
        True,
    ),
    "legacy dispatch without call": (
        lambda i, s: _json(_signed(i), url=LEGACY_URL),
        "required",
        "call",
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "legacy dispatch with an unknown call": (
        lambda i, s: _form(_signed(i, call="Order.queryStatus"), url=LEGACY_URL),
        "unknown_call",
        "call",
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "named route with another call": (
        lambda i, s: _json(_signed(i, call="Order.queryStatus")),
        "unknown_call",
        "call",
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "envelope that is not JSON": (lambda i, s: {"url": NAMED_URL, "data": b"{ua:", "content_type": JSON}, *MALFORMED),
    "envelope that is a JSON list": (lambda i, s: _json([_signed(i)]), *MALFORMED),
    "envelope that is not UTF-8": (
        lambda i, s: {"url": NAMED_URL, "data": '{"ua":"机构"}'.encode("gbk"), "content_type": JSON},
        *MALFORMED,
    ),
    "form field sent twice": (
        lambda i, s: {"url": NAMED_URL, "data": (urlencode(_signed(i)) + "&ua=other").encode(), "content_type": FORM},
        "invalid",
        "ua",
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "unsupported media type": (
        lambda i, s: _json(_signed(i)) | {"content_type": "text/plain"},
        "unsupported_media_type",
        None,
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "unsupported charset": (
        lambda i, s: _form(_signed(i)) | {"content_type": f"{FORM}; charset=gbk"},
        "unsupported_media_type",
        None,
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "timeStamp that is not a number": (
        lambda i, s: _json(_signed(i, timeStamp="2024-01-01 00:00:00")),
        "invalid",
        "timeStamp",
        PushOutcome.REJECTED,
        False,
        False,
    ),
    "timeStamp an hour old": (_stale(-3600), "stale_timestamp", "timeStamp", PushOutcome.REJECTED, True, True),
    "timeStamp an hour ahead": (_stale(3600), "stale_timestamp", "timeStamp", PushOutcome.REJECTED, True, True),
    "timeStamp in milliseconds": (
        lambda i, s: _json(_signed(i, timeStamp=int(time.time() * 1000))),
        "stale_timestamp",
        "timeStamp",
        PushOutcome.REJECTED,
        True,
        True,
    ),
    "timeStamp required but missing": (
        _require_timestamp,
        "required",
        "timeStamp",
        PushOutcome.REJECTED,
        True,
        True,
    ),
    "body over the limit": (_too_large, "payload_too_large", None, PushOutcome.REJECTED, False, False),
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("build", "code", "attr", "outcome", "institution_logged", "body_logged"),
    list(REFUSALS.values()),
    ids=list(REFUSALS),
)
def test_refusal_answers_status_0_and_writes_only_its_push_log_row(
    client, institution, settings, build, code, attr, outcome, institution_logged, body_logged
):
    # given
    request = build(institution, settings)
    # when
    response = client.post(request["url"], data=request["data"], content_type=request["content_type"])
    # then: the protocol's answer
    assert response.status_code == 200
    assert response["Content-Type"] == JSON
    answer = response.json()
    assert answer["status"] == 0
    assert answer["message"]
    errors = answer["response"]["errors"]
    assert {(error["code"], error["attr"]) for error in errors} == {(code, attr)}
    assert all(set(error) == {"code", "detail", "attr"} and error["detail"] for error in errors)
    # then: nothing but the push-log row
    assert stored_counts() == NOTHING_STORED
    log = PushLog.objects.get()
    # what the institution was answered (HTTP 200, status 0), not what the REST door would have said
    assert (log.door, log.outcome, log.http_status) == (Door.CHANNEL, outcome, 200)
    assert log.errors == errors
    assert log.institution == (institution if institution_logged else None)
    assert (bytes(log.body) if log.body is not None else None) == (request["data"] if body_logged else None)


@pytest.mark.django_db
def test_missing_fields_are_all_listed(client):
    # when
    answer = send(client, {"timeStamp": "x"}, encoding="form", url=LEGACY_URL).json()
    # then
    assert answer["message"] == "5 problems; see response.errors."
    assert [(error["code"], error["attr"]) for error in answer["response"]["errors"]] == [
        ("required", "ua"),
        ("required", "args"),
        ("required", "sign"),
        ("invalid", "timeStamp"),
        ("required", "call"),
    ]


@pytest.mark.django_db
def test_disabled_institution_with_a_wrong_sign_is_an_authentication_failure(client, institution):
    # given: the signature is checked first, so a stranger learns nothing about the institution
    institution.is_active = False
    institution.save()
    # when
    answer = send(client, _signed(institution, sign="f" * 32)).json()
    # then
    assert answer["response"]["errors"][0]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_pushes_over_the_rate_limit_are_refused_and_not_stored(client, institution):
    # given: one push a minute, already used
    institution.rate_limit_per_minute = 1
    institution.save()
    assert send(client, _signed(institution)).json()["status"] == 1
    # when
    response = send(client, _signed(institution))
    # then
    assert response.status_code == 200
    assert int(response["Retry-After"]) >= 1
    answer = response.json()
    assert (answer["status"], answer["response"]["errors"][0]["code"]) == (0, "throttled")
    assert Order.objects.count() == 1
    assert PushLog.objects.count() == 1  # a flood does not grow the log


# --- timeStamp ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["json", "form"])
@pytest.mark.parametrize("offset", [-540, 0, 540])
@pytest.mark.parametrize("require_timestamp", [False, True])
def test_timestamp_within_the_window_is_accepted(client, institution, settings, encoding, offset, require_timestamp):
    # given
    settings.CHANNEL_TIMESTAMP_WINDOW_SECONDS = 600
    institution.require_timestamp = require_timestamp
    institution.save()
    timestamp = int(time.time()) + offset
    # when
    response = send(client, _signed(institution, timeStamp=str(timestamp)), encoding=encoding)
    # then
    assert response.json()["status"] == 1, response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("window", [60, 7200])
def test_timestamp_window_is_a_setting(client, institution, settings, window):
    # given: half an hour old
    settings.CHANNEL_TIMESTAMP_WINDOW_SECONDS = window
    # when
    answer = send(client, _signed(institution, timeStamp=int(time.time()) - 1800)).json()
    # then
    assert answer["status"] == (1 if window == 7200 else 0)


@pytest.mark.django_db
@pytest.mark.parametrize("timestamp", [None, ""])
def test_timestamp_is_optional_unless_required(client, institution, timestamp):
    # given
    fields = _signed(institution) | ({"timeStamp": timestamp} if timestamp is not None else {})
    # when
    answer = send(client, fields, encoding="form" if timestamp == "" else "json").json()
    # then
    assert answer["status"] == 1


# --- Failures of the platform --------------------------------------------------------------------


def _refuse_every_query(execute, sql, params, many, context):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")


def _refuse_order_inserts(execute, sql, params, many, context):
    if sql.lstrip().upper().startswith("INSERT") and "orders_order" in sql:
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


@pytest.mark.django_db
@pytest.mark.parametrize("failure", [_refuse_every_query, _refuse_order_inserts], ids=["at lookup", "mid-push"])
def test_database_outage_is_a_503_in_the_protocols_shape(client, institution, failure):
    # given
    fields = _signed(institution)
    # when
    with connection.execute_wrapper(failure):
        response = send(client, fields)
    # then
    assert response.status_code == 503
    assert response["Content-Type"] == JSON
    answer = response.json()
    assert answer["status"] == 0
    assert answer["response"]["errors"][0]["code"] == "database_unavailable"
    assert stored_counts() == NOTHING_STORED
    assert PushLog.objects.count() == 0
    # and a retry once the database is back is accepted
    assert send(client, fields).json()["status"] == 1


@pytest.mark.django_db
def test_unexpected_error_is_a_json_answer_not_a_500(client, institution, monkeypatch):
    # given
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "push_receive", broken)
    # when
    response = send(client, _signed(institution))
    # then
    assert response.status_code == 200
    assert response.json()["status"] == 0
    assert response.json()["response"]["errors"][0]["code"] == "error"
    assert stored_counts() == NOTHING_STORED


# --- Query counts ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_refusal_costs_a_bounded_number_of_queries(client, institution, django_assert_num_queries, monkeypatch):
    # given a rate-limit minute (the current one, fixed) already open for this address
    minute_started = time.time() // 60 * 60
    monkeypatch.setattr("intake.throttling._now", lambda: minute_started + 1)
    fields = _signed(institution, sign="0" * 32)
    send(client, fields)
    # when / then: the institution lookup, the address's refusal counter, and its log row's count
    with django_assert_num_queries(3):
        send(client, fields)
    assert PushLog.objects.get().refusal_count == 2


@pytest.mark.django_db
def test_channel_push_costs_the_same_queries_as_rest(client, institution, push, monkeypatch):
    # given a rate-limit minute already open, so both pushes count alike
    monkeypatch.setattr("intake.throttling._now", lambda: 1_800_000_010.0)
    rate_limit_consume(institution=institution)
    rest_payload, channel_payload = PushPayloadFactory(), PushPayloadFactory()
    # when
    with CaptureQueriesContext(connection) as rest_queries:
        assert push(rest_payload).status_code == 201
    with CaptureQueriesContext(connection) as channel_queries:
        assert send(client, envelope(institution, channel_payload)).json()["status"] == 1
    # then
    assert len(channel_queries) == len(rest_queries)
