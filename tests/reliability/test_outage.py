"""A real PostgreSQL made unreachable under a live gunicorn: 503 JSON, nothing written, recovery without restart."""

import threading

import pytest

from tests.factories import PushPayloadFactory
from tests.reliability.live import (
    admin_connection,
    create_institution,
    dedicated_database,
    gunicorn,
    postgres_only,
    wait_until,
)

pytestmark = postgres_only


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    """(server, database name, credentials) on a database this module may take down."""
    with dedicated_database("outage") as (name, url):
        credentials = create_institution(url, "outage")
        with gunicorn(url, tmp_path_factory.mktemp("outage"), workers=1, threads=4) as server:
            yield server, name, credentials


def _take_down(name: str) -> None:
    """What an operator's outage looks like to the app: no new connections, every backend gone."""
    with admin_connection() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])


def _bring_up(name: str) -> None:
    with admin_connection() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def _stored(name: str, order_nos: list[str]) -> tuple[int, int]:
    with admin_connection(name) as connection:
        orders = connection.execute(
            "SELECT count(*) FROM orders_order WHERE order_no = ANY(%s)", [order_nos]
        ).fetchone()[0]
        logs = connection.execute(
            "SELECT count(*) FROM intake_pushlog WHERE order_no = ANY(%s)", [order_nos]
        ).fetchone()[0]
    return orders, logs


def _assert_database_unavailable(status: int, body) -> None:
    assert status == 503
    assert body["type"] == "server_error"
    assert body["errors"][0]["code"] == "database_unavailable"


def test_database_lost_mid_push_answers_503_writes_nothing_and_recovers_without_restart(outage):
    # given: a warm server (its worker holds a persistent connection)
    server, name, credentials = outage
    token = credentials["api_token"]
    assert server.push(PushPayloadFactory(), token)[0] == 201
    in_flight, while_down, after = PushPayloadFactory(), PushPayloadFactory(), PushPayloadFactory()
    answers = {}

    # when: a push is inside its transaction, blocked on a lock, as the database goes away
    holder = admin_connection(name)  # closed, not committed: the outage ends its session
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE orders_order IN ACCESS EXCLUSIVE MODE")
    sender = threading.Thread(target=lambda: answers.update(in_flight=server.push(in_flight, token)))
    sender.start()
    with admin_connection() as admin:
        wait_until(
            lambda: (
                admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", [name]
                ).fetchone()[0]
                == 1
            ),
            "the push to wait on the lock",
        )
    _take_down(name)
    sender.join(timeout=60)
    holder.close()
    down_push = server.push(while_down, token)
    down_health = server.request("GET", "/healthz")
    _bring_up(name)
    recovered_push = server.push(after, token)
    recovered_health = server.request("GET", "/healthz")

    # then
    status, headers, body = answers["in_flight"]
    _assert_database_unavailable(status, body)
    assert headers["Content-Type"] == "application/json"
    _assert_database_unavailable(down_push[0], down_push[2])
    assert down_health[0] == 503
    assert down_health[2]["database"] == "unreachable"
    assert _stored(name, [in_flight["orderInfo"]["orderNo"], while_down["orderInfo"]["orderNo"]]) == (0, 0)
    assert recovered_push[0] == 201
    assert recovered_push[2]["orderNo"] == after["orderInfo"]["orderNo"]
    assert recovered_health[0] == 200
    assert _stored(name, [after["orderInfo"]["orderNo"]]) == (1, 1)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        # A session cookie makes the admin load its session (and user) from the database.
        ("GET", "/admin/", {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}),
        ("GET", "/api/v1/orders/", {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}),
        ("POST", "/channel/pushUserAdditionalInfo", {"Content-Type": "application/json"}),
    ],
)
def test_other_pages_answer_503_json_while_the_database_is_down(outage, method, path, headers):
    # given
    server, name, _ = outage
    body = b'{"ua": "outage", "args": "{}", "sign": "x"}' if method == "POST" else None
    _take_down(name)
    try:
        # when
        status, answer_headers, content = server.request(method, path, body, headers)
    finally:
        _bring_up(name)

    # then: never a 500 or an HTML page
    assert status == 503, content
    assert answer_headers["Content-Type"].startswith("application/json")
    assert "database_unavailable" in str(content)
    assert server.request(method, path, body, headers)[0] != 503
