"""Chunked push bodies through a real server (gunicorn de-chunks them): read up to the limit, 413 beyond."""

import http.client
import json
from urllib.parse import urlsplit

from intake import signing
from tests.factories import PushPayloadFactory
from tests.reliability.live import create_institution, dedicated_database, gunicorn, postgres_only

pytestmark = postgres_only


def post_chunked(base_url: str, path: str, chunks, headers: dict) -> tuple[int, dict]:
    """POST `chunks` with `Transfer-Encoding: chunked` (no Content-Length), as streaming clients send."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def in_pieces(data: bytes, size: int = 7000):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_pushes_through_gunicorn(tmp_path):
    with dedicated_database("chunked") as (_, url):
        credentials = create_institution(url, "streamer")
        with gunicorn(url, tmp_path, workers=1, threads=2, PUSH_MAX_BODY_BYTES=str(1024 * 1024)) as server:
            # when: a valid push, sent in chunks, on the REST door
            payload = PushPayloadFactory(userAdditional__addressBook__size=200)
            rest = post_chunked(
                server.base_url,
                "/api/v1/user-additional/",
                in_pieces(json.dumps(payload, ensure_ascii=False).encode()),
                {"Content-Type": "application/json", "Authorization": f"Bearer {credentials['api_token']}"},
            )
            # when: the same on the channel door, as a signed envelope
            args = json.dumps(PushPayloadFactory(), ensure_ascii=False)
            sign = signing.channel_sign(ua="streamer", key=credentials["channel_key"], args=args)
            channel = post_chunked(
                server.base_url,
                "/channel/pushUserAdditionalInfo",
                in_pieces(json.dumps({"ua": "streamer", "args": args, "sign": sign}).encode()),
                {"Content-Type": "application/json"},
            )
            # when: an endless-looking body, 3 MiB against a 1 MiB limit
            too_large = post_chunked(
                server.base_url,
                "/api/v1/user-additional/",
                (b" " * 65536 for _ in range(48)),
                {"Content-Type": "application/json", "Authorization": f"Bearer {credentials['api_token']}"},
            )

    # then
    assert rest[0] == 201, rest
    assert rest[1]["orderNo"] == payload["orderInfo"]["orderNo"]
    assert (channel[0], channel[1]["status"]) == (200, 1), channel
    assert too_large[0] == 413, too_large
    assert too_large[1]["errors"][0]["code"] == "payload_too_large"
