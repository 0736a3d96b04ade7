"""Races between processes: two gunicorn workers (four threads each) and concurrent clients on one PostgreSQL."""

import copy
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import PushPayloadFactory
from tests.reliability.live import (
    BASE_DIR,
    admin_connection,
    create_institution,
    dedicated_database,
    gunicorn,
    manage,
    postgres_only,
    server_env,
    wait_until,
)
from tests.reliability.processes import qcluster

pytestmark = postgres_only
CLIENTS = 8


@pytest.fixture(scope="module")
def race(tmp_path_factory):
    with dedicated_database("race") as (name, url):
        credentials = create_institution(url, "racer")
        log_dir = tmp_path_factory.mktemp("race")
        with (
            qcluster(log_dir, url=url),
            gunicorn(url, log_dir, workers=2, threads=4, PUSH_RATE_LIMIT_PER_MINUTE="100000") as server,
        ):
            yield server, name, url, credentials["api_token"]


def _all_at_once(send, count: int = CLIENTS) -> list:
    """Runs `send(i)` from `count` client threads released together."""
    start = threading.Barrier(count)

    def client(i):
        start.wait()
        return send(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(client, range(count)))


def _orders(name: str, order_no: str) -> list[tuple]:
    with admin_connection(name) as connection:
        return connection.execute("SELECT loan_amount_fen FROM orders_order WHERE order_no = %s", [order_no]).fetchall()


@pytest.mark.parametrize("attempt", range(3))
def test_identical_concurrent_pushes_end_as_one_order(race, attempt):
    # given
    server, name, _, token = race
    payload = PushPayloadFactory()

    # when
    answers = _all_at_once(lambda i: server.push(payload, token))

    # then: one 201, the rest are retries (200), never a 500
    assert sorted(status for status, _, _ in answers) == [200] * (CLIENTS - 1) + [201]
    assert {body["status"] for _, _, body in answers} == {"accepted", "duplicate"}
    assert len(_orders(name, payload["orderInfo"]["orderNo"])) == 1


@pytest.mark.parametrize("attempt", range(3))
def test_conflicting_concurrent_pushes_keep_exactly_the_winner(race, attempt):
    # given: the same orderNo with a different amount from each client
    server, name, _, token = race
    base = PushPayloadFactory()
    payloads = []
    for i in range(CLIENTS):
        payload = copy.deepcopy(base)
        payload["orderInfo"]["loan_amount"] = str(100_000 + i)
        payloads.append(payload)

    # when
    answers = _all_at_once(lambda i: server.push(payloads[i], token))

    # then
    statuses = [status for status, _, _ in answers]
    assert sorted(statuses) == [201] + [409] * (CLIENTS - 1)
    winner = payloads[statuses.index(201)]
    assert _orders(name, base["orderInfo"]["orderNo"]) == [(int(winner["orderInfo"]["loan_amount"]),)]
    conflicts = [body for status, _, body in answers if status == 409]
    assert all(body["errors"][0]["code"] == "order_conflict" for body in conflicts)


_SETUP_REVIEWERS = """
from django.contrib.auth.models import Group, User
group = Group.objects.get(name="reviewer")
for username in ("alice", "bob"):
    user = User.objects.create_user(username, password="not-used-here", is_staff=True)
    user.groups.add(group)
"""

_CLAIM_AND_DECIDE = """
from django.contrib.auth.models import User
from orders import services
from orders.models import Order
reviewer = User.objects.get(username="{username}")
order = Order.objects.get(order_no="{order_no}")
try:
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    # Not "approved": that may wait for the order's signals, which a worker writes.
    terms = {{"rejected": {{"reason_code": "other"}}, "needs_info": {{"supplements": ("orderInfo.userPhone",)}}}}
    services.order_decide(
        order_id=order.pk,
        reviewer=reviewer,
        terms=services.DecisionTerms(decision="{status}", reason="race test", **terms["{status}"]),
    )
    print("RESULT=decided")
except services.ReviewError:
    print("RESULT=refused")
"""


