"""Fixtures shared by every test module."""

import json

import pytest
from rest_framework.test import APIClient

from tests.factories import InstitutionFactory

PUSH_URL = "/api/v1/user-additional/"


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def institution(db):
    return InstitutionFactory()


@pytest.fixture
def push(api_client, institution):
    """POST a payload (dict, or raw str/bytes) to the REST door as `institution`."""

    def send(payload, *, token: str | None = None, content_type: str = "application/json", **headers):
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload, ensure_ascii=False)
        return api_client.post(
            PUSH_URL,
            data=body,
            content_type=content_type,
            headers={"Authorization": f"Bearer {token or institution.api_token}", **headers},
        )

    return send
