"""A real server for the fault and race tests: gunicorn workers on their own PostgreSQL database.

The tests in this package that need several processes start gunicorn here
against a database of their own (`<DATABASE_URL's name>_<suffix>`), migrated
by `manage.py migrate`, and talk to it over HTTP, as institutions do.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
postgres_only = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (SQLite cannot be made unreachable "
        "per database, and serialises writers so races cannot happen)",
    ),
]
_STARTUP_TIMEOUT_SECONDS = 60


def _configured() -> dict:
    return dj_database_url.parse(os.environ.get("DATABASE_URL", ""))


def admin_connection(dbname: str = "postgres") -> psycopg.Connection:
    """An autocommit connection outside the server under test, as an operator would open."""
    config = _configured()
    return psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname=dbname,
        autocommit=True,
    )


def database_url(name: str) -> str:
    config = _configured()
    password = f":{config['PASSWORD']}" if config["PASSWORD"] else ""
    return f"postgres://{config['USER']}{password}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{name}"


def server_env(url: str, **extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update({"DATABASE_URL": url, "DJANGO_DEBUG": "true", "PYTHONDONTWRITEBYTECODE": "1", **extra})
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(url: str, *args: str, **extra_env: str) -> str:
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=server_env(url, **extra_env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


@contextmanager
def dedicated_database(suffix: str):
    """A freshly migrated database of its own; dropped afterwards (backends included)."""
    name = f"{_configured()['NAME']}_{suffix}"
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    manage(url, "migrate", "--noinput", "-v0")
    try:
        yield name, url
    finally:
        with admin_connection() as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_institution(url: str, code: str) -> dict:
    """Credentials as `create_institution` prints them: {"api_token": ..., "channel_key": ...}."""
    output = manage(url, "create_institution", code, "--name", code)
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, base_url: str, log_path: Path) -> None:
        self.base_url = base_url
        self.log_path = log_path

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, parsed JSON or raw text) of one request; never raises on an HTTP error status."""
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, answer_headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, raw = error.code, error.headers, error.read()
        try:
            content = json.loads(raw)
        except ValueError:
            content = raw.decode("utf-8", "replace")
        return status, answer_headers, content

    def push(self, payload: dict, token: str, **headers):
        body = json.dumps(payload, ensure_ascii=False).encode()
        return self.request(
            "POST",
            "/api/v1/user-additional/",
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}", **headers},
        )


def _stop(process: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM to the process group, then SIGKILL if it has not exited within `grace` seconds."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _spawn(command: list[str], url: str, log_path: Path, **extra_env: str) -> subprocess.Popen:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=server_env(url, **extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def gunicorn(url: str, log_dir: Path, *, workers: int = 2, threads: int = 4, **extra_env: str):
    """gunicorn with `workers` processes of `threads` threads on 127.0.0.1, stopped (by its pid) afterwards."""
    port = _free_port()
    log_path = log_dir / f"gunicorn-{port}.log"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--threads={threads}",
        "--worker-class=gthread",
        "--timeout=120",
    ]
    process = _spawn(command, url, log_path, **extra_env)
    server = Server(f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while True:
            assert process.poll() is None, log_path.read_text(errors="replace")[-3000:]
            try:
                if server.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not come up:\n" + log_path.read_text()[-3000:]
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)


def wait_until(condition, what: str, timeout: float = 30) -> None:
    """Polls `condition` until true; fails the test (saying `what`) if it never is."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
