"""Load with the job workers running: throughput counted until the signals are written, their lag, lock waits.

A platform push is done when it is answered AND its order's risk signals are
written by a worker (`risk_pending` false). So every figure here runs real
`qcluster` workers of the `signals` queue on the same machine as gunicorn and
PostgreSQL, and stops its clock only once no order is pending any more. The
floor records its job row but has no worker: it is done when answered.
"""

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.client import CLIENTS, FLOOR_PATH, PUSH_PATH, order_no, push_headers, request
from bench.payloads import push_body

ROOT = Path(__file__).resolve().parent.parent
# Signals are waited for this long at most before a run is declared broken.
DRAIN_TIMEOUT_SECONDS = 300
DRAIN_POLL_SECONDS = 0.01


# --- The workers ----------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        children = [child for parent in frontier for child in _children(parent)]
        found += children
        frontier = children
    return found


@contextmanager
def job_workers(env: dict, count: int):
    """`manage.py qcluster` for the `signals` queue with `count` worker processes, as the Procfile's `worker:`."""
    log = ROOT / "var" / "bench" / "qcluster.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env={**env, "Q_CLUSTER_NAME": "signals", "JOB_WORKERS": str(count)},
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # Up when the sentinel has started its pusher, monitor and workers (its children).
        deadline = time.monotonic() + 60
        while len(descendants(process.pid)) < count + 3:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"qcluster did not come up (see {log.relative_to(ROOT)})")
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)  # graceful: running jobs finish
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# Tables every push and job churns (a queue row inserted, locked and deleted per job; an order's
# pending mark cleared; the rate counter's row updated), vacuumed between blocks on a server whose
# autovacuum is off, as autovacuum would in production, so that dead rows do not pile up over a run.
CHURNED_TABLES = ("django_q_ormq", "django_q_task", "orders_order", "intake_pushratewindow")


class Signals:
    """Watches, through one connection, for the moment no order of the database has its signals pending."""

    def __init__(self, url: str):
        self.url = url
        self.connection = psycopg.connect(url, autocommit=True)
        self.autovacuum = self.connection.execute("SHOW autovacuum").fetchone()[0] == "on"

    def between_blocks(self) -> None:
        """Outside the clocks: what autovacuum would have done meanwhile, where it is off."""
        if not self.autovacuum:
            self.connection.execute(f"VACUUM ANALYZE {', '.join(CHURNED_TABLES)}")

    def close(self) -> None:
        self.connection.close()

    def drained(self) -> float:
        """Wait until no order is `risk_pending` (the partial index makes each look cheap); returns the moment."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while self.connection.execute("SELECT EXISTS (SELECT 1 FROM orders_order WHERE risk_pending)").fetchone()[0]:
            if time.monotonic() > deadline:
                raise SystemExit(f"risk signals still pending after {DRAIN_TIMEOUT_SECONDS} s: are the workers up?")
            time.sleep(DRAIN_POLL_SECONDS)
        return time.perf_counter()

    def lags(self, answered: dict[str, float]) -> list[float]:
        """Seconds from each push's answer (wall clock) to its order's `risk_computed_at`."""
        rows = self.connection.execute(
            "SELECT order_no, extract(epoch FROM risk_computed_at) FROM orders_order WHERE order_no = ANY(%s)",
            [list(answered)],
        ).fetchall()
        return [float(computed) - answered[number] for number, computed in rows if computed is not None]


def lock_waits(env: dict) -> dict:
    """The signal lock waits recorded so far (`bench.probe`), or None with why."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.probe"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def waits_between(before: dict, after: dict) -> dict:
    if before["lock_waits"] is None or after["lock_waits"] is None:
        return {"lock_waits": None, "note": after["lock_waits_note"] or before["lock_waits_note"]}
    return {"lock_waits": after["lock_waits"] - before["lock_waits"], "note": ""}


# --- One block of pushes --------------------------------------------------------------------


def push_block(port: int, path: str, headers: dict, bodies: list[tuple[str, bytes]]) -> dict:
    """Send `bodies` from CLIENTS threads on keep-alive connections; when each was answered (wall clock)."""
    queue = iter(bodies)
    lock = threading.Lock()
    answered: dict[str, float] = {}
    failures: list[int] = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            number, body = item
            response = request(connection, "POST", path, body, headers)
            if response.status != 201:
                failures.append(response.status)
            answered[number] = time.time()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"started": started, "answered_at": time.perf_counter(), "answered": answered, "failures": failures}


