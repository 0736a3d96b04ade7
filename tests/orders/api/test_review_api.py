"""The review API (next, claim, decision): every status code, token scopes, and a fuzz of the bodies."""

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from orders import services
from orders.choices import ReviewStatus
from orders.models import Decision, Order, PersonalDataAccess, RiskSignal, StaffApiToken
from orders.services import staff_api_token_create
from tests.factories import AnalystFactory, OrderFactory, ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/review/next/"
APPROVE = {"decision": "approved", "approved_amount": 10_000, "approved_term": 30, "term_unit": "day"}


def _claim_url(order) -> str:
    return f"/api/v1/orders/{order.pk}/claim/"


def _decision_url(order) -> str:
    return f"/api/v1/orders/{order.pk}/decision/"


def _client(user, *, scopes=("review",)) -> APIClient:
    client = APIClient()
    token = staff_api_token_create(user=user, name="robot", scopes=scopes).plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def reviewer():
    return ReviewerFactory()


@pytest.fixture
def robot(reviewer):
    return _client(reviewer)


def _post(client, url, body=None):
    return client.post(url, data=json.dumps(body) if body is not None else None, content_type="application/json")


# --- next -------------------------------------------------------------------------------------


def test_next_claims_the_oldest_pending_order_skipping_those_whose_signals_are_computing(robot, reviewer):
    # given
    now = timezone.now()
    OrderFactory(received_at=now - timedelta(hours=3), risk_pending=True)
    oldest_ready = OrderFactory(received_at=now - timedelta(hours=2))
    OrderFactory(received_at=now - timedelta(hours=1))

    # when
    response = _post(robot, NEXT)

    # then
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["review_status"]) == (oldest_ready.pk, "in_review")
    assert set(response.json()) >= {"order_no", "device", "contacts", "employer", "risk_flags"}
    oldest_ready.refresh_from_db()
    assert oldest_ready.assigned_to == reviewer


def test_next_on_an_empty_queue_is_204(robot):
    # given
    OrderFactory(risk_pending=True)
    OrderFactory(review_status=ReviewStatus.APPROVED)

    # when
    response = _post(robot, NEXT)

    # then
    assert (response.status_code, response.content) == (204, b"")


def test_the_order_is_shown_as_the_privacy_policy_says_and_an_unmasked_view_is_recorded(robot):
    # given: reviewers hold the personal-data permission (they call applicants)
    order = OrderFactory(user_phone="13812345678")

    # when
    response = _post(robot, NEXT)

    # then
    assert response.json()["id"] == order.pk
    assert response.json()["user_phone"] == "13812345678"
    assert PersonalDataAccess.objects.filter(order=order, context="api:review").count() == 1


def test_the_order_is_masked_for_a_reviewer_without_the_personal_data_permission():
    # given
    from django.contrib.auth.models import Permission

    user = UserFactory()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="orders", codename__in=["view_order", "review_order"])
    )
    order = OrderFactory(user_phone="13812345678")

    # when
    response = _post(_client(user), NEXT)

    # then
    assert response.json()["id"] == order.pk
    assert response.json()["user_phone"] == "138****5678"
    assert not PersonalDataAccess.objects.exists()


# --- claim ------------------------------------------------------------------------------------


def test_claim_gives_the_order_to_the_caller(robot, reviewer):
    # given
    order = OrderFactory()

    # when
    response = _post(robot, _claim_url(order))

    # then
    assert (response.status_code, response.json()["id"]) == (200, order.pk)
    assert Order.objects.get(pk=order.pk).assigned_to == reviewer


@pytest.mark.parametrize(
    ("status", "other_holds", "code"),
    [
        (ReviewStatus.IN_REVIEW, True, "already_claimed"),
        (ReviewStatus.APPROVED, False, "already_decided"),
        (ReviewStatus.REJECTED, True, "already_decided"),
    ],
)
def test_claim_conflicts_are_409_with_their_code(robot, status, other_holds, code):
    # given
    order = OrderFactory(review_status=status, assigned_to=ReviewerFactory() if other_holds else None)

    # when
    response = _post(robot, _claim_url(order))

    # then
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == code


