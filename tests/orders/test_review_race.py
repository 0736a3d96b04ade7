"""Two reviewers taking "next" at the same moment get two different orders (PostgreSQL, real connections)."""

import threading

import pytest
from django.db import connection, connections, transaction

from orders import services
from orders.choices import ReviewEventKind
from orders.models import ReviewEvent
from tests.factories import OrderFactory, ReviewerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]

WAIT_SECONDS = 10  # a safety net against a hung test, never an assertion


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED need PostgreSQL; SQLite serialises writers")


def test_two_reviewers_taking_next_at_once_get_two_different_orders():
    # given: two waiting orders, and a first reviewer who is mid-claim (row locked, not committed)
    older, newer = OrderFactory.create_batch(2)
    first_reviewer, second_reviewer = ReviewerFactory(), ReviewerFactory()
    first_holds_lock = threading.Event()
    second_done = threading.Event()
    claimed: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                claimed["first"] = services.order_claim_next(reviewer=first_reviewer)
                first_holds_lock.set()
                # Keep the lock until the second reviewer has had its go; without SKIP LOCKED
                # the second would queue behind this lock and this wait would run out.
                claimed["second_finished_while_first_held_lock"] = second_done.wait(WAIT_SECONDS)
        except Exception as error:  # reported by the main thread
            claimed["first_error"] = error
        finally:
            first_holds_lock.set()
            connections.close_all()

    def second():
        try:
            first_holds_lock.wait(WAIT_SECONDS)
            claimed["second"] = services.order_claim_next(reviewer=second_reviewer)
        except Exception as error:
            claimed["second_error"] = error
        finally:
            second_done.set()
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS * 2)

    # then
    assert not {"first_error", "second_error"} & claimed.keys(), claimed
    assert claimed["second_finished_while_first_held_lock"], "the second reviewer queued behind the first's lock"
    assert claimed["first"].pk == older.pk
    assert claimed["second"] is not None, "the second reviewer waited for the first's lock instead of skipping it"
    assert claimed["second"].pk == newer.pk
    assert set(ReviewEvent.objects.filter(kind=ReviewEventKind.CLAIM).values_list("order_id", "actor_id")) == {
        (older.pk, first_reviewer.pk),
        (newer.pk, second_reviewer.pk),
    }


def test_many_reviewers_racing_never_claim_one_order_twice():
    # given
    orders = OrderFactory.create_batch(6)
    reviewers = [ReviewerFactory() for _ in range(4)]
    start = threading.Barrier(len(reviewers))
    results, errors = [], []
    lock = threading.Lock()

    def take_until_empty(reviewer):
        try:
            start.wait(WAIT_SECONDS)
            while (order := services.order_claim_next(reviewer=reviewer)) is not None:
                with lock:
                    results.append(order.pk)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take_until_empty, args=(reviewer,)) for reviewer in reviewers]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS * 3)

    # then
    assert errors == []
    assert sorted(results) == sorted(order.pk for order in orders)
    assert ReviewEvent.objects.count() == len(orders)