def timed_blocks(port: int, token: str, signals: Signals, kinds: dict[str, tuple[str, list[list]]]) -> dict:
    """Run each kind's blocks of pushes in turn (A B, B A, A B...), each block timed until answered and,
    for the platform, until its signals are written; the kinds' totals and the platform's lags."""
    totals = {kind: {"seconds": 0.0, "answer_seconds": 0.0, "pushes": 0, "failures": 0, "lags": []} for kind in kinds}
    names = list(kinds)
    rounds = max(len(blocks) for _, blocks in kinds.values())
    for number in range(rounds):
        order = names if number % 2 == 0 else names[::-1]
        for kind in order:
            path, blocks = kinds[kind]
            if number >= len(blocks):
                continue
            headers = push_headers(token) if path == PUSH_PATH else {"Content-Type": "application/json"}
            signals.drained()  # nothing left over from the block before
            signals.between_blocks()
            block = push_block(port, path, headers, blocks[number])
            done = signals.drained() if path == PUSH_PATH else block["answered_at"]
            total = totals[kind]
            total["seconds"] += done - block["started"]
            total["answer_seconds"] += block["answered_at"] - block["started"]
            total["pushes"] += len(blocks[number])
            total["failures"] += len(block["failures"])
            if path == PUSH_PATH:
                total["lags"] += signals.lags(block["answered"])
    return totals


def _summary(total: dict) -> dict:
    lags = sorted(total["lags"])
    summary = {
        "pushes": total["pushes"],
        "failures": total["failures"],
        "pushes_per_second": round(total["pushes"] / total["seconds"], 1),
        "answered_per_second": round(total["pushes"] / total["answer_seconds"], 1),
    }
    if lags:
        summary["lag_p50_ms"] = round(statistics.median(lags) * 1000, 1)
        summary["lag_p95_ms"] = round(lags[min(len(lags) - 1, round(0.95 * (len(lags) - 1)))] * 1000, 1)
        summary["lag_max_ms"] = round(lags[-1] * 1000, 1)
    return summary


def _blocks(items: list, count: int) -> list[list]:
    size = -(-len(items) // count)
    return [items[start : start + size] for start in range(0, len(items), size)]


# --- The figures ----------------------------------------------------------------------------


def measure_throughput(port: int, token: str, signals: Signals, *, book_size: int, pushes: int, blocks: int) -> dict:
    """Platform against floor, `pushes` each from CLIENTS clients, in `blocks` alternating blocks."""

    def bodies(prefix: str) -> list[tuple[str, bytes]]:
        numbers = [order_no(prefix) for _ in range(pushes)]
        return [(number, push_body(number, book_size=book_size, n=n)) for n, number in enumerate(numbers)]

    totals = timed_blocks(
        port,
        token,
        signals,
        {
            "platform": (PUSH_PATH, _blocks(bodies("TP"), blocks)),
            "floor": (FLOOR_PATH, _blocks(bodies("TF"), blocks)),
        },
    )
    platform, floor = _summary(totals["platform"]), _summary(totals["floor"])
    return {
        "book_size": book_size,
        "platform": platform,
        "floor": floor,
        "ratio": round(platform["pushes_per_second"] / floor["pushes_per_second"], 2),
    }


def measure_hot_identifier(port: int, token: str, signals: Signals, *, orders: int, blocks: int) -> dict:
    """`orders` pushes all carrying one IMEI against `orders` whose IMEIs are shared in pairs, alternating blocks.

    Each pair's two pushes are neighbours in their block, so they are sent at
    about the same time and link to each other; the hot IMEI's count grows to
    `orders` over the run. Books of 20 entries (the generator's mean): the
    figure is about identifiers, not books.
    """
    hot_imei = f"86{time.time_ns() % 10**13:013d}"
    pair_base = 10**14 - 10**13 + time.time_ns() % 10**9 * 1000

    def bodies(prefix: str, imei_of) -> list[tuple[str, bytes]]:
        numbers = [order_no(prefix) for _ in range(orders)]
        return [(number, push_body(number, book_size=20, n=n, imei=imei_of(n))) for n, number in enumerate(numbers)]

    totals = timed_blocks(
        port,
        token,
        signals,
        {
            "hot": (PUSH_PATH, _blocks(bodies("HOT", lambda n: hot_imei), blocks)),
            "pairs": (PUSH_PATH, _blocks(bodies("PAIR", lambda n: str(pair_base + n // 2)), blocks)),
        },
    )
    hot, pairs = _summary(totals["hot"]), _summary(totals["pairs"])
    return {
        "orders": orders,
        "hot": hot,
        "pairs": pairs,
        "ratio": round(hot["pushes_per_second"] / pairs["pushes_per_second"], 2),
    }