def test_two_reviewer_processes_deciding_one_order_leave_one_decision(race):
    # given: an order pushed through the server, and two reviewers
    server, name, url, token = race
    payload = PushPayloadFactory()
    order_no = payload["orderInfo"]["orderNo"]
    assert server.push(payload, token)[0] == 201
    manage(url, "shell", "-c", _SETUP_REVIEWERS)

    # when: both processes reach the order while an operator holds its row, then go at once
    holder = admin_connection(name)
    holder.execute("BEGIN")
    holder.execute("SELECT id FROM orders_order WHERE order_no = %s FOR UPDATE", [order_no])
    reviewers = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                _CLAIM_AND_DECIDE.format(username=username, order_no=order_no, status=status),
            ],
            cwd=BASE_DIR,
            env=server_env(url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for username, status in (("alice", "needs_info"), ("bob", "rejected"))
    ]
    with admin_connection() as admin:
        wait_until(
            lambda: (
                admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", [name]
                ).fetchone()[0]
                == 2
            ),
            "both reviewers to wait for the order's row",
            timeout=60,
        )
    holder.execute("COMMIT")
    holder.close()
    outputs = [process.communicate(timeout=120) for process in reviewers]

    # then: one decided, the other was told someone else holds it; one trail
    results = sorted(line for out, _ in outputs for line in out.splitlines() if line.startswith("RESULT="))
    assert results == ["RESULT=decided", "RESULT=refused"], [err[-2000:] for _, err in outputs]
    with admin_connection(name) as connection:
        events = connection.execute(
            "SELECT e.kind, e.to_status FROM orders_reviewevent e JOIN orders_order o ON o.id = e.order_id "
            "WHERE o.order_no = %s ORDER BY e.id",
            [order_no],
        ).fetchall()
        status = connection.execute("SELECT review_status FROM orders_order WHERE order_no = %s", [order_no]).fetchone()
    assert [kind for kind, _ in events] == ["claim", "decide"]
    assert status[0] == events[-1][1]


def _shared_device_links(name: str, order_nos: list[str]) -> dict[str, set[str]]:
    """The orders each order's shared_device signal links to, derived as the order page derives them
    (orders.risk.links): the other applicants' orders on the same deviceId (what these pushes share)."""
    with admin_connection(name) as connection:
        rows = connection.execute(
            "SELECT o.order_no, linked.order_no FROM orders_risksignal s "
            "JOIN orders_order o ON o.id = s.order_id "
            "JOIN orders_device d ON d.order_id = o.id "
            "JOIN orders_device other ON other.device_id = d.device_id AND other.order_id <> d.order_id "
            "JOIN orders_order linked ON linked.id = other.order_id AND linked.user_phone <> o.user_phone "
            "WHERE s.code = 'shared_device' AND o.order_no = ANY(%s)",
            [order_nos],
        ).fetchall()
    links: dict[str, set[str]] = {order_no: set() for order_no in order_nos}
    for order_no, linked in rows:
        links[order_no].add(linked)
    return links


def _pending(name: str, order_nos: list[str]) -> int:
    with admin_connection(name) as connection:
        return connection.execute(
            "SELECT count(*) FROM orders_order WHERE risk_pending AND order_no = ANY(%s)", [order_nos]
        ).fetchone()[0]


@pytest.mark.parametrize("attempt", range(2))
def test_applicants_pushed_at_the_same_moment_from_one_device_all_link_to_each_other(race, attempt):
    # given: eight applicants on one device, pushed at once (each push sees none of the
    # others in its own transaction; its signals, written after its commit, do)
    server, name, _, token = race
    device_id = f"dev-race-{attempt}"
    payloads = [PushPayloadFactory(userAdditional__deviceInfo__deviceId=device_id) for _ in range(CLIENTS)]
    order_nos = [payload["orderInfo"]["orderNo"] for payload in payloads]

    # when
    answers = _all_at_once(lambda i: server.push(payloads[i], token))

    # then: every order is answered, its signals follow, and the links are symmetric and complete
    assert [status for status, _, _ in answers] == [201] * CLIENTS
    wait_until(lambda: _pending(name, order_nos) == 0, "the workers to write the signals")
    links = _shared_device_links(name, order_nos)
    assert links == {order_no: set(order_nos) - {order_no} for order_no in order_nos}
