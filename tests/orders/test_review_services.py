"""The review services: claim, claim next, decide, note, assign; every change leaves one event."""

import pytest
from django.core.exceptions import PermissionDenied

from orders import services
from orders.choices import ReviewEventKind, ReviewStatus
from orders.models import Order, ReviewEvent
from orders.permissions import ASSIGN_ORDER, REVIEW_ORDER
from tests.factories import AnalystFactory, OrderFactory, ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    return ReviewerFactory()


@pytest.fixture
def supervisor():
    user = ReviewerFactory()
    user.user_permissions.add(_permission("assign_order"))
    return type(user).objects.get(pk=user.pk)  # a fresh instance: no stale permission cache


def _permission(codename):
    from django.contrib.auth.models import Permission

    return Permission.objects.get(content_type__app_label="orders", codename=codename)


def test_claim_moves_a_pending_order_to_the_reviewer_and_writes_one_event(reviewer):
    # given
    order = OrderFactory()

    # when
    services.order_claim(order_id=order.pk, reviewer=reviewer)

    # then
    order.refresh_from_db()
    assert (order.review_status, order.assigned_to) == (ReviewStatus.IN_REVIEW, reviewer)
    assert order.review_updated_at is not None
    event = ReviewEvent.objects.get(order=order)
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        ReviewEventKind.CLAIM,
        reviewer,
        ReviewStatus.PENDING,
        ReviewStatus.IN_REVIEW,
    )
    assert (event.from_assignee, event.to_assignee) == (None, reviewer)


def test_claiming_twice_is_a_no_op(reviewer):
    # given
    order = OrderFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)

    # when
    services.order_claim(order_id=order.pk, reviewer=reviewer)

    # then
    assert ReviewEvent.objects.filter(order=order).count() == 1


def test_claiming_an_order_another_reviewer_holds_is_refused(reviewer):
    # given
    order = OrderFactory(review_status=ReviewStatus.IN_REVIEW, assigned_to=ReviewerFactory())

    # when / then
    with pytest.raises(services.ReviewError, match="Another reviewer"):
        services.order_claim(order_id=order.pk, reviewer=reviewer)
    assert not ReviewEvent.objects.exists()


@pytest.mark.parametrize("status", [ReviewStatus.APPROVED, ReviewStatus.REJECTED])
def test_a_decided_order_cannot_be_claimed(reviewer, status):
    # given
    order = OrderFactory(review_status=status)

    # when / then
    with pytest.raises(services.ReviewError, match="already been decided"):
        services.order_claim(order_id=order.pk, reviewer=reviewer)


def test_claiming_a_missing_order_is_a_review_error(reviewer):
    with pytest.raises(services.ReviewError, match="does not exist"):
        services.order_claim(order_id=987654, reviewer=reviewer)


@pytest.mark.parametrize("user_factory", [AnalystFactory, UserFactory])
def test_users_without_the_review_permission_cannot_claim(user_factory):
    # given
    order = OrderFactory()

    # when / then
    with pytest.raises(PermissionDenied):
        services.order_claim(order_id=order.pk, reviewer=user_factory())
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.PENDING


def test_an_inactive_reviewer_cannot_claim():
    # given
    reviewer = ReviewerFactory(is_active=False)

    # when / then
    with pytest.raises(PermissionDenied):
        services.order_claim(order_id=OrderFactory().pk, reviewer=reviewer)


def test_claim_next_takes_the_oldest_unassigned_pending_order(reviewer):
    # given
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    OrderFactory(received_at=now - timedelta(hours=3), review_status=ReviewStatus.APPROVED)
    OrderFactory(received_at=now - timedelta(hours=2), assigned_to=ReviewerFactory())
    oldest_free = OrderFactory(received_at=now - timedelta(hours=1))
    OrderFactory(received_at=now)

    # when
    claimed = services.order_claim_next(reviewer=reviewer)

    # then
    assert claimed.pk == oldest_free.pk
    assert claimed.assigned_to == reviewer
    assert ReviewEvent.objects.get().kind == ReviewEventKind.CLAIM


