"""Real job workers (`manage.py qcluster`) and web servers (gunicorn) against pytest-django's test database.

The tests of tests/reliability/test_workers.py run the engine as production
does: the web server records each push's job in the push's transaction, and
separate worker processes take jobs from the database. Both kinds of process
are started here with the test database's URL (the test itself uses
`transactional_db`, so what it creates is committed and the processes see it),
`JOBS_INLINE` off (their settings are the production ones), a short lease so a
dead worker's job comes back within seconds, and are always stopped (the whole
process group, killed if it does not stop) when the test ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.reliability.live import BASE_DIR, ON_POSTGRES, gunicorn, server_env, wait_until

postgres_only = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (the worker and web processes must share "
        "the test database, which pytest keeps in memory on SQLite)",
    ),
]

# A worker whose job is not acknowledged within this many seconds (it died) hands the job on.
LEASE_SECONDS = 3
_STARTUP_TIMEOUT_SECONDS = 60
_STOP_TIMEOUT_SECONDS = 30


def session_database_url() -> str:
    """The URL of the database pytest-django made for this session (`test_<name>`)."""
    config = connection.settings_dict
    password = f":{config['PASSWORD']}" if config["PASSWORD"] else ""
    host = config["HOST"] or "127.0.0.1"
    return f"postgres://{config['USER']}{password}@{host}:{config['PORT'] or 5432}/{config['NAME']}"


def session_database_connection() -> psycopg.Connection:
    """A connection of its own (autocommit), to hold locks while the processes under test work."""
    config = connection.settings_dict
    return psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname=config["NAME"],
        autocommit=True,
    )


# What every process under test gets besides the test database (JOBS_INLINE is off outside tests).
PROCESS_ENV = {
    "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
    "JOB_POLL": "0.05",
    "PUSH_RATE_LIMIT_PER_MINUTE": "100000",
    # The engine's INFO lines ("... running.", "Processed ...") are what the tests wait for and read.
    "JOB_LOG_LEVEL": "INFO",
}


@dataclass
class Worker:
    """One `manage.py qcluster` (its main process leads a process group: sentinel, pusher, workers, monitor)."""

    process: subprocess.Popen
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to every process of the cluster at once, as a power cut or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        """SIGTERM to the main process only, as `systemctl stop` (KillMode=mixed) and honcho do."""
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.terminate()
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_STOP_TIMEOUT_SECONDS)
        # The cluster's children too, whatever happened to the main process.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextmanager
def qcluster(
    log_dir: Path, *, queue: str = "signals", workers: int = 2, url: str | None = None, **extra_env: str
) -> Iterator[Worker]:
    """A worker of `queue` (`Q_CLUSTER_NAME=<queue> manage.py qcluster`), up when yielded, stopped afterwards.

    Against the test session's database, or the one at `url` (a dedicated database of `live`)."""
    log_path = log_dir / f"qcluster-{queue}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=BASE_DIR,
            env=server_env(
                url or session_database_url(),
                **{**PROCESS_ENV, "Q_CLUSTER_NAME": queue, "JOB_WORKERS": str(workers), **extra_env},
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(process, log_path)
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        # The sentinel logs this once its workers, pusher and monitor are started.
        while "running." not in worker.log:
            assert process.poll() is None, f"qcluster exited:\n{worker.log[-3000:]}"
            assert time.monotonic() < deadline, f"qcluster did not come up:\n{worker.log[-3000:]}"
            time.sleep(0.1)
        yield worker
    finally:
        worker.stop()


@contextmanager
def web(log_dir: Path, **extra_env: str):
    """gunicorn (2 processes of 4 threads) on a free port against the test database."""
    with gunicorn(session_database_url(), log_dir, workers=2, threads=4, **{**PROCESS_ENV, **extra_env}) as server:
        yield server


@contextmanager
def node(log_dir: Path, **extra_env: str):
    """One machine of a deployment: a web server and a worker of the `signals` queue."""
    with ExitStack() as stack:
        server = stack.enter_context(web(log_dir, **extra_env))
        stack.enter_context(qcluster(log_dir, **extra_env))
        yield server


def all_at_once(send: Callable[[int], object], count: int) -> list:
    """`send(i)` from `count` client threads released together; their results in order."""
    start = threading.Barrier(count)

    def client(i):
        start.wait()
        return send(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(client, range(count)))


def jobs_drained(order_ids, timeout: float = 90) -> None:
    """Wait until no job is queued and every order of `order_ids` has its signals written."""
    from django_q.models import OrmQ

    from orders.models import Order

    def drained() -> bool:
        return not OrmQ.objects.exists() and not Order.objects.filter(pk__in=order_ids, risk_pending=True).exists()

    wait_until(drained, "the workers to write every order's signals", timeout=timeout)


def backend_waiting_on_a_lock(holder: psycopg.Connection) -> bool:
    """Whether another session of the test database waits for a lock (the job `holder` blocks).

    Asked on a connection of its own: inside `holder`'s transaction PostgreSQL would answer from the
    snapshot of pg_stat_activity it took at that transaction's first look."""
    with session_database_connection() as observer:
        row = observer.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> ALL(%s) AND wait_event_type = 'Lock'",
            [[holder.info.backend_pid, observer.info.backend_pid]],
        ).fetchone()
    return row[0] > 0
