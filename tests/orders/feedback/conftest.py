"""A real HTTP receiver on loopback, and institutions that send their decisions to it."""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from orders.choices import ReviewStatus, TermUnit
from orders.feedback import sender, services
from orders.institutions import institution_rotate_webhook_secret
from orders.models import Decision, FeedbackMode
from tests.factories import InstitutionFactory, OrderFactory, UserFactory

TEN_MB = 10 * 1024 * 1024


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next of `answers` (then `default`) and keeps what it received."""

    port: int = 0
    answers: deque = field(default_factory=deque)
    default: str = "ok"
    received: list = field(default_factory=list)
    big_write_completed: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/feedback?x=1"

    def answer(self, *names: str) -> None:
        self.answers.extend(names)

    def next_answer(self) -> str:
        return self.answers.popleft() if self.answers else self.default


ANSWERS = {
    # name: (HTTP status, body, extra headers)
    "ok": (200, b'{"status": 1, "message": "success"}', {}),
    "ok_string": (200, b'{"status": "1", "message": "success"}', {}),
    "status_0": (200, b'{"status": 0, "message": "unknown order 13912345678"}', {}),
    "status_true": (200, b'{"status": true}', {}),
    "not_json": (200, b"<html>ok</html>", {}),
    "created": (201, b'{"status": 1}', {}),
    "no_content": (204, b"", {}),
    "error_500": (500, b"Internal Server Error", {}),
    "redirect": (302, b"", {"Location": "/elsewhere"}),
}


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.received.append(Received(self.path, dict(self.headers), body))
            name = receiver.next_answer()
            if name == "timeout":
                time.sleep(1.5)  # past the (shortened) answer timeout
                return
            if name == "big":
                self._big()
                return
            status, content, headers = ANSWERS[name]
            self.send_response(status)
            for key, value in {"Content-Length": str(len(content)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(content)

        def _big(self):
            self.send_response(200)
            self.send_header("Content-Length", str(TEN_MB))
            self.end_headers()
            chunk = b'{"status": 1}' + b" " * (64 * 1024 - 13)
            try:
                for _ in range(TEN_MB // len(chunk)):
                    self.wfile.write(chunk)
                receiver.big_write_completed.append(True)
            except OSError:
                receiver.big_write_completed.append(False)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver():
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _loopback_allowed(settings, monkeypatch):
    settings.FEEDBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    # The contract's 5 s, shortened so that the timeout test takes a second, not five.
    monkeypatch.setattr(sender, "ANSWER_TIMEOUT_SECONDS", 0.5)


@pytest.fixture
def enqueued(monkeypatch):
    """Jobs recorded, not run: the test decides when each attempt happens."""
    jobs = []
    monkeypatch.setattr(services, "enqueue", lambda func, *args, **kwargs: jobs.append((func, args)))
    monkeypatch.setattr(services, "enqueue_at", lambda when, func, *args, **kwargs: jobs.append((func, args, when)))
    return jobs


def feedback_institution(mode: str, url: str):
    institution = InstitutionFactory(feedback_mode=mode, feedback_url=url)
    if mode == FeedbackMode.WEBHOOK:
        institution.webhook_secret_plain = institution_rotate_webhook_secret(institution=institution).webhook_secret
    return institution


def decided(institution, status: str = ReviewStatus.APPROVED, *, at=None, order=None, reason: str = ""):
    """A decision as order_decide records it (without the reviewer's claim): the order moved, a Decision row."""
    at = at or timezone.now()
    order = order or OrderFactory(institution=institution, loan_amount_fen=500_000)
    order.review_status, order.review_updated_at = status, at
    order.save(update_fields=["review_status", "review_updated_at"])
    approved = status == ReviewStatus.APPROVED
    return Decision.objects.create(
        order=order,
        decided_by=UserFactory(),
        decided_at=at,
        decision=status,
        approved_amount_fen=order.loan_amount_fen if approved else None,
        approved_term=12 if approved else None,
        term_unit=TermUnit.MONTH if approved else "",
        reason_code_id="insufficient_credit" if status == ReviewStatus.REJECTED else None,
        reason=reason,
        supplements=["userAdditional.workOfficeInfo.companyName"] if status == ReviewStatus.NEEDS_INFO else [],
        sequence_ms=int(at.timestamp() * 1000),
    )


def record(decision):
    """The delivery order_decide writes for `decision`."""
    return services.feedback_record(order=decision.order, decision=decision)


def answer_json(body: bytes) -> dict:
    return json.loads(body)
