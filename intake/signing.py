"""Signatures and timestamps of the signed channel envelope (docs/contract.md §3).

The protocol family signs with MD5 over `signKey = ua + key + ua` wrapped around
the raw `args` string (and the `call` name, on the legacy dispatch). MD5 is the
family's choice, not ours: integrators' existing clients compute exactly this,
and the secret key inside the digest is what makes it unforgeable.
"""

import hashlib
import hmac


def channel_sign(*, ua: str, key: str, args: str, call: str | None = None) -> str:
    """The envelope's signature, lowercase hex.

    Without `call`: md5(signKey + args + signKey); with it:
    md5(signKey + call + signKey + args + signKey). Strings are hashed as UTF-8,
    the encoding every payload is sent in.
    """
    sign_key = ua + key + ua
    signed = args if call is None else call + sign_key + args
    text = sign_key + signed + sign_key
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # the protocol's algorithm


def channel_sign_matches(*, ua: str, key: str, args: str, sign: str, call: str | None = None) -> bool:
    """Whether `sign` is the envelope's signature; uppercase hex accepted, compared in constant time."""
    expected = channel_sign(ua=ua, key=key, args=args, call=call)
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a sign field
    # can hold anything a caller typed.
    return hmac.compare_digest(expected.encode("ascii"), sign.lower().encode("utf-8"))


def timestamp_within_window(*, timestamp: int, now: float, window_seconds: int) -> bool:
    """Whether a `timeStamp` (Unix seconds) is at most `window_seconds` away from `now`, either way.

    Both directions count: a sender's clock may run ahead of ours as well as behind.
    """
    return abs(now - timestamp) <= window_seconds
