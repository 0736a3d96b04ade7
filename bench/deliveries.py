"""`python -m bench.deliveries DATABASE_URL`: decision deliveries per second to a loopback receiver, and the lag.

What it measures: a real `deliveries` worker (`Q_CLUSTER_NAME=deliveries manage.py
qcluster`, `--workers` processes, 8 by default) sends `--deliveries` decisions to
a threaded receiver on 127.0.0.1 that answers `{"status": 1}` (channel mode, so
every request is signed and checked). Decisions are written one transaction each,
as reviewers do, while the worker runs (a burst, or `--rate` per second); reported are the deliveries per second
(first decision to last delivery) and the decision -> delivered lag (p50, p95),
from the rows' own times (`Delivery.created_at` -> `delivered_at`).

The database is migrated first (its name must contain "bench"); the rows are left
for inspection. `deliveries_benchmark(...)` runs this in a subprocess and returns
the figures, for `bench.run` or the lead to call; `--json` prints them as JSON.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SUCCESS = b'{"status": 1, "message": "success"}'


def deliveries_benchmark(database_url: str, *, deliveries: int = 1000, workers: int = 8, rate: float = 0) -> dict:
    """Run the measurement in a fresh process (its own Django settings) and return its figures."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.deliveries",
            database_url,
            "--deliveries",
            str(deliveries),
            "--workers",
            str(workers),
            "--rate",
            str(rate),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", str(len(SUCCESS)))
        self.end_headers()
        self.wfile.write(SUCCESS)

    def log_message(self, *args):
        pass


def _receiver() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _setup(database_url: str) -> None:
    if "bench" not in urlsplit(database_url).path:
        raise SystemExit("Refusing: the benchmark's database name must contain 'bench'.")
    os.environ.update({"DATABASE_URL": database_url, "FEEDBACK_ALLOWED_HOSTS": "127.0.0.1"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _orders(count: int, url: str):
    """An institution sending feedback to `url`, a decider, and `count` orders to decide."""
    from django.contrib.auth import get_user_model

    from orders.institutions import institution_create
    from orders.models import Order

    stamp = f"{int(time.time())}-{os.getpid()}"
    institution, _ = institution_create(
        code=f"bench-feedback-{stamp}", name="Benchmark feedback", feedback_url=url, feedback_mode="channel"
    )
    decider, _ = get_user_model().objects.get_or_create(username="bench-decider", defaults={"is_staff": True})
    orders = Order.objects.bulk_create(
        Order(
            institution=institution,
            order_no=f"FB{stamp}-{number}",
            loan_amount_fen=500_000,
            user_phone=f"139{number % 10**8:08d}",
            door="rest",
            payload_sha256="0" * 64,
            review_status="approved",
        )
        for number in range(count)
    )
    return institution, decider, orders


def _decide_all(orders, decider, rate: float) -> None:
    """One transaction per decision, as order_decide writes them: the Decision, then its delivery and job.

    `rate` decisions per second at most (0: as fast as this process can write them, a burst).
    """
    from django.db import transaction
    from django.utils import timezone

    from orders.feedback.services import feedback_record
    from orders.models import Decision

    started = time.monotonic()
    for number, order in enumerate(orders):
        if rate and (wait := started + number / rate - time.monotonic()) > 0:
            time.sleep(wait)
        with transaction.atomic():
            now = timezone.now()
            decision = Decision.objects.create(
                order=order,
                decided_by=decider,
                decided_at=now,
                decision="approved",
                approved_amount_fen=order.loan_amount_fen,
                approved_term=12,
                term_unit="month",
                sequence_ms=int(now.timestamp() * 1000),
            )
            feedback_record(order=order, decision=decision)


def _worker(workers: int) -> subprocess.Popen:
    env = {**os.environ, "Q_CLUSTER_NAME": "deliveries", "JOB_WORKERS": str(workers), "DJANGO_DEBUG": "true"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _percentile(values: list[float], share: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]
        if len(values) > 1
        else values[0]
    )


def measure(*, deliveries: int, workers: int, rate: float = 0, timeout: float = 600) -> dict:
    from django.db.models import Max, Min

    from orders.models import Delivery

    receiver = _receiver()
    institution, decider, orders = _orders(deliveries, f"http://127.0.0.1:{receiver.server_address[1]}/feedback")
    worker = _worker(workers)
    try:
        time.sleep(3)  # the cluster's processes start
        _decide_all(orders, decider, rate)
        rows = Delivery.objects.filter(institution=institution)
        deadline = time.monotonic() + timeout
        while rows.filter(status="delivered").count() < deliveries:
            if time.monotonic() > deadline:
                raise SystemExit("timed out waiting for the deliveries")
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        receiver.shutdown()
    span = rows.aggregate(first=Min("created_at"), last=Max("delivered_at"))
    lags = [
        (delivered - created).total_seconds() * 1000
        for created, delivered in rows.values_list("created_at", "delivered_at")
    ]
    seconds = (span["last"] - span["first"]).total_seconds()
    return {
        "deliveries": deliveries,
        "workers": workers,
        "decisions_per_second_offered": rate or "burst",
        "deliveries_per_second": round(deliveries / seconds, 1),
        "lag_ms_p50": round(_percentile(lags, 0.50), 1),
        "lag_ms_p95": round(_percentile(lags, 0.95), 1),
        "attempts": sum(rows.values_list("attempt_count", flat=True)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url", help="postgres://.../<name with 'bench'> (migrated here)")
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=0, help="decisions per second (default: a burst)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    options = parser.parse_args(argv)
    _setup(options.database_url)
    figures = measure(deliveries=options.deliveries, workers=options.workers, rate=options.rate)
    if options.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
