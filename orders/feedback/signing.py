"""The two signatures of a decision delivery: the protocol family's MD5 envelope and the webhook's HMAC header.

Channel mode signs like the family's own calls (the intake door checks the same
formula on the way in): `signKey = ua + key + ua`, `sign = md5(signKey + call +
signKey + args + signKey)`, lowercase hex over the UTF-8 bytes; MD5 is the
family's choice, kept so that integrators' existing code verifies it. Webhook
mode is the common `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` header:
the timestamp inside the signed text lets a receiver refuse replays.
"""

import hashlib
import hmac
import json
from urllib.parse import urlencode

FEEDBACK_CALL = "Partner.Order.approveFeedback"


def channel_sign(*, ua: str, key: str, call: str, args: str) -> str:
    sign_key = ua + key + ua
    return hashlib.md5((sign_key + call + sign_key + args + sign_key).encode("utf-8")).hexdigest()


def channel_body(*, ua: str, key: str, args: dict, timestamp: int) -> bytes:
    """The form-urlencoded envelope `ua, call, args, sign, timeStamp`; `args` is compact JSON, UTF-8 as is."""
    args_text = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
    fields = {
        "ua": ua,
        "call": FEEDBACK_CALL,
        "args": args_text,
        "sign": channel_sign(ua=ua, key=key, call=FEEDBACK_CALL, args=args_text),
        "timeStamp": str(timestamp),
    }
    return urlencode(fields).encode("ascii")


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Signature` header's value for `body` sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_body(*, event_id: str, created: str, data: dict) -> bytes:
    event = {"id": event_id, "type": "order.decision", "created": created, "data": data}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
