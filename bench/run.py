"""The benchmark runner: PostgreSQL, a real gunicorn, the floor beside the platform, a table and JSON.

Two databases: `<name>_empty` (fresh every run) for ingest at an empty table,
and `<name>` with `--orders` generated orders for everything "at scale". Every
figure that has a target is a ratio of two things measured side by side in the
same run, because the machines are shared and noisy.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.client import CLIENTS, FLOOR_PATH, PROXY_HEADERS, PUSH_PATH, Latency, order_no, push_headers, request
from bench.deliveries import deliveries_benchmark
from bench.floor import floor_job_table_ddl
from bench.load import Signals, job_workers, lock_waits, measure_hot_identifier, measure_throughput, waits_between
from bench.payloads import push_body
from bench.worst_case import worst_case_pushes

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench"
EXPORT_PATH = "/api/v1/orders/?format=csv"
WORKERS = 2
# qcluster worker processes of the `signals` queue beside gunicorn (2 cores: one per core).
JOB_WORKERS = 2
INGEST_PAUSE_SECONDS = 0.02
BIG_BOOK = 3_000

# The 36 columns of orders.exports.ORDER_COLUMNS (risk flags last), read straight
# from the tables in the export's order: what "the same rows by COPY" means for section 4.
EXPORT_COPY_SQL = """
COPY (
    SELECT o.id, o.order_no, i.code, o.received_at, o.door, o.loan_amount_fen,
           (o.loan_amount_fen / 100.0)::numeric(14, 2), o.user_phone, o.review_status, o.review_updated_at,
           o.address_book_count, d.device_id, d.device_name, d.os_type, d.os_kind, d.os_version, d.last_login_at,
           d.ip, d.gps_longitude, d.gps_latitude, d.gps_address, d.wifi, d.battery_percent, d.carrier,
           d.app_market, d.is_root, d.is_simulator, d.imei, d.android_id, d.idfa, e.company_name, e.province,
           e.city, e.district, e.tel_no,
           coalesce((SELECT string_agg(rs.code, ';' ORDER BY rs.code) FROM orders_risksignal rs
                     WHERE rs.order_id = o.id), '')
    FROM orders_order o
    JOIN intake_institution i ON i.id = o.institution_id
    LEFT JOIN orders_device d ON d.order_id = o.id
    LEFT JOIN orders_employer e ON e.order_id = o.id
    ORDER BY o.received_at DESC, o.id DESC
) TO STDOUT WITH (FORMAT csv, HEADER)
"""


# --- Databases -------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def recreate_database(url: str) -> None:
    """Drop and create a benchmark database; refuses any name without "bench" in it."""
    name = database_name(url)
    if "bench" not in name:
        raise SystemExit(f"Refusing to recreate database {name!r}: benchmark databases have 'bench' in their name.")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def manage(url: str, *args: str, quiet: bool = True) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=server_env(url),
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if quiet else None,
        text=True,
    )
    return result.stdout


def prepare(url: str) -> dict:
    """Schema, static files, an institution and an admin session for this database."""
    manage(url, "migrate", "--noinput")
    manage(url, "createcachetable")
    sql(url, floor_job_table_ddl("postgresql"))
    output = subprocess.run(
        [PYTHON, "-m", "bench.prepare"], cwd=ROOT, env=server_env(url), check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def sql(url: str, query: str, params=()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(query, params)
        return cursor.fetchall() if cursor.description else []


# --- The server -------------------------------------------------------------------------


def server_env(url: str, institution_id: int | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or "benchmark-only-secret-" + "x" * 40,
        DJANGO_LOG_LEVEL="WARNING",
        # As in production behind a TLS-terminating proxy (requests carry X-Forwarded-Proto).
        DJANGO_SECURE_PROXY_SSL_HEADER="true",
        PYTHONPATH=str(ROOT),
    )
    if institution_id is not None:
        env["BENCH_FLOOR_INSTITUTION_ID"] = str(institution_id)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids


@contextmanager
def gunicorn(url: str, institution_id: int):
    """A real gunicorn (sync workers) on 127.0.0.1 serving the project and the floor; stopped on exit."""
    port = free_port()
    server_log = ROOT / "var" / "bench" / "gunicorn.log"
    server_log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            GUNICORN,
            "bench.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            # A million-row export streams for longer than gunicorn's default 30 s.
            "--timeout",
            "900",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env(url, institution_id),
        # The server's own log (errors included) goes to a file, not into the table.
        stdout=server_log.open("a"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(http.client.HTTPConnection("127.0.0.1", port), "GET", "/healthz").status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not come up")
            time.sleep(0.2)
        server = Server(port, process)
        while len(server.worker_pids()) < WORKERS:
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def measure_ingest(
    server: Server, token: str, signals: Signals, *, rounds: int, book_size: int = 1_000, warmup: int = 10
) -> dict:
    """Platform and floor pushes alternated one for one, so both see the same machine.

    After each push the runner waits until no order's signals are pending (the
    workers run the platform's job) and then a short pause, so a push never
    shares the machine with the job of the one before, which may be the floor's.
    """
    connection = http.client.HTTPConnection("127.0.0.1", server.port)
    platform, floor = Latency(), Latency()
    for round_number in range(warmup + rounds):
        pair = [
            ("platform", PUSH_PATH, push_headers(token), platform),
            ("floor", FLOOR_PATH, {"Content-Type": "application/json"}, floor),
        ]
        if round_number % 2:
            pair.reverse()
        for kind, path, headers, latency in pair:
            body = push_body(order_no(kind[:2].upper()), book_size=book_size, n=round_number)
            response = request(connection, "POST", path, body, headers)
            if response.status != 201:
                raise SystemExit(f"{kind} push answered {response.status}: {response.body[:500]!r}")
            if round_number >= warmup:
                latency.samples.append(response.seconds)
            signals.drained()
            time.sleep(INGEST_PAUSE_SECONDS)
    return {
        "book_size": book_size,
        "platform": platform.as_dict(),
        "floor": floor.as_dict(),
        "ratio": round(platform.median_ms / floor.median_ms, 2),
    }


def measure_page(server: Server, cookie: str, path: str, *, repeat: int = 7) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    headers = {"Cookie": cookie}
    first = request(connection, "GET", path, headers=headers)  # warm-up: caches, connections
    samples = Latency([request(connection, "GET", path, headers=headers).seconds for _ in range(repeat)])
    return {"path": path, "status": first.status, "bytes": len(first.body), **samples.as_dict()}


def measure_worst_case_page(server: Server, token: str, cookie: str, url: str) -> dict:
    """Push the worst case about one orderNo (bench/worst_case.py), then time its order page."""
    worst = order_no("WORST")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    answers: dict[str, list[int]] = {}
    for label, body in worst_case_pushes(worst):
        answers.setdefault(label, []).append(request(connection, "POST", PUSH_PATH, body, push_headers(token)).status)
    worst_id = sql(url, "SELECT id FROM orders_order WHERE order_no = %s", [worst])[0][0]
    stored = sql(
        url, "SELECT count(*), coalesce(sum(length(body)), 0) FROM intake_pushlog WHERE order_no = %s", [worst]
    )
    page = measure_page(server, cookie, f"/admin/orders/order/{worst_id}/change/")
    return page | {
        "answers": {label: sorted(set(statuses)) for label, statuses in answers.items()},
        "push_log_rows": stored[0][0],
        "push_log_body_bytes": int(stored[0][1]),
    }


def rss_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def measure_export(server: Server, cookie: str, url: str) -> dict:
    """The CSV export streamed to the end, with its worker's peak memory; then COPY of the same rows."""
    pids = server.worker_pids()
    baseline = {pid: rss_kib(pid, "VmRSS") for pid in pids}
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=900)
    started = time.perf_counter()
    connection.request("GET", EXPORT_PATH, headers={**PROXY_HEADERS, "Cookie": cookie})
    response = connection.getresponse()
    if response.status != 200:
        body = response.read()[:300]
        return {"skipped": f"GET {EXPORT_PATH} answered {response.status} (export not available yet?): {body!r}"}
    peak_sampled = dict(baseline)
    size = lines = 0
    while chunk := response.read(1 << 16):
        size += len(chunk)
        lines += chunk.count(b"\n")
        for pid in pids:
            peak_sampled[pid] = max(peak_sampled[pid], rss_kib(pid, "VmRSS"))
    export_seconds = time.perf_counter() - started
    hwm = {pid: rss_kib(pid, "VmHWM") for pid in pids}
    serving = max(pids, key=lambda pid: peak_sampled[pid] - baseline[pid])
    rows = max(lines - 1, 0)

    started = time.perf_counter()
    copy_size = copy_lines = 0
    with psycopg.connect(url) as database, database.cursor() as cursor, cursor.copy(EXPORT_COPY_SQL) as copy:
        for block in copy:
            copy_size += len(block)
            copy_lines += bytes(block).count(b"\n")
    copy_seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "bytes": size,
        "seconds": round(export_seconds, 2),
        "rows_per_second": round(rows / export_seconds),
        "peak_rss_mb": round(hwm[serving] / 1024, 1),
        "rss_before_mb": round(baseline[serving] / 1024, 1),
        "copy_rows": max(copy_lines - 1, 0),
        "copy_seconds": round(copy_seconds, 2),
        "copy_rows_per_second": round(max(copy_lines - 1, 0) / copy_seconds),
        "ratio": round(export_seconds / copy_seconds, 2),
    }