def test_claiming_a_missing_order_is_404(robot):
    # given / when
    response = _post(robot, "/api/v1/orders/999999/claim/")

    # then
    assert response.status_code == 404


# --- decision ---------------------------------------------------------------------------------


def _held(reviewer, **kwargs) -> Order:
    order = OrderFactory(loan_amount_fen=500_000, **kwargs)
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    return order


def test_a_decision_with_terms_is_recorded_and_the_order_returned(robot, reviewer):
    # given
    order = _held(reviewer)

    # when
    response = _post(robot, _decision_url(order), {**APPROVE, "reason": "rang them"})

    # then
    assert (response.status_code, response.json()["review_status"]) == (200, "approved")
    decision = Decision.objects.get(order=order)
    assert (decision.approved_amount_fen, decision.approved_term, decision.term_unit, decision.decided_by) == (
        10_000,
        30,
        "day",
        reviewer,
    )


def test_a_rejection_with_a_reason_code_and_a_reapply_date(robot, reviewer):
    # given
    order = _held(reviewer)
    day = (timezone.localdate() + timedelta(days=10)).isoformat()

    # when
    response = _post(
        robot, _decision_url(order), {"decision": "rejected", "reason_code": "device_risk", "can_reapply_at": day}
    )

    # then
    assert response.status_code == 200
    assert Decision.objects.get(order=order).reason_code_id == "device_risk"


def test_a_bad_decision_is_400_naming_each_bad_field(robot, reviewer):
    # given
    order = _held(reviewer)
    body = {
        "decision": "approved",
        "approved_amount": "10000",
        "approved_term": 0,
        "term_unit": "year",
        "colour": "red",
        "confirm_high_risk": "yes",
    }

    # when
    response = _post(robot, _decision_url(order), body)

    # then
    assert response.status_code == 400
    assert {error["attr"] for error in response.json()["errors"]} == {"colour", "confirm_high_risk"}
    body = {key: value for key, value in body.items() if key not in ("colour", "confirm_high_risk")}
    response = _post(robot, _decision_url(order), body)
    assert response.status_code == 400
    assert {error["attr"] for error in response.json()["errors"]} == {"approved_amount", "approved_term", "term_unit"}
    assert not Decision.objects.exists()


@pytest.mark.parametrize("body", [[], "approved", 3, None, {}])
def test_a_body_that_is_not_a_decision_object_is_400(robot, reviewer, body):
    # given
    order = _held(reviewer)

    # when
    response = robot.post(_decision_url(order), data=json.dumps(body), content_type="application/json")

    # then
    assert response.status_code == 400


def test_malformed_json_is_400(robot, reviewer):
    # given
    order = _held(reviewer)

    # when
    response = robot.post(_decision_url(order), data=b'{"decision": ', content_type="application/json")

    # then
    assert response.status_code == 400


def test_approving_a_high_severity_order_needs_confirm_high_risk(robot, reviewer):
    # given
    order = _held(reviewer)
    RiskSignal.objects.create(order=order, code="simulator", severity="high", reason_zh="-", reason_en="-")

    # when
    refused = _post(robot, _decision_url(order), APPROVE)
    accepted = _post(robot, _decision_url(order), {**APPROVE, "confirm_high_risk": True})

    # then
    assert refused.status_code == 400
    assert [error["attr"] for error in refused.json()["errors"]] == ["confirm_high_risk"]
    assert accepted.status_code == 200


def test_approving_an_order_whose_signals_are_computing_is_400_on_decision(robot, reviewer):
    # given
    order = _held(reviewer, risk_pending=True)

    # when
    response = _post(robot, _decision_url(order), APPROVE)

    # then
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["decision"]


@pytest.mark.parametrize(
    ("holder", "status", "code"),
    [(None, "pending", "not_claimed"), ("other", "in_review", "not_claimed"), ("me", "approved", "already_decided")],
)
def test_decision_conflicts_are_409(robot, reviewer, holder, status, code):
    # given
    assigned = {"me": reviewer, "other": ReviewerFactory(), None: None}[holder]
    order = OrderFactory(review_status=status, assigned_to=assigned)

    # when
    response = _post(robot, _decision_url(order), {"decision": "rejected", "reason_code": "other"})

    # then
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == code