def test_claim_next_twice_gives_two_different_orders(reviewer):
    # given
    OrderFactory.create_batch(2)

    # when
    first = services.order_claim_next(reviewer=reviewer)
    second = services.order_claim_next(reviewer=ReviewerFactory())

    # then
    assert first.pk != second.pk


def test_claim_next_on_an_empty_queue_returns_none(reviewer):
    # given
    OrderFactory(review_status=ReviewStatus.REJECTED)

    # when / then
    assert services.order_claim_next(reviewer=reviewer) is None
    assert not ReviewEvent.objects.exists()


def test_claim_next_needs_the_review_permission():
    with pytest.raises(PermissionDenied):
        services.order_claim_next(reviewer=AnalystFactory())


def test_a_note_is_an_event_that_changes_neither_status_nor_reviewer(reviewer):
    # given
    order = OrderFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)

    # when
    event = services.order_add_note(order_id=order.pk, author=reviewer, text=" called the applicant ")

    # then
    assert (event.kind, event.reason) == (ReviewEventKind.NOTE, "called the applicant")
    assert (event.from_status, event.to_status) == (ReviewStatus.IN_REVIEW, ReviewStatus.IN_REVIEW)
    assert event.from_assignee == event.to_assignee == reviewer
    order.refresh_from_db()
    assert (order.review_status, order.assigned_to) == (ReviewStatus.IN_REVIEW, reviewer)


@pytest.mark.parametrize("text", ["", "  \n "])
def test_an_empty_note_is_refused(reviewer, text):
    with pytest.raises(services.ReviewError, match="empty"):
        services.order_add_note(order_id=OrderFactory().pk, author=reviewer, text=text)
    assert not ReviewEvent.objects.exists()


def test_analysts_cannot_add_notes():
    with pytest.raises(PermissionDenied):
        services.order_add_note(order_id=OrderFactory().pk, author=AnalystFactory(), text="hello")


def test_assign_hands_orders_to_a_reviewer_skipping_decided_ones(supervisor, reviewer):
    # given
    pending = OrderFactory()
    held_by_other = OrderFactory(review_status=ReviewStatus.IN_REVIEW, assigned_to=ReviewerFactory())
    decided = OrderFactory(review_status=ReviewStatus.APPROVED)

    # when
    result = services.order_assign(
        order_ids=[pending.pk, held_by_other.pk, decided.pk], assignee=reviewer, actor=supervisor, reason="holiday"
    )

    # then
    assert result == services.AssignResult(assigned=2, skipped=1)
    assert set(Order.objects.filter(assigned_to=reviewer).values_list("pk", "review_status")) == {
        (pending.pk, ReviewStatus.IN_REVIEW),
        (held_by_other.pk, ReviewStatus.IN_REVIEW),
    }
    events = ReviewEvent.objects.filter(kind=ReviewEventKind.ASSIGN)
    assert {(event.order_id, event.actor_id, event.to_assignee_id, event.reason) for event in events} == {
        (pending.pk, supervisor.pk, reviewer.pk, "holiday"),
        (held_by_other.pk, supervisor.pk, reviewer.pk, "holiday"),
    }
    decided.refresh_from_db()
    assert decided.assigned_to is None


@pytest.mark.parametrize("size", [2, 20])
def test_assign_writes_in_a_fixed_number_of_queries(supervisor, reviewer, django_assert_num_queries, size):
    # given: permissions cached, as they are within a request
    orders = OrderFactory.create_batch(size)
    assert supervisor.has_perm(ASSIGN_ORDER)
    assert reviewer.has_perm(REVIEW_ORDER)

    # when / then: savepoint, lock, bulk update, bulk insert, release, whatever the number of orders
    with django_assert_num_queries(5):
        result = services.order_assign(order_ids=[o.pk for o in orders], assignee=reviewer, actor=supervisor)
    assert result.assigned == size


