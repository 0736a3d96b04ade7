"""Structured logs: JSON lines with a request id, and no personal data in them."""

import copy
import json
import logging

import pytest

from config.logging import JsonFormatter, redact
from tests.factories import sample


def _identifying_values(payload: dict) -> set[str]:
    """Every phone number, name and device identifier in a push."""
    info, extra = payload["orderInfo"], payload["userAdditional"]
    contact, device = extra["contactInfo"], extra["deviceInfo"]
    values = {info["userPhone"], contact["mobile"], contact["mobileSpare"], contact["name"], contact["nameSpare"]}
    values |= {device[key] for key in ("deviceId", "idfa", "idfv", "imei", "androidId", "mac") if device.get(key)}
    for item in extra["addressBook"]["phoneList"]:
        name, _, phone = item.rpartition("_") if isinstance(item, str) else (item.get("name"), "", item.get("phone"))
        values |= {value for value in (name, phone) if value and len(value) >= 2}
    return values


@pytest.fixture
def json_logs(caplog):
    caplog.set_level(logging.DEBUG)
    formatter = JsonFormatter()
    return lambda: [formatter.format(record) for record in caplog.records]


@pytest.mark.django_db
def test_the_logs_of_pushes_carry_no_personal_data(push, json_logs):
    # given: the sample, accepted, retried, conflicting and invalid
    payload = sample()
    conflicting = copy.deepcopy(payload)
    conflicting["orderInfo"]["loan_amount"] = "1"
    invalid = copy.deepcopy(payload)
    invalid["orderInfo"]["userPhone"] = payload["userAdditional"]["contactInfo"]["mobile"] + "9"

    # when
    statuses = [push(document).status_code for document in (payload, payload, conflicting, invalid)]
    lines = json_logs()

    # then
    assert statuses == [201, 200, 409, 400]
    text = "\n".join(lines)
    values = _identifying_values(payload)
    assert len(values) >= 8  # the grep has something to find
    leaked = sorted(value for value in values if value in text)
    assert leaked == []
    access = [json.loads(line) for line in lines if json.loads(line)["logger"] == "access"]
    assert [entry["status"] for entry in access] == statuses
    assert len({entry["institution"] for entry in access}) == 1


@pytest.mark.django_db
def test_a_line_has_the_request_fields_and_the_id_comes_back_as_a_header(push, institution, json_logs):
    # when
    response = push(sample(), **{"X-Request-ID": "lender-42.retry:1"})

    # then
    assert response["X-Request-ID"] == "lender-42.retry:1"
    entry = json.loads(json_logs()[-1])
    assert entry["logger"] == "access"
    assert {"time", "level", "message", "method", "path", "status", "duration_ms"} <= entry.keys()
    assert (entry["request_id"], entry["method"], entry["path"]) == (
        "lender-42.retry:1",
        "POST",
        "/api/v1/user-additional/",
    )
    assert (entry["status"], entry["institution"]) == (201, institution.code)


@pytest.mark.django_db
@pytest.mark.parametrize("offered", ["", "has spaces", "x" * 65, "<script>", "a\nb"])
def test_an_insane_request_id_is_replaced(client, offered):
    # when
    response = client.get("/healthz", headers={"X-Request-ID": offered} if offered else {})

    # then
    assert response["X-Request-ID"] != offered
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_the_query_string_is_not_logged(client, json_logs):
    # when
    client.get("/healthz?user_phone=13912345678")

    # then
    assert "13912345678" not in "\n".join(json_logs())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 13912345678 now", "call [phone] now"),
        ("+86 139-1234-5678", "[phone]"),
        ("device 0f8fad5b-d9cb-469f-a165-70867728950e", "device [id]"),
        ("imei 861234567890123", "imei [id]"),
        ("order YB2024 amount 500000", "order YB2024 amount 500000"),
    ],
)
def test_the_formatter_masks_numbers_that_slip_into_messages(text, expected):
    assert redact(text) == expected
