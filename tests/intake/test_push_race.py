"""Concurrent pushes of one orderNo against a live, multi-threaded server on PostgreSQL."""

import json
import threading
import urllib.error
import urllib.request

import pytest
from django.db import connection

from orders.models import AddressBookEntry, Order, PushLog
from tests.conftest import PUSH_URL
from tests.factories import InstitutionFactory, PushPayloadFactory

CLIENTS = 6


def post_all(url: str, token: str, bodies: list[bytes]) -> list[int]:
    """POST every body at the same instant (a barrier releases the threads together)."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = [0] * len(bodies)

    def send(index: int) -> None:
        request = urllib.request.Request(
            url, data=bodies[index], method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )  # fmt: skip
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                statuses[index] = response.status
        except urllib.error.HTTPError as error:
            statuses[index] = error.code

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.fixture
def racing_institution(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serializes them)")
    return InstitutionFactory()


def test_concurrent_identical_pushes_make_one_order(live_server, racing_institution):
    # given the same push sent by several clients at once
    body = json.dumps(PushPayloadFactory(userAdditional__addressBook__size=200)).encode()

    # when they all arrive together
    statuses = post_all(live_server.url + PUSH_URL, racing_institution.api_token, [body] * CLIENTS)

    # then exactly one is accepted, the others are retries, and one order exists
    assert sorted(statuses) == [200] * (CLIENTS - 1) + [201]
    assert Order.objects.count() == 1
    assert AddressBookEntry.objects.count() == 200
    assert PushLog.objects.filter(outcome="duplicate").count() == CLIENTS - 1


def test_concurrent_conflicting_pushes_make_one_order(live_server, racing_institution):
    # given the same orderNo with a different amount in each push
    payload = PushPayloadFactory()
    bodies = []
    for amount in range(1, CLIENTS + 1):
        payload["orderInfo"]["loan_amount"] = str(amount * 100)
        bodies.append(json.dumps(payload).encode())

    statuses = post_all(live_server.url + PUSH_URL, racing_institution.api_token, bodies)

    assert sorted(statuses) == [201] + [409] * (CLIENTS - 1)
    assert Order.objects.count() == 1
