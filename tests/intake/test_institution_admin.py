"""Institution administration: credentials issued once, rotated and revoked; the push log read-only."""

import re

import pytest
from django.contrib.auth import get_user_model

from orders.models import Institution, PushLog
from tests.conftest import PUSH_URL
from tests.factories import InstitutionFactory, PushPayloadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def shown_token(response) -> str:
    return re.search(r"api_token=(\S+?)(?:\s|<)", response.content.decode()).group(1)


def test_creating_an_institution_shows_its_credentials_once(admin_client, api_client):
    # when an administrator adds an institution
    response = admin_client.post(
        "/admin/orders/institution/add/",
        {"code": "acme", "name": "Acme", "is_active": "on", "rate_limit_per_minute": "120"},
        follow=True,
    )

    # then the page shows a working token, and the institution keeps its settings
    assert response.status_code == 200
    token = shown_token(response)
    institution = Institution.objects.get(code="acme")
    assert institution.rate_limit_per_minute == 120
    assert institution.has_channel_key
    pushed = api_client.post(PUSH_URL, data=PushPayloadFactory(), format="json",
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert pushed.status_code == 201
    # and it is not shown again on the institution's page
    assert token not in admin_client.get(f"/admin/orders/institution/{institution.pk}/change/").content.decode()


def test_rotating_the_api_token_without_overlap_retires_the_old_one(admin_client, api_client):
    institution = InstitutionFactory()
    old_token = institution.api_token

    response = admin_client.post(
        "/admin/orders/institution/",
        {"action": "rotate_api_token", "_selected_action": [institution.pk], "overlap_hours": "0"},
        follow=True,
    )

    new_token = shown_token(response)
    assert new_token != old_token
    for token, expected in ((old_token, 401), (new_token, 201)):
        pushed = api_client.post(PUSH_URL, data=PushPayloadFactory(), format="json",
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert pushed.status_code == expected


def test_revoking_credentials_stops_pushes(admin_client, api_client):
    institution = InstitutionFactory()

    admin_client.post(
        "/admin/orders/institution/", {"action": "revoke_credentials", "_selected_action": [institution.pk]}
    )

    institution.refresh_from_db()
    assert not institution.has_api_token
    assert not institution.has_channel_key
    pushed = api_client.post(PUSH_URL, data=PushPayloadFactory(), format="json",
                             headers={"Authorization": f"Bearer {institution.api_token_id}.x"})  # fmt: skip
    assert pushed.status_code == 401


def test_institution_code_cannot_change_after_creation(admin_client):
    institution = InstitutionFactory(code="acme")

    admin_client.post(
        f"/admin/orders/institution/{institution.pk}/change/", {"code": "other", "name": "Renamed", "is_active": "on"}
    )

    institution.refresh_from_db()
    assert (institution.code, institution.name) == ("acme", "Renamed")


def test_push_log_shows_the_body_and_cannot_be_edited(admin_client, push):
    push(PushPayloadFactory(orderInfo__orderNo="LOGGED-1"))
    log = PushLog.objects.get()

    page = admin_client.get(f"/admin/orders/pushlog/{log.pk}/change/")

    assert page.status_code == 200
    assert "LOGGED-1" in page.content.decode()
    assert admin_client.get("/admin/orders/pushlog/add/").status_code == 403
    assert admin_client.post(f"/admin/orders/pushlog/{log.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PushLog.objects.count() == 1
