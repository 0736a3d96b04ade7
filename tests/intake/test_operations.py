"""Operations endpoints (health, schema, docs) and JSON errors outside the push view."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_with_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_without_the_database(client, monkeypatch):
    from django.db import OperationalError, connection

    def unreachable(*args, **kwargs):
        raise OperationalError("could not connect")

    monkeypatch.setattr(connection, "cursor", unreachable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_schema_documents_the_push_with_the_sample_example(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/user-additional/"]["post"]
    assert set(operation["responses"]) >= {"200", "201", "400", "401", "403", "409", "413", "415", "503"}
    example = operation["requestBody"]["content"]["application/json"]["examples"]
    assert any(item["value"]["orderInfo"]["orderNo"] == "HX20240315000107" for item in example.values())
    assert "institutionToken" in schema["components"]["securitySchemes"]


def test_interactive_docs_are_served(client):
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/nothing/", "/channel/nothing", "/nothing"])
def test_unknown_url_is_a_json_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
    }
