"""What an integrator reads when a push is refused: the scheme to use, the encoding to send, one language."""

import json
import re

import pytest

from tests.conftest import PUSH_URL
from tests.factories import PushPayloadFactory
from tests.intake.test_channel import NAMED_URL, encode, envelope

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def broken_payload() -> dict:
    payload = PushPayloadFactory()
    payload["orderInfo"]["loan_amount"] = "12.5"
    payload["orderInfo"]["userPhone"] = "12345"
    payload["userAdditional"]["deviceInfo"]["bettary"] = "200%"
    payload["userAdditional"]["deviceInfo"]["ip"] = "not-an-ip"
    payload["userAdditional"]["deviceInfo"]["gpsLatitude"] = "north"
    del payload["userAdditional"]["deviceInfo"]["osType"]
    payload["userAdditional"]["contactInfo"]["mobile"] = ""
    payload["userAdditional"]["addressBook"]["phoneList"].append(42)
    return payload


def assert_all_chinese(errors: list[dict]) -> None:
    assert len(errors) >= 8
    for error in errors:
        assert CJK.search(error["detail"]), error


def test_rest_errors_are_all_in_chinese_for_a_chinese_client(client, institution):
    response = client.post(
        PUSH_URL,
        data=json.dumps(broken_payload()),
        content_type="application/json",
        headers={"Authorization": f"Bearer {institution.api_token}", "Accept-Language": "zh-CN"},
    )

    assert response.status_code == 400
    assert_all_chinese(response.json()["errors"])


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_channel_errors_are_all_in_chinese_for_a_chinese_client(client, institution, encoding):
    body, content_type = encode(envelope(institution, broken_payload()), encoding)

    response = client.post(NAMED_URL, data=body, content_type=content_type, headers={"Accept-Language": "zh-CN"})

    answer = response.json()
    assert answer["status"] == 0
    assert_all_chinese(answer["response"]["errors"])
    assert CJK.search(answer["message"])


@pytest.mark.parametrize(
    ("door", "body"),
    [
        ("rest", b"{"),
        ("rest", b'{"a": NaN}'),
        ("channel", b'{"ua": "x", "ua": "y"}'),
        ("channel", b"ua=x"),
    ],
)
def test_envelope_and_parse_errors_are_in_chinese_too(client, institution, door, body):
    headers = {"Accept-Language": "zh-CN"}
    if door == "rest":
        headers["Authorization"] = f"Bearer {institution.api_token}"
        response = client.post(PUSH_URL, data=body, content_type="application/json", headers=headers)
        errors = response.json()["errors"]
    else:
        content_type = "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
        response = client.post(NAMED_URL, data=body, content_type=content_type, headers=headers)
        errors = response.json()["response"]["errors"]

    assert all(CJK.search(error["detail"]) for error in errors), errors


@pytest.mark.parametrize("door", ["rest", "channel"])
def test_a_gbk_body_is_told_to_send_utf8(client, institution, door):
    # given a client that declares GBK
    if door == "rest":
        response = client.generic(
            "POST",
            PUSH_URL,
            data=json.dumps(PushPayloadFactory(), ensure_ascii=False).encode("gbk", "replace"),
            content_type="application/json; charset=gbk",
            headers={"Authorization": f"Bearer {institution.api_token}"},
        )
        assert response.status_code == 415
        detail = response.json()["errors"][0]["detail"]
    else:
        body, _ = encode(envelope(institution, PushPayloadFactory()), "form")
        response = client.generic(
            "POST", NAMED_URL, data=body, content_type="application/x-www-form-urlencoded; charset=gbk"
        )
        detail = response.json()["response"]["errors"][0]["detail"]

    assert "UTF-8" in detail


@pytest.mark.parametrize("authorization", ["Token abc.def", "abc.def"])
def test_a_token_under_another_scheme_is_told_to_use_bearer(client, authorization):
    response = client.post(
        PUSH_URL, data=b"{}", content_type="application/json", headers={"Authorization": authorization}
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Bearer <id>.<secret>" in response.json()["errors"][0]["detail"]


@pytest.mark.parametrize("authorization", ["Token abc.def", "abc.def"])
def test_the_staff_api_names_the_bearer_scheme_too(client, authorization):
    # The staff API shares the bearer authentication of the push door.
    response = client.get("/api/v1/orders/", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert "Bearer <id>.<secret>" in response.json()["errors"][0]["detail"]


def test_another_schemes_header_is_left_to_the_session(admin_client):
    # A proxy's Basic credentials are not a token sent the wrong way: the session still signs the staff in.
    response = admin_client.get("/api/v1/orders/", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert response.status_code == 200
