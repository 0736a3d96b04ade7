"""A newcomer's first day: no dead "View site" link, a favicon, refusals without tracebacks, a quiet `make run`."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.test import Client

from config.logging import JsonFormatter
from tests.factories import ReviewerFactory, UserFactory
from tests.reliability.live import BASE_DIR


@pytest.fixture
def console_lines():
    """What the configured console handler writes (JSON lines), as the terminal or the log collector sees it."""
    (handler,) = [h for h in logging.getLogger("django").handlers if isinstance(h.formatter, JsonFormatter)]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def test_the_favicon_is_served_on_every_page_s_behalf(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00"  # an icon file, not an error page


@pytest.mark.django_db
def test_the_admin_has_no_view_site_link_to_a_missing_page():
    browser = Client()
    browser.force_login(UserFactory(is_superuser=True))

    page = browser.get("/admin/").content.decode()

    assert "View site" not in page
    assert 'href="/"' not in page


@pytest.mark.django_db
def test_a_refused_page_is_logged_as_a_warning_without_a_traceback(console_lines):
    # given a reviewer, who may not manage staff accounts
    browser = Client()
    browser.force_login(ReviewerFactory())

    # when they open the staff accounts
    response = browser.get("/admin/auth/user/")

    # then: a 403, one warning naming the path, and no stack
    assert response.status_code == 403
    lines = console_lines()
    refusal = [line for line in lines if line["logger"] == "django.request"]
    assert [(line["level"], line["message"]) for line in refusal] == [
        ("WARNING", "Forbidden (Permission denied): /admin/auth/user/")
    ]
    assert not [line for line in lines if "exception" in line]


def test_a_server_error_keeps_its_traceback(console_lines):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").error(
            "Internal Server Error: %s", "/x", exc_info=sys.exc_info(), extra={"status_code": 500}
        )

    (line,) = console_lines()
    assert "RuntimeError: boom" in line["exception"]


def test_make_run_s_preparation_prints_nothing_when_there_is_nothing_to_say(tmp_path):
    # `make run` runs these before the credentials; run twice, the second finds the table there
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DJANGO_DEBUG": "true"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    outputs = [
        subprocess.run(
            [sys.executable, "manage.py", "createcachetable", "--verbosity", "0"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for _ in range(2)
    ]

    assert [(done.stdout, done.stderr) for done in outputs] == [("", ""), ("", "")]
    makefile = (BASE_DIR / "Makefile").read_text("utf-8")
    assert "manage.py migrate --noinput --verbosity 0" in makefile
    assert "manage.py createcachetable --verbosity 0" in makefile