def test_reviewers_without_the_assign_permission_cannot_assign(reviewer):
    with pytest.raises(PermissionDenied):
        services.order_assign(order_ids=[OrderFactory().pk], assignee=reviewer, actor=ReviewerFactory())


@pytest.mark.parametrize("assignee_factory", [AnalystFactory, lambda: ReviewerFactory(is_active=False)])
def test_orders_are_only_assigned_to_active_reviewers(supervisor, assignee_factory):
    # given
    order = OrderFactory()

    # when / then
    with pytest.raises(services.ReviewError, match="active reviewer"):
        services.order_assign(order_ids=[order.pk], assignee=assignee_factory(), actor=supervisor)
    assert not ReviewEvent.objects.exists()


# --- What the admin asks before offering an action ------------------------------------------------


@pytest.mark.parametrize(
    ("status", "holder"),
    [
        (ReviewStatus.PENDING, None),
        (ReviewStatus.IN_REVIEW, "me"),
        (ReviewStatus.IN_REVIEW, "other"),
        (ReviewStatus.NEEDS_INFO, "me"),
        (ReviewStatus.NEEDS_INFO, None),
        (ReviewStatus.APPROVED, "me"),
        (ReviewStatus.REJECTED, None),
    ],
)
@pytest.mark.parametrize("user_factory", [ReviewerFactory, AnalystFactory])
def test_claim_and_decide_are_offered_exactly_when_the_service_would_accept_them(status, holder, user_factory):
    # given
    user = user_factory()
    assigned_to = {"me": user, "other": ReviewerFactory(), None: None}[holder]
    claimable = OrderFactory(review_status=status, assigned_to=assigned_to)
    decidable = OrderFactory(review_status=status, assigned_to=assigned_to)

    # when: the reads the order page asks, then the changes themselves
    offered = (
        services.order_can_claim(order=claimable, reviewer=user),
        services.order_can_decide(order=decidable, reviewer=user),
    )
    accepted = []
    for action in (
        lambda: services.order_claim(order_id=claimable.pk, reviewer=user),
        lambda: services.order_decide(
            order_id=decidable.pk,
            reviewer=user,
            terms=services.DecisionTerms(decision="needs_info", supplements=("orderInfo.loan_amount",)),
        ),
    ):
        before = ReviewEvent.objects.count()
        try:
            action()
        except (services.ReviewError, PermissionDenied):
            accepted.append(False)
        else:
            accepted.append(ReviewEvent.objects.count() > before)  # a claim that changes nothing is not offered

    # then
    assert offered == tuple(accepted)


def test_assign_refuses_more_orders_than_the_limit_and_writes_nothing(supervisor, reviewer, monkeypatch):
    # given
    monkeypatch.setattr(services.review, "MAX_ASSIGN_AT_ONCE", 2)  # where the service reads it
    orders = OrderFactory.create_batch(3)

    # when / then
    with pytest.raises(services.ReviewError, match="at most 2 orders"):
        services.order_assign(order_ids=[o.pk for o in orders], assignee=reviewer, actor=supervisor)
    assert not ReviewEvent.objects.exists()
    assert (
        services.order_assign(order_ids=[o.pk for o in orders[:2]], assignee=reviewer, actor=supervisor).assigned == 2
    )


def test_a_selection_is_read_only_up_to_one_past_the_limit(monkeypatch, django_assert_num_queries):
    # given
    monkeypatch.setattr(services.review, "MAX_ASSIGN_AT_ONCE", 2)  # where the service reads it
    OrderFactory.create_batch(4)

    # when / then: one bounded read, refused
    with django_assert_num_queries(1) as captured, pytest.raises(services.ReviewError):
        services.order_assign_selection(Order.objects.values_list("pk", flat=True))
    assert "LIMIT 3" in captured.captured_queries[0]["sql"]
