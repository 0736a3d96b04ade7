"""Rotating credentials without downtime: the old API token or channel key works for the overlap, then not."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from orders import institutions
from orders.models import Institution
from tests.factories import InstitutionFactory, PushPayloadFactory
from tests.intake.test_channel import envelope, send

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/institution/"


@pytest.fixture
def clock(monkeypatch):
    """The credentials' clock, stepped by hand: `clock.advance(hours=25)`."""

    class Clock:
        now = timezone.now()

        def advance(self, **delta):
            self.now += timedelta(**delta)

    clock = Clock()
    monkeypatch.setattr(institutions, "credentials_now", lambda: clock.now)
    return clock


def rest_status(push, token: str) -> int:
    return push(PushPayloadFactory(), token=token).status_code


def channel_status(client, institution, key: str, encoding: str) -> int:
    answer = send(client, envelope(institution, PushPayloadFactory(), key=key), encoding=encoding).json()
    return answer["status"]


def test_a_rotated_api_token_works_during_the_overlap_and_not_after(push, institution, clock):
    # given
    old = institution.api_token
    # when
    new = institutions.institution_rotate_api_token(institution=institution).api_token
    # then: both work for the default 24 hours
    assert (rest_status(push, old), rest_status(push, new)) == (201, 201)
    clock.advance(hours=23, minutes=59)
    assert (rest_status(push, old), rest_status(push, new)) == (201, 201)
    # and after it, only the new one
    clock.advance(minutes=2)
    assert (rest_status(push, old), rest_status(push, new)) == (401, 201)


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_a_rotated_channel_key_signs_during_the_overlap_and_not_after(client, institution, clock, encoding):
    # given
    old = institution.channel_key_plain
    # when
    new = institutions.institution_rotate_channel_key(institution=institution).channel_key
    # then
    assert (channel_status(client, institution, old, encoding), channel_status(client, institution, new, encoding)) == (
        1,
        1,
    )
    clock.advance(hours=24, seconds=1)
    refused = send(client, envelope(institution, PushPayloadFactory(), key=old), encoding=encoding).json()
    assert refused["response"]["errors"][0]["code"] == "authentication_failed"
    assert channel_status(client, institution, new, encoding) == 1


def test_the_overlap_is_chosen_per_rotation(push, institution, clock):
    # given
    old = institution.api_token
    # when
    issued = institutions.institution_rotate_api_token(institution=institution, overlap=timedelta(hours=2))
    # then
    assert issued.previous_valid_until == clock.now + timedelta(hours=2)
    clock.advance(hours=1)
    assert rest_status(push, old) == 201
    clock.advance(hours=1)
    assert rest_status(push, old) == 401


def test_the_default_overlap_is_a_setting(settings, push, institution, clock):
    # given
    settings.CREDENTIAL_ROTATION_OVERLAP_HOURS = 1
    old = institution.api_token
    # when
    institutions.institution_rotate_api_token(institution=institution)
    clock.advance(minutes=61)
    # then
    assert rest_status(push, old) == 401


def test_no_overlap_retires_the_old_credentials_at_once(client, push, institution):
    # given
    old_token, old_key = institution.api_token, institution.channel_key_plain
    # when
    institutions.institution_rotate_api_token(institution=institution, overlap=timedelta(0))
    issued = institutions.institution_rotate_channel_key(institution=institution, overlap=timedelta(0))
    # then
    assert issued.previous_valid_until is None
    assert rest_status(push, old_token) == 401
    assert channel_status(client, institution, old_key, "json") == 0


def test_revoking_ends_old_and_new_at_once(client, push, institution):
    # given: both rotated, the old ones in their overlap
    old_token, old_key = institution.api_token, institution.channel_key_plain
    new_token = institutions.institution_rotate_api_token(institution=institution).api_token
    new_key = institutions.institution_rotate_channel_key(institution=institution).channel_key
    # when
    institutions.institution_revoke_credentials(institution=institution)
    # then
    assert [rest_status(push, token) for token in (old_token, new_token)] == [401, 401]
    assert [channel_status(client, institution, key, "form") for key in (old_key, new_key)] == [0, 0]


def test_a_second_rotation_within_the_overlap_retires_the_first_token(push, institution):
    # given
    first = institution.api_token
    second = institutions.institution_rotate_api_token(institution=institution).api_token
    # when
    third = institutions.institution_rotate_api_token(institution=institution).api_token
    # then: one previous credential is kept, the one just replaced
    assert [rest_status(push, token) for token in (first, second, third)] == [401, 201, 201]


def test_a_wrong_secret_with_the_previous_token_id_is_refused(push, institution):
    # given
    old_id = institution.api_token.partition(".")[0]
    institutions.institution_rotate_api_token(institution=institution)
    # when / then
    assert rest_status(push, f"{old_id}.not-the-secret") == 401