# --- The run ------------------------------------------------------------------------------


def generate(url: str, orders: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", "generate_orders", "--count", str(orders), "--seed", "1"],
        cwd=ROOT,
        env=server_env(url),
        check=True,
    )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000, help="Orders in the scale database (default 1M).")
    parser.add_argument("--skip-generate", action="store_true", help="Reuse the scale database as it is.")
    parser.add_argument("--rounds", type=int, default=60, help="Ingest pushes per side (default 60).")
    parser.add_argument(
        "--throughput-pushes",
        type=int,
        default=400,
        help="Pushes per side for throughput with 100-entry books (a third of it with 1,000); default 400.",
    )
    parser.add_argument("--blocks", type=int, default=4, help="Alternating blocks per side of a throughput figure.")
    parser.add_argument(
        "--hot-orders", type=int, default=5_000, help="Pushes per side of the hot-identifier figure (default 5,000)."
    )
    parser.add_argument("--job-workers", type=int, default=JOB_WORKERS, help="qcluster worker processes (default 2).")
    parser.add_argument(
        "--empty-only", action="store_true", help="Only section 1 (empty database: ingest, throughput, hot identifier)."
    )
    parser.add_argument(
        "--deliveries",
        type=int,
        default=500,
        help="Decisions delivered to a loopback receiver by the deliveries workers (default 500; 0 skips).",
    )
    parser.add_argument(
        "--delivery-workers", type=int, default=8, help="Worker processes of the deliveries queue (default 8)."
    )
    return parser.parse_args(argv)


