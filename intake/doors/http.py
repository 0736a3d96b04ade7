"""HTTP helpers both doors share: reading a push body within its limit, and the request's push context."""

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _

from config.errors import LengthRequired, PayloadTooLarge
from intake import services


def request_context(request, door: str) -> services.PushContext:
    """Who pushed through which door, for the push log."""
    return services.PushContext(
        door=door,
        # The client as the admin lockout sees it: REMOTE_ADDR, or behind a trusted proxy
        # (DJANGO_SECURE_PROXY_SSL_HEADER) the address it forwarded, so refusal limits are per caller.
        remote_addr=get_client_ip_address(request) or None,
        request_id=request.META.get("HTTP_X_REQUEST_ID", "")[:64],
    )


_READ_CHUNK_BYTES = 64 * 1024


def read_body(request) -> bytes:
    """The raw body, refused early when over the push limit (413) so it is never buffered.

    A chunked body (`Transfer-Encoding: chunked`, no Content-Length) is read
    from the server's de-chunked input, at most limit + 1 bytes of it, so an
    endless body costs no more memory than the largest accepted one. Servers
    that cannot de-chunk (they do not set `wsgi.input_terminated`, as Django's
    runserver) get 411: reading their input would return the chunk framing.
    """
    limit = settings.PUSH_MAX_BODY_BYTES
    too_large = PayloadTooLarge(_("Request body is larger than %(limit)s bytes.") % {"limit": limit})
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        if not request.META.get("wsgi.input_terminated"):
            raise LengthRequired()
        body = _read_at_most(request.META["wsgi.input"], limit + 1)
        if len(body) > limit:
            raise too_large
        return body
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(body) > limit:
        raise too_large
    return body


def _read_at_most(stream, size: int) -> bytes:
    chunks, read = [], 0
    while read < size:
        chunk = stream.read(min(_READ_CHUNK_BYTES, size - read))
        if not chunk:
            break
        chunks.append(chunk)
        read += len(chunk)
    return b"".join(chunks)