def test_previous_credentials_are_stored_hashed_and_encrypted(institution):
    # given
    old_token, old_key = institution.api_token, institution.channel_key_plain
    # when
    institutions.institution_rotate_api_token(institution=institution)
    institutions.institution_rotate_channel_key(institution=institution)
    # then
    stored = Institution.objects.filter(pk=institution.pk).values().get()
    secret = old_token.partition(".")[2]
    assert not any(secret in str(value) or old_key in str(value) for value in stored.values())
    assert stored["previous_api_token_id"] == old_token.partition(".")[0]


# --- The admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_the_admin_rotates_with_the_overlap_it_is_given(admin_client, api_client, clock):
    # given
    institution = InstitutionFactory()
    old = institution.api_token
    # when
    response = admin_client.post(
        CHANGELIST,
        {"action": "rotate_api_token", "_selected_action": [institution.pk], "overlap_hours": "3"},
        follow=True,
    )
    # then
    page = response.content.decode()
    new = re.search(r"api_token=(\S+?)(?:\s|<)", page).group(1)
    institution.refresh_from_db()
    assert institution.previous_api_token_expires_at == clock.now + timedelta(hours=3)
    assert "previous one stays valid until" in page
    assert new != old


def test_the_admin_shows_both_credentials_with_their_expiry_but_no_secret(admin_client, clock):
    # given
    institution = InstitutionFactory()
    old_token = institution.api_token
    institutions.institution_rotate_api_token(institution=institution)
    issued = institutions.institution_rotate_channel_key(institution=institution)
    # when
    change = admin_client.get(f"{CHANGELIST}{institution.pk}/change/").content.decode()
    listing = admin_client.get(CHANGELIST).content.decode()
    # then
    until = timezone.localtime(clock.now + timedelta(hours=24)).strftime("%Y-%m-%d %H:%M")
    assert old_token.partition(".")[0] in change  # the previous token's public id
    assert until in listing
    for secret in (old_token.partition(".")[2], issued.channel_key, institution.channel_key_plain):
        assert secret not in change
        assert secret not in listing


def test_the_admin_refuses_an_unreadable_overlap_and_rotates_nothing(admin_client):
    # given
    institution = InstitutionFactory()
    # when
    response = admin_client.post(
        CHANGELIST,
        {"action": "rotate_channel_key", "_selected_action": [institution.pk], "overlap_hours": "-1"},
        follow=True,
    )
    # then
    assert "nothing was rotated" in response.content.decode()
    assert Institution.objects.get(pk=institution.pk).channel_key == institution.channel_key_plain


# --- The commands ----------------------------------------------------------------------------------


def test_the_rotation_command_prints_the_new_key_and_keeps_the_old_for_the_overlap(client, institution, clock):
    # given
    old = institution.channel_key_plain
    out, err = io.StringIO(), io.StringIO()
    # when
    call_command(
        "rotate_institution_credentials", institution.code, "--channel-key", "--overlap-hours", "5", stdout=out,
        stderr=err,
    )  # fmt: skip
    # then
    new = re.fullmatch(r"channel_key=([0-9a-f]{48})\n", out.getvalue()).group(1)
    assert "previous channel_key valid until" in err.getvalue()
    assert [channel_status(client, institution, key, "json") for key in (old, new)] == [1, 1]
    clock.advance(hours=5)
    assert [channel_status(client, institution, key, "json") for key in (old, new)] == [0, 1]


def test_the_rotation_command_with_no_overlap_retires_the_old_token(push, institution):
    # given
    old = institution.api_token
    out = io.StringIO()
    # when
    call_command("rotate_institution_credentials", institution.code, "--api-token", "--overlap-hours", "0", stdout=out)
    # then
    new = re.fullmatch(r"api_token=(\S+)\n", out.getvalue()).group(1)
    assert [rest_status(push, token) for token in (old, new)] == [401, 201]


@pytest.mark.parametrize(
    "arguments", [["nobody", "--api-token"], ["{code}"], ["{code}", "--api-token", "--overlap-hours", "-1"]]
)
def test_the_rotation_command_refuses_what_it_cannot_do(institution, arguments):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("rotate_institution_credentials", *(a.format(code=institution.code) for a in arguments))


def test_the_institution_list_filters_sandbox_institutions(admin_client):
    # given
    sandbox, production = InstitutionFactory(is_sandbox=True), InstitutionFactory()
    # when
    response = admin_client.get(f"{CHANGELIST}?is_sandbox__exact=1")
    # then
    assert response.status_code == 200
    assert [institution.pk for institution in response.context["cl"].result_list] == [sandbox.pk]
    assert production.pk not in [institution.pk for institution in response.context["cl"].result_list]
