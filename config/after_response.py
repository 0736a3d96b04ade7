"""Work that a request hands over to run once its response has been sent, in the same worker.

Why: some work belongs to a request but not to its answer (the risk signals of
an accepted push). Run after the response body has gone out, it costs the
caller no latency, yet it still runs in this process before the worker takes
its next request: no queue, broker or second process to operate, and the
throughput figures still pay for it. It is not durable by itself: work that
must not be lost keeps a marker in the database that a sweep finishes if the
worker dies first (the risk signals: `Order.risk_pending` and
`recompute_risk_signals --pending`).

`AfterResponseMiddleware` marks the span of a request in which work is
deferred; Django's `request_finished` signal, which `HttpResponse.close()`
sends, runs it: WSGI servers call `close()` after writing the body, and
Django's test client calls it before returning the response, so tests see
the work done. Outside a request (management commands, a shell, a test calling
a service directly) there is no response to wait for, and the work runs at once.
"""

import contextvars
import logging
import threading
from collections.abc import Callable

from django.core.signals import request_finished

logger = logging.getLogger(__name__)

_state = threading.local()


def run_after_response(work: Callable[..., object], /, *args, **kwargs) -> None:
    """Run `work(*args, **kwargs)` after the current response is sent (at once outside a request).

    `work` must handle its own expected failures: the caller already has its
    answer, so an unexpected exception can only be logged (`report_failure`).
    """
    queue = getattr(_state, "queue", None)
    if queue is None:
        work(*args, **kwargs)
        return
    # The request's context (its request id for the logs) goes along with the work.
    queue.append((contextvars.copy_context(), work, args, kwargs))


def report_failure(work: Callable[..., object], error: Exception) -> None:
    """Log work that raised after the response; tests replace this to fail loudly instead."""
    logger.error("Work after the response failed: %s", getattr(work, "__qualname__", work), exc_info=error)


class AfterResponseMiddleware:
    """Defers `run_after_response` work of the request until its response is closed.

    First in MIDDLEWARE, so that every layer of the request is inside it. The
    span is reset however the request ends, so work asked for outside any
    request never waits for a response that will not come.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _state.queue = []
        try:
            return self.get_response(request)
        finally:
            queue, _state.queue = _state.queue, None
            # Handed to the close of this response (or, if a server never closes it, of the next one).
            _state.ready = [*getattr(_state, "ready", ()), *queue]


def _run_ready(**kwargs) -> None:
    ready, _state.ready = getattr(_state, "ready", ()), []
    for context, work, args, kw in ready:
        try:
            context.run(work, *args, **kw)
        except Exception as error:
            report_failure(work, error)


def connect() -> None:
    """Run deferred work when a response is closed (from an AppConfig.ready); idempotent."""
    request_finished.connect(_run_ready, dispatch_uid="config.after_response")
