"""The order page at its worst: every push an outsider can make about one orderNo, then the page as a reviewer opens it.

The pushes are the attack of the privacy issue, made over HTTP as an institution
would: one accepted order, 19 conflicting pushes of the same orderNo just under
the body limit (each answered 409 and kept whole in the push log) and one push
flooding `deviceInfo` with 200,000 unknown keys (refused, and logged under the
same orderNo). The page must stay bounded whatever was pushed; the runner
reports its time and size.
"""

import json
import math

from bench.payloads import push_document

CONFLICTING_PUSHES = 19
UNKNOWN_KEY_FLOOD = 200_000
# Just under the default PUSH_MAX_BODY_BYTES (5 MiB), so every conflicting push is stored whole.
BODY_BYTES = 5 * 1024 * 1024 - 64 * 1024
# Under the default PUSH_MAX_UNKNOWN_KEYS (200), so the padding is accepted as pushed.
PADDING_KEYS = 150


def _encoded(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def conflicting_body(order_no: str, n: int) -> bytes:
    """A valid push of `order_no` (different content for each `n`), padded with unknown device keys to BODY_BYTES."""
    document = push_document(order_no, book_size=1_000, n=n)
    room = BODY_BYTES - len(_encoded(document))
    value_length = max(0, math.floor(room / PADDING_KEYS) - 16)
    device = document["userAdditional"]["deviceInfo"]
    device.update({f"vendorField{key:03d}": "x" * value_length for key in range(PADDING_KEYS)})
    return _encoded(document)


def unknown_key_flood(order_no: str) -> bytes:
    document = push_document(order_no, book_size=10)
    document["userAdditional"]["deviceInfo"].update({f"k{key}": "1" for key in range(UNKNOWN_KEY_FLOOD)})
    return _encoded(document)


def worst_case_pushes(order_no: str):
    """(label, body) in the order they are sent."""
    yield "accepted", _encoded(push_document(order_no, book_size=1_000))
    for n in range(1, CONFLICTING_PUSHES + 1):
        yield "conflicting", conflicting_body(order_no, n)
    yield "unknown_key_flood", unknown_key_flood(order_no)
