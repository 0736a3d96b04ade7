"""One POST of a decision to a checked address, with hard bounds on time and on what is read back.

Why the standard library (`http.client`) rather than requests/urllib3/httpx:
the one thing this needs that those make awkward is to connect to an address
chosen and checked here (destinations.destination_check) while the Host header
and the TLS certificate check use the URL's name, so that a DNS answer that
changes between the check and the connection cannot redirect the request;
with `http.client` that is a three-line `connect()`. It follows no redirects,
and it reads exactly the bytes asked for, so a 10 MB answer is never read whole.
requests is only in the development tools here, and adding a runtime
dependency for a single POST would not pay for itself.
"""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from orders.feedback.destinations import Destination

CONNECT_TIMEOUT_SECONDS = 2.0
ANSWER_TIMEOUT_SECONDS = 5.0
# The most of an answer read: a success answer is a few dozen bytes; anything past this is not read at all.
ANSWER_MAX_BYTES = 64 * 1024
USER_AGENT = "decision-feedback/1"


@dataclass(frozen=True)
class Answer:
    """What came back: an HTTP status and the start of the body, or the transport error that prevented one."""

    status: int | None
    body: bytes = b""
    truncated: bool = False
    latency_ms: float = 0.0
    error_kind: str = ""  # a DeliveryErrorKind value when no HTTP answer came
    error: str = ""


class _PinnedConnectionMixin:
    """Connects to `address` (already checked), while the Host header and TLS use the URL's host name."""

    def __init__(self, host: str, port: int, *, address: str, **kwargs) -> None:
        super().__init__(host, port, timeout=ANSWER_TIMEOUT_SECONDS, **kwargs)
        self._address = address

    def _pinned_socket(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), timeout=CONNECT_TIMEOUT_SECONDS)
        sock.settimeout(ANSWER_TIMEOUT_SECONDS)
        return sock


class PinnedHTTPConnection(_PinnedConnectionMixin, http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = self._pinned_socket()


class PinnedHTTPSConnection(_PinnedConnectionMixin, http.client.HTTPSConnection):
    def connect(self) -> None:
        # The certificate is checked against the URL's host name, not the address connected to.
        self.sock = self._context.wrap_socket(self._pinned_socket(), server_hostname=self.host)


def post(destination: Destination, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `destination`; never raises for what the network or the receiver does."""
    started = time.monotonic()
    connection_class = PinnedHTTPSConnection if destination.scheme == "https" else PinnedHTTPConnection
    extra = {"context": ssl.create_default_context()} if destination.scheme == "https" else {}
    connection = connection_class(destination.host, destination.port, address=destination.address, **extra)
    try:
        connection.request(
            "POST",
            destination.target,
            body=body,
            headers={"User-Agent": USER_AGENT, "Content-Length": str(len(body)), **headers},
        )
        sock = connection.sock  # kept: the connection lets go of it once the answer says "Connection: close"
        response = connection.getresponse()
        content, truncated = _read_bounded(response, sock, started)
        return Answer(response.status, content, truncated, _elapsed_ms(started))
    except TimeoutError as error:
        return Answer(None, latency_ms=_elapsed_ms(started), error_kind="timeout", error=str(error) or "timed out")
    except ConnectionRefusedError as error:
        return Answer(None, latency_ms=_elapsed_ms(started), error_kind="connection_refused", error=str(error))
    except ssl.SSLError as error:
        return Answer(None, latency_ms=_elapsed_ms(started), error_kind="tls", error=str(error))
    except (OSError, http.client.HTTPException) as error:
        return Answer(None, latency_ms=_elapsed_ms(started), error_kind="connection", error=repr(error))
    finally:
        connection.close()


def _read_bounded(response: http.client.HTTPResponse, sock: socket.socket, started: float) -> tuple[bytes, bool]:
    """At most ANSWER_MAX_BYTES of the body, within the answer's time budget; (bytes, whether more was left)."""
    deadline = started + CONNECT_TIMEOUT_SECONDS + ANSWER_TIMEOUT_SECONDS
    chunks, size = [], 0
    while size <= ANSWER_MAX_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the answer took too long")
        # A receiver dripping one byte a second must not hold the worker past the budget.
        sock.settimeout(remaining)
        chunk = response.read1(ANSWER_MAX_BYTES + 1 - size)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:ANSWER_MAX_BYTES], True


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
