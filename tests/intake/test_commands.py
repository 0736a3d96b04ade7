"""Management commands of the intake: create_institution and demo_setup."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from config import crypto
from orders.models import Institution
from tests.factories import PushPayloadFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_institution_prints_exactly_the_two_credentials():
    output = run("create_institution", "acme", "--name", "Acme Lending")

    lines = output.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["api_token", "channel_key"]
    token, key = (line.split("=", 1)[1] for line in lines)
    token_id, secret = token.split(".")
    assert len(secret) >= 43  # 32 random bytes, base64
    assert re.fullmatch(r"[0-9a-f]{48}", key)  # 192 bits
    institution = Institution.objects.get(code="acme")
    assert institution.name == "Acme Lending"
    assert institution.api_token_id == token_id
    assert institution.channel_key == key


def test_create_institution_stores_neither_secret_in_clear():
    output = run("create_institution", "acme", "--name", "Acme")
    token = output.splitlines()[0].split("=", 1)[1]
    key = output.splitlines()[1].split("=", 1)[1]

    institution = Institution.objects.get(code="acme")
    stored = " ".join(str(value) for value in Institution.objects.filter(pk=institution.pk).values().get().values())
    assert token.split(".")[1] not in stored
    assert key not in stored
    assert crypto.token_matches(token.split(".")[1], institution.api_token_hash)


def test_issued_token_pushes(api_client):
    token = run("create_institution", "acme", "--name", "Acme").splitlines()[0].split("=", 1)[1]

    response = api_client.post(
        "/api/v1/user-additional/",
        data=PushPayloadFactory(),
        format="json",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 201


@pytest.mark.parametrize("code", ["acme", "not a code", ""])
def test_create_institution_refuses_bad_or_taken_codes(code):
    run("create_institution", "acme", "--name", "Acme")

    with pytest.raises(CommandError):
        run("create_institution", code, "--name", "Again")


def test_demo_setup_prints_credentials_and_a_working_curl_line(settings, api_client):
    settings.DEBUG = True

    first = run("demo_setup")
    second = run("demo_setup", "--port", "8014")

    assert "username=admin" in first
    assert "curl -sS -X POST http://127.0.0.1:8000/api/v1/user-additional/" in first
    assert "curl -sS -X POST http://127.0.0.1:8014/api/v1/user-additional/" in second
    token = re.search(r"api_token=(\S+)", second).group(1)
    assert token != re.search(r"api_token=(\S+)", first).group(1)  # secrets are never shown twice
    # the file the curl line sends is the repository's own sample, and it is accepted
    sample = Path(re.search(r"--data-binary @(\S+)", second).group(1))
    assert sample == Path(settings.BASE_DIR, "docs", "samples", "push-ios-office-worker.json").resolve()
    response = api_client.post(
        "/api/v1/user-additional/",
        data=sample.read_bytes(),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.json()
    assert api_client.login(username="admin", password=re.search(r"password=(\S+)", second).group(1))


def test_demo_setup_refuses_outside_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError):
        run("demo_setup")