# --- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [NEXT, "claim", "decision"])
def test_a_token_without_the_review_scope_is_403(reviewer, url):
    # given
    client = _client(reviewer, scopes=())
    order = _held(reviewer)
    url = {"claim": _claim_url(order), "decision": _decision_url(order)}.get(url, url)

    # when
    response = _post(client, url, {"decision": "rejected", "reason_code": "other"})

    # then
    assert response.status_code == 403
    assert client.get(f"/api/v1/orders/{order.pk}/").status_code == 200  # it still reads
    assert Order.objects.get(pk=order.pk).review_status == ReviewStatus.IN_REVIEW


@pytest.mark.parametrize("url", [NEXT, "claim", "decision"])
def test_a_user_without_the_review_permission_is_403_even_with_the_scope(url):
    # given
    client = _client(AnalystFactory())
    order = OrderFactory()
    url = {"claim": _claim_url(order), "decision": _decision_url(order)}.get(url, url)

    # when
    response = _post(client, url, APPROVE)

    # then
    assert response.status_code == 403


def test_no_credentials_is_401_or_403():
    # given
    order = OrderFactory()

    # when
    response = _post(APIClient(), _claim_url(order))

    # then
    assert response.status_code in (401, 403)
    assert Order.objects.get(pk=order.pk).assigned_to is None


def test_a_session_acts_with_its_users_permissions(client, reviewer):
    # given
    order = OrderFactory()
    client.force_login(reviewer)

    # when
    response = client.post(_claim_url(order), content_type="application/json")

    # then
    assert response.status_code == 200


def test_create_staff_token_takes_repeatable_scopes_and_the_admin_shows_them(client, reviewer, capsys):
    # given / when
    call_command("create_staff_token", reviewer.username, "--name", "rules", "--scope", "review", "--scope", "read")
    call_command("create_staff_token", reviewer.username, "--name", "reads")

    # then
    scopes = dict(StaffApiToken.objects.values_list("name", "scopes"))
    assert scopes == {"rules": ["read", "review"], "reads": ["read"]}
    client.force_login(type(reviewer).objects.create_superuser("root", "root@example.com", "pw"))
    listing = client.get("/admin/orders/staffapitoken/").content.decode()
    assert "read, review" in listing


def test_an_unknown_scope_is_refused_by_the_command(reviewer):
    # given / when / then
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("create_staff_token", reviewer.username, "--name", "x", "--scope", "admin")
    assert not StaffApiToken.objects.exists()


def test_the_schema_documents_the_review_api(client):
    # given / when
    schema = client.get("/api/schema/?format=json").json()

    # then
    assert {"/api/v1/review/next/", "/api/v1/orders/{id}/claim/", "/api/v1/orders/{id}/decision/"} <= set(
        schema["paths"]
    )
    assert "/api/v1/user-additional/decision/" in schema["paths"]


# --- fuzz -------------------------------------------------------------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["approved", "rejected", "needs_info", "day", "month", "other", "2030-01-01", "\x00", "\ud800"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_KEYS = st.sampled_from(
    [
        "decision",
        "approved_amount",
        "approved_term",
        "term_unit",
        "reason_code",
        "reason",
        "can_reapply_at",
        "supplements",
        "confirm_high_risk",
    ]
) | st.text(max_size=8)
_BODIES = st.one_of(st.dictionaries(_KEYS, _VALUES, max_size=6), _VALUES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_BODIES, endpoint=st.sampled_from(["decision", "claim", "next"]))
def test_fuzz_no_review_body_is_a_server_error(robot, reviewer, body, endpoint):
    order = _held(reviewer)
    url = {"decision": _decision_url(order), "claim": _claim_url(order), "next": NEXT}[endpoint]
    try:
        raw = json.dumps(body)
    except (ValueError, UnicodeEncodeError):
        raw = "{}"

    response = robot.post(url, data=raw.encode("utf-8", "surrogatepass"), content_type="application/json")

    assert response.status_code < 500, (body, response.content[:300])
    assert response.status_code in (200, 204, 400, 409), (body, response.status_code)
