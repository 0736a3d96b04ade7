"""What administrators see of deliveries: the lists (query counts pinned), health, send again, the order page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from orders.choices import ReviewStatus
from orders.models import Delivery, DeliveryAttempt, DeliveryErrorKind, DeliveryStatus, FeedbackMode, Institution
from tests.factories import UserFactory
from tests.orders.feedback.conftest import decided, feedback_institution, record

pytestmark = pytest.mark.django_db

DELIVERIES = "/admin/orders/delivery/"
ATTEMPTS = "/admin/orders/deliveryattempt/"
HEALTH = "/admin/orders/delivery/health/"


@pytest.fixture
def superuser(client):
    user = UserFactory(is_superuser=True)
    client.force_login(user)
    return user


def _deliveries(institution, count, *, status=DeliveryStatus.PENDING):
    deliveries = [record(decided(institution)) for _ in range(count)]
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(status=status)
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=delivery,
            started_at=timezone.now(),
            http_status=500,
            error_kind=DeliveryErrorKind.HTTP_STATUS,
            answer="call 139****5678",
        )
        for delivery in deliveries
    )
    return deliveries


# session, user, the institutions of the sidebar filter, [PostgreSQL: the planner's estimate], the bounded
# count, the page (joined to its order and institution). No date drill-down: it would scan the whole outbox.
LIST_QUERIES = 5 + (connection.vendor == "postgresql")


@pytest.mark.parametrize("size", [3, 30])
def test_the_deliveries_list_costs_the_same_for_3_or_30_rows(
    client, superuser, enqueued, django_assert_num_queries, size
):
    # given
    _deliveries(feedback_institution(FeedbackMode.CHANNEL, "https://lender.example.com/f"), size)
    client.get(DELIVERIES)

    # when
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(DELIVERIES)

    # then
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == size


@pytest.mark.parametrize("size", [3, 30])
def test_the_attempts_list_costs_the_same_for_3_or_30_rows(
    client, superuser, enqueued, django_assert_num_queries, size
):
    # given
    _deliveries(feedback_institution(FeedbackMode.CHANNEL, "https://lender.example.com/f"), size)
    client.get(ATTEMPTS)

    # when
    with django_assert_num_queries(LIST_QUERIES - 1):  # no institution filter
        response = client.get(ATTEMPTS)

    # then
    assert len(response.context["cl"].result_list) == size


# session, user, the one query of every institution's health.
HEALTH_QUERIES = 3


@pytest.mark.parametrize("institutions", [1, 4])
def test_health_shows_success_rate_last_error_and_oldest_undelivered_in_one_query(
    client, superuser, enqueued, django_assert_num_queries, institutions
):
    # given: per institution, 3 delivered, 1 failed, 2 pending (the older two hours old)
    for number in range(institutions):
        institution = feedback_institution(FeedbackMode.WEBHOOK, f"https://lender{number}.example.com/f")
        _deliveries(institution, 3, status=DeliveryStatus.DELIVERED)
        _deliveries(institution, 1, status=DeliveryStatus.FAILED)
        oldest, _newest = _deliveries(institution, 2)
        Delivery.objects.filter(pk=oldest.pk).update(created_at=timezone.now() - timedelta(hours=2))
    feedback_institution(FeedbackMode.OFF, "")  # takes no feedback, had none: not listed

    # when
    with django_assert_num_queries(HEALTH_QUERIES):
        response = client.get(HEALTH)

    # then
    rows = response.context["rows"]
    assert len(rows) == institutions
    institution, rate = rows[0]
    assert (institution.delivered, institution.failed, institution.pending) == (3, 1, 2)
    assert rate == pytest.approx(0.75)
    assert institution.oldest_pending < timezone.now() - timedelta(hours=1)
    assert institution.last_error_kind == DeliveryErrorKind.HTTP_STATUS
    assert "75%" in response.content.decode()


def test_a_delivery_page_shows_its_attempts_and_masks_phones(client, superuser, enqueued):
    # given: a reason that quotes a phone number
    institution = feedback_institution(FeedbackMode.CHANNEL, "https://lender.example.com/f")
    delivery = record(decided(institution, ReviewStatus.NEEDS_INFO, reason="请致电 13912345678"))
    _deliveries(institution, 0)
    DeliveryAttempt.objects.create(
        delivery=delivery, started_at=timezone.now(), http_status=200, answer='{"status": 0, "msg": "139****5678"}'
    )

    # when
    page = client.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()

    # then
    assert 'id="delivery-attempts"' in page
    assert "13912345678" not in page
    assert "139****5678" in page


def test_send_again_from_the_list(client, superuser, enqueued):
    # given
    (delivery,) = _deliveries(
        feedback_institution(FeedbackMode.CHANNEL, "https://lender.example.com/f"), 1, status=DeliveryStatus.FAILED
    )

    # when
    response = client.post(DELIVERIES, {"action": "send_again", "_selected_action": [delivery.pk]}, follow=True)

    # then
    delivery.refresh_from_db()
    assert response.status_code == 200
    assert delivery.status == DeliveryStatus.PENDING
    assert "1 delivery(ies) will be sent again" in response.content.decode()


def test_a_reviewer_cannot_send_again(client, enqueued):
    # given: a reviewer sees orders, not the outbox
    from tests.factories import ReviewerFactory

    client.force_login(ReviewerFactory())

    # when / then
    assert client.get(DELIVERIES).status_code == 403


def test_the_order_page_says_whether_the_decision_reached_the_institution(client, superuser, enqueued):
    # given
    institution = feedback_institution(FeedbackMode.CHANNEL, "https://lender.example.com/f")
    delivered = record(decided(institution))
    Delivery.objects.filter(pk=delivered.pk).update(status=DeliveryStatus.DELIVERED, delivered_at=timezone.now())
    silent = decided(feedback_institution(FeedbackMode.OFF, ""))

    # when
    delivered_page = client.get(f"/admin/orders/order/{delivered.order_id}/change/").content.decode()
    silent_page = client.get(f"/admin/orders/order/{silent.order_id}/change/").content.decode()

    # then
    assert 'class="delivery-delivered"' in delivered_page
    assert 'id="decision-feedback"' in silent_page
    assert "takes no decision feedback" in silent_page


def test_rotating_the_webhook_secret_shows_it_once_and_stores_it_encrypted(client, superuser):
    # given
    institution = feedback_institution(FeedbackMode.WEBHOOK, "https://lender.example.com/f")
    old_secret = institution.webhook_secret_plain

    # when
    response = client.post(
        "/admin/orders/institution/",
        {"action": "rotate_webhook_secret", "_selected_action": [institution.pk]},
        follow=True,
    )

    # then
    institution = Institution.objects.get(pk=institution.pk)
    secret = institution.webhook_secret
    assert secret != old_secret
    assert f"webhook_secret={secret}" in response.content.decode()
    assert secret not in institution.webhook_secret_encrypted
    assert secret not in client.get(f"/admin/orders/institution/{institution.pk}/change/").content.decode()


def test_switching_an_institution_to_webhooks_issues_its_secret(client, superuser):
    # given
    institution = feedback_institution(FeedbackMode.OFF, "")
    form = {
        "name": institution.name,
        "is_active": "on",
        "feedback_url": "https://lender.example.com/hook",
        "feedback_mode": FeedbackMode.WEBHOOK,
    }

    # when
    response = client.post(f"/admin/orders/institution/{institution.pk}/change/", form, follow=True)

    # then
    institution.refresh_from_db()
    assert institution.feedback_mode == FeedbackMode.WEBHOOK
    assert f"webhook_secret={institution.webhook_secret}" in response.content.decode()


def test_the_institution_form_refuses_a_plain_http_feedback_url(client, superuser):
    # given
    institution = feedback_institution(FeedbackMode.OFF, "")
    form = {"name": institution.name, "feedback_url": "http://lender.example.com/hook", "feedback_mode": "channel"}

    # when
    response = client.post(f"/admin/orders/institution/{institution.pk}/change/", form)

    # then
    institution.refresh_from_db()
    assert response.status_code == 200
    assert "https" in str(response.context["adminform"].form.errors["feedback_url"])
    assert institution.feedback_mode == FeedbackMode.OFF
