"""The benchmark's HTTP client side: one request timed, push headers, latency figures, unique order numbers."""

import itertools
import os
import statistics
import time
from dataclasses import dataclass, field

from bench.wsgi import FLOOR_PREFIX

PUSH_PATH = "/api/v1/user-additional/"
FLOOR_PATH = FLOOR_PREFIX + "push"
CLIENTS = 8
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


@dataclass
class Response:
    status: int
    seconds: float
    body: bytes = b""


def request(connection, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Response:
    started = time.perf_counter()
    connection.request(method, path, body=body, headers={**PROXY_HEADERS, **(headers or {})})
    response = connection.getresponse()
    data = response.read()
    return Response(response.status, time.perf_counter() - started, data)


def push_headers(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@dataclass
class Latency:
    samples: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000

    def as_dict(self) -> dict:
        return {"median_ms": round(self.median_ms, 2), "p95_ms": round(self.p95_ms, 2), "n": len(self.samples)}


_order_numbers = itertools.count()


def order_no(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{time.time_ns() // 1000}-{next(_order_numbers)}"
