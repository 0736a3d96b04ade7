"""The admin's side of the channel door: rotating and revoking the channel key, the door in the push log."""

import hashlib
import json
import re

import pytest
from django.contrib.auth import get_user_model

from orders.models import Institution
from tests.factories import InstitutionFactory, PushPayloadFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/institution/"
CHANNEL_URL = "/channel/pushUserAdditionalInfo"


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def channel_push(client, institution: Institution, key: str, payload: dict) -> dict:
    """POST a signed envelope; the signature is the contract's formula written out."""
    args = json.dumps(payload, ensure_ascii=False)
    sign_key = institution.code + key + institution.code
    sign = hashlib.md5((sign_key + args + sign_key).encode("utf-8")).hexdigest()
    body = json.dumps({"ua": institution.code, "args": args, "sign": sign})
    return client.post(CHANNEL_URL, data=body, content_type="application/json").json()


def test_rotating_the_channel_key_without_overlap_retires_the_old_one(admin_client, client, push):
    # given
    institution = InstitutionFactory()
    old_key = institution.channel_key_plain
    assert channel_push(client, institution, old_key, PushPayloadFactory())["status"] == 1
    # when
    response = admin_client.post(
        CHANGELIST,
        {"action": "rotate_channel_key", "_selected_action": [institution.pk], "overlap_hours": "0"},
        follow=True,
    )
    # then: the new key is shown once, and only the key (the API token is untouched)
    page = response.content.decode()
    new_key = re.search(r"channel_key=([0-9a-f]+)", page).group(1)
    assert new_key != old_key
    assert "api_token=" not in page
    institution.refresh_from_db()
    assert institution.channel_key == new_key
    old_answer = channel_push(client, institution, old_key, PushPayloadFactory())
    assert (old_answer["status"], old_answer["response"]["errors"][0]["code"]) == (0, "authentication_failed")
    assert channel_push(client, institution, new_key, PushPayloadFactory())["status"] == 1
    assert push(PushPayloadFactory()).status_code == 201  # the fixture's institution, by API token


def test_rotating_one_institution_leaves_the_others_alone(admin_client, client):
    # given
    rotated, untouched = InstitutionFactory(), InstitutionFactory()
    # when
    admin_client.post(
        CHANGELIST, {"action": "rotate_channel_key", "_selected_action": [rotated.pk], "overlap_hours": "0"}
    )
    # then
    assert channel_push(client, untouched, untouched.channel_key_plain, PushPayloadFactory())["status"] == 1
    assert channel_push(client, rotated, rotated.channel_key_plain, PushPayloadFactory())["status"] == 0


def test_revoking_credentials_closes_the_channel_door(admin_client, client):
    # given
    institution = InstitutionFactory()
    # when
    admin_client.post(CHANGELIST, {"action": "revoke_credentials", "_selected_action": [institution.pk]})
    # then
    answer = channel_push(client, institution, institution.channel_key_plain, PushPayloadFactory())
    assert (answer["status"], answer["response"]["errors"][0]["code"]) == (0, "authentication_failed")


def test_push_log_shows_and_filters_by_door(admin_client, client, institution, push):
    # given: one push through each door
    push(PushPayloadFactory(orderInfo__orderNo="THROUGH-REST"))
    channel_push(client, institution, institution.channel_key_plain, PushPayloadFactory(orderInfo__orderNo="VIA-CHAN"))
    # when
    everything = admin_client.get("/admin/orders/pushlog/").content.decode()
    channel_only = admin_client.get("/admin/orders/pushlog/?door__exact=channel").content.decode()
    # then
    assert '<td class="field-door">Signed channel</td>' in everything
    assert '<td class="field-door">REST API</td>' in everything
    assert "VIA-CHAN" in channel_only
    assert "THROUGH-REST" not in channel_only