@contextmanager
def serving(url: str, institution_id: int, workers: int):
    """gunicorn (platform and floor) and the `signals` workers against one database, and a watch on its signals."""
    with gunicorn(url, institution_id) as server, job_workers(server_env(url), workers):
        signals = Signals(url)
        try:
            signals.drained()  # whatever an earlier run left pending
            yield server, signals
        finally:
            signals.close()


def main(argv=None) -> int:
    args = parse_args(argv)
    # Stopped with SIGTERM, still stop gunicorn (the context managers' exits run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"The benchmark runs on PostgreSQL; DATABASE_URL is {url!r}.")
    empty_url = with_database(url, database_name(url) + "_empty")
    load_before = os.getloadavg()
    results: dict = {
        "started_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "gunicorn_workers": WORKERS, "clients": CLIENTS},
        "orders": args.orders,
    }
    manage(url, "collectstatic", "--noinput")

    log("1/5 ingest, throughput and a hot identifier on an empty database, with the signals' workers")
    recreate_database(empty_url)
    credentials = prepare(empty_url)
    token = credentials["api_token"]
    with serving(empty_url, credentials["institution_id"], args.job_workers) as (server, signals):
        results["ingest_empty"] = measure_ingest(server, token, signals, rounds=args.rounds)
        # Statistics for the tables the ingest just filled, as autovacuum gives them within a
        # minute in production; some machines' PostgreSQL runs with autovacuum off, and look-ups
        # planned without statistics would make the throughput figure about a machine setting.
        sql(empty_url, "ANALYZE")
        results["machine"]["postgres_autovacuum"] = sql(empty_url, "SHOW autovacuum")[0][0]
        env = server_env(empty_url)
        before = lock_waits(env)
        results["throughput"] = [
            measure_throughput(server.port, token, signals, book_size=size, pushes=pushes, blocks=args.blocks)
            for size, pushes in ((100, args.throughput_pushes), (1_000, max(40, args.throughput_pushes // 3)))
        ]
        after = lock_waits(env)
        results["throughput_lock_waits"] = waits_between(before, after)
        if args.hot_orders:
            results["hot_identifier"] = measure_hot_identifier(
                server.port, token, signals, orders=args.hot_orders, blocks=max(2, args.hot_orders // 500)
            )
            results["hot_identifier"]["lock_waits"] = waits_between(after, lock_waits(env))
    results["machine"]["job_workers"] = args.job_workers
    if args.deliveries:
        # Decisions back to the institutions: a burst through the deliveries queue's own workers,
        # on a database of its own, with nothing else running.
        deliveries_url = with_database(url, database_name(url) + "_deliveries")
        recreate_database(deliveries_url)
        results["deliveries"] = deliveries_benchmark(
            deliveries_url, deliveries=args.deliveries, workers=args.delivery_workers
        )
    if args.empty_only:
        return finish(results, load_before)

    if args.skip_generate:
        log(f"2/5 reusing {database_name(url)}")
    else:
        log(f"2/5 generating {args.orders:,} orders into {database_name(url)}")
        recreate_database(url)
        manage(url, "migrate", "--noinput")
        results["generate_seconds"] = round(generate(url, args.orders), 1)
    credentials = prepare(url)
    results["orders_in_database"], results["entries_in_database"] = sql(
        url, "SELECT (SELECT count(*) FROM orders_order), (SELECT count(*) FROM orders_addressbookentry)"
    )[0]

    log("3/5 ingest at scale, reviewers' pages")
    with serving(url, credentials["institution_id"], args.job_workers) as (server, signals):
        big = order_no("BIG")
        connection = http.client.HTTPConnection("127.0.0.1", server.port)
        response = request(
            connection, "POST", PUSH_PATH, push_body(big, book_size=BIG_BOOK), push_headers(credentials["api_token"])
        )
        if response.status != 201:
            raise SystemExit(f"3,000-entry push answered {response.status}: {response.body[:300]!r}")
        results["ingest_scale"] = measure_ingest(server, credentials["api_token"], signals, rounds=args.rounds)
        big_id = sql(url, "SELECT id FROM orders_order WHERE order_no = %s", [big])[0][0]
        phone = sql(
            url,
            "SELECT user_phone FROM orders_order ORDER BY id LIMIT 1 OFFSET %s",
            [results["orders_in_database"] // 2],
        )[0][0]
        cookie = credentials["session_cookie"]
        results["reviewers"] = {
            "changelist": measure_page(server, cookie, "/admin/orders/order/"),
            "changelist_filtered": measure_page(server, cookie, "/admin/orders/order/?review_status=approved"),
            "phone_search": measure_page(server, cookie, f"/admin/orders/order/?q={phone}"),
            "order_page_3000_entries": measure_page(server, cookie, f"/admin/orders/order/{big_id}/change/"),
        }
        results["worst_case_order_page"] = measure_worst_case_page(server, credentials["api_token"], cookie, url)

    log("4/5 CSV export against COPY (fresh workers, so peak memory is the export's)")
    with gunicorn(url, credentials["institution_id"]) as server:
        results["export"] = measure_export(server, credentials["session_cookie"], url)
    # An analyst's export: every personal column masked per the privacy policy, against the same COPY.
    with gunicorn(url, credentials["institution_id"]) as server:
        results["export_masked"] = measure_export(server, credentials["analyst_session_cookie"], url)

    results["growth_ratio"] = round(
        results["ingest_scale"]["platform"]["median_ms"] / results["ingest_empty"]["platform"]["median_ms"], 2
    )
    return finish(results, load_before)


def finish(results: dict, load_before: tuple) -> int:
    log("5/5 done")
    results["machine"]["load_average_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    results["finished_at"] = datetime.now(tz=UTC).isoformat(timespec="seconds")
    print(table(results))
    write_json(results)
    return 0


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def verdict_at_least(value: float, target: float) -> str:
    return "ok" if value >= target else "MISSED"


# Targets (issue 15): ratios to what runs beside it in the same run.
INGEST_TARGET = 1.3
THROUGHPUT_TARGETS = {100: 0.6, 1_000: 0.8}
LAG_P95_TARGET_MS = 2_000
HOT_TARGET = 0.8


def ingest_rows(ingest: dict, label: str) -> list[tuple]:
    platform, floor = ingest["platform"], ingest["floor"]
    return [
        (
            f"1 ingest, 1,000 entries ({label}): platform / floor",
            f"{platform['median_ms']:.1f} / {floor['median_ms']:.1f} ms = {ingest['ratio']:.2f}x"
            f" (p95 {platform['p95_ms']:.1f} / {floor['p95_ms']:.1f})",
            f"<= {INGEST_TARGET}x",
            verdict(ingest["ratio"], INGEST_TARGET),
        )
    ]


def load_rows(results: dict) -> list[tuple]:
    rows = []
    for item in results["throughput"]:
        platform, floor, size = item["platform"], item["floor"], item["book_size"]
        failed = platform["failures"] + floor["failures"]
        rows.append(
            (
                f"2 throughput, {size:,} entries: platform / floor",
                f"{platform['pushes_per_second']:.1f} / {floor['pushes_per_second']:.1f} pushes/s"
                f" = {item['ratio']:.2f}x (answered only: {platform['answered_per_second']:.1f}/s)",
                f">= {THROUGHPUT_TARGETS[size]}x",
                f"{failed} FAILED" if failed else verdict_at_least(item["ratio"], THROUGHPUT_TARGETS[size]),
            )
        )
        rows.append(
            (
                "  signal lag after the answer, p50 / p95",
                f"{platform['lag_p50_ms']:.0f} / {platform['lag_p95_ms']:.0f} ms (max {platform['lag_max_ms']:.0f})",
                f"p95 <= {LAG_P95_TARGET_MS / 1000:g} s",
                verdict(platform["lag_p95_ms"], LAG_P95_TARGET_MS),
            )
        )
    waits = results["throughput_lock_waits"]
    rows.append(("  signal lock waits over that run", _waits(waits), "", ""))
    hot = results.get("hot_identifier")
    if hot:
        failed = hot["hot"]["failures"] + hot["pairs"]["failures"]
        rows += [
            (
                f"2 one IMEI on every push / IMEIs in pairs ({hot['orders']:,} each)",
                f"{hot['hot']['pushes_per_second']:.1f} / {hot['pairs']['pushes_per_second']:.1f} pushes/s"
                f" = {hot['ratio']:.2f}x",
                f">= {HOT_TARGET}x",
                f"{failed} FAILED" if failed else verdict_at_least(hot["ratio"], HOT_TARGET),
            ),
            (
                "  signal lag p95, one IMEI / pairs",
                f"{hot['hot']['lag_p95_ms']:.0f} / {hot['pairs']['lag_p95_ms']:.0f} ms",
                "",
                "",
            ),
            ("  signal lock waits over that run", _waits(hot["lock_waits"]), "", ""),
        ]
    return rows


def delivery_rows(results: dict) -> list[tuple]:
    figures = results.get("deliveries")
    if not figures:
        return []
    return [
        (
            f"2 decisions delivered to a loopback receiver ({figures['deliveries']:,}, {figures['workers']} workers)",
            f"{figures['deliveries_per_second']:.1f} deliveries/s ({figures['attempts']:,} attempts)",
            "",
            "",
        ),
        (
            "  decision -> delivered lag, p50 / p95",
            f"{figures['lag_ms_p50']:.0f} / {figures['lag_ms_p95']:.0f} ms",
            "",
            "",
        ),
    ]


def _waits(waits: dict) -> str:
    return str(waits["lock_waits"]) if waits["lock_waits"] is not None else waits["note"]


def table(results: dict) -> str:
    rows = ingest_rows(results["ingest_empty"], "empty")
    if "ingest_scale" in results:
        rows += ingest_rows(results["ingest_scale"], "at scale")
    rows += load_rows(results)
    rows += delivery_rows(results)
    for name, page in results.get("reviewers", {}).items():
        ok = page["status"] == 200
        rows.append(
            (
                f"3 {name}",
                f"{page['median_ms']:.0f} ms (p95 {page['p95_ms']:.0f})" + ("" if ok else f" HTTP {page['status']}"),
                "< 300 ms",
                verdict(page["median_ms"], 300) if ok else "n/a",
            )
        )
    worst = results.get("worst_case_order_page")
    if worst:
        rows.append(
            (
                "3 order page, worst case pushed",
                f"{worst['median_ms']:.0f} ms, {worst['bytes'] / 1e6:.2f} MB page"
                f" ({worst['push_log_rows']} pushes, {worst['push_log_body_bytes'] / 1e6:.0f} MB stored)",
                "< 2 MB",
                verdict(worst["bytes"], 2e6) if worst["status"] == 200 else f"HTTP {worst['status']}",
            )
        )
    for key, label in (("export", "4 CSV export (unmasked)"), ("export_masked", "4 CSV export (analyst, masked)")):
        if key in results:
            rows += export_rows(results[key], label)
    if "growth_ratio" in results:
        rows.append(
            (
                "5 growth: ingest at scale / empty",
                f"{results['growth_ratio']:.2f}x",
                "<= 1.3x",
                verdict(results["growth_ratio"], 1.3),
            )
        )
    widths = [max(len(str(row[column])) for row in rows) for column in range(4)]
    machine = results["machine"]
    header = (
        f"Benchmark: {results.get('orders_in_database', 0):,} orders, {results.get('entries_in_database', 0):,} "
        f"address-book entries, {machine['cpus']} CPUs (shared), gunicorn {WORKERS} sync workers, "
        f"{machine['job_workers']} signal workers, {CLIENTS} clients"
    )
    lines = [header, "-" * len(header)]
    lines += [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def export_rows(export: dict, label: str) -> list[tuple]:
    if "skipped" in export:
        return [(label, "skipped", "", export["skipped"][:60])]
    return [
        (
            label,
            f"{export['rows']:,} rows, {export['seconds']} s, {export['rows_per_second']:,} rows/s",
            "",
            "",
        ),
        (
            "  COPY same rows",
            f"{export['copy_rows']:,} rows, {export['copy_seconds']} s, {export['copy_rows_per_second']:,} rows/s",
            "",
            "",
        ),
        ("  ratio to COPY", f"{export['ratio']:.2f}x", "<= 3x", verdict(export["ratio"], 3)),
        (
            "  peak RSS of serving worker",
            f"{export['peak_rss_mb']} MB (before {export['rss_before_mb']} MB)",
            "< 200 MB",
            verdict(export["peak_rss_mb"], 199.9),
        ),
    ]


def write_json(results: dict) -> Path:
    directory = ROOT / "var" / "bench"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{datetime.now(tz=UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    shutil.copyfile(path, directory / "latest.json")
    log(f"wrote {path.relative_to(ROOT)} and var/bench/latest.json")
    return path
