"""A partner who follows only the guide: the guide's own example client, over real HTTP, both doors.

The client is the Python block of docs/integration.md's appendix A, executed as
printed, against a live server. It pushes a 300-entry messy Android order through
the REST door, and through the channel door as JSON and as a form, and each is
accepted on the first try.

Among the entries, contacts saved without a number (`"王芳_"`, `"_"`) are kept
with an empty phone, and the answer counts them.
"""

import json
import re

import pytest

from orders.models import AddressBookEntry, Order
from tests.factories import InstitutionFactory, sample
from tests.intake.test_partner_guide import GUIDE

pytestmark = pytest.mark.django_db(transaction=True)


def guide_client() -> dict:
    """The namespace of the guide's example client, run exactly as printed."""
    text = GUIDE.read_text("utf-8")
    block = re.search(r"<!-- client-example begin -->\n```python\n(.*?)```\n<!-- client-example end -->", text, re.S)
    namespace: dict = {}
    exec(compile(block[1], "docs/integration.md (appendix A)", "exec"), namespace)  # our own guide's code
    return namespace


def messy_address_book(size: int = 300) -> list:
    """What Android address books look like: every phone format, landlines, short codes, junk, duplicates,
    contacts without a number."""
    kinds = [
        lambda i: f"张{i}_138{i:08d}",
        lambda i: f"+86 139 {i:04d} {i:04d}",
        lambda i: {"name": f"Li Lei {i}", "phone": f"+86-137-{i:04d}-{i:04d}"},
        lambda i: {"name": None, "phone": 13600000000 + i},
        lambda i: f"物业_0571-8765{i:04d}",
        lambda i: "中国移动_10086",
        lambda i: f"刘_小红_186{i:08d}",
        lambda i: "垃圾_" + "9" * 50,
        lambda i: f"0086 135 {i:04d} {i:04d}",
        lambda i: {"phone": f"(010) 6234-{i:04d}"},
        lambda i: f"妈妈_1{i % 10}0 {i:04d} {i:04d}",
        lambda i: {"name": "", "phone": "95588"},
        # contacts saved without a number: kept with an empty phone and counted
        lambda i: f"王芳{i}_",
        lambda i: "_",
    ]
    return [kinds[i % len(kinds)](i) for i in range(size)]


def messy_android_order(order_no: str) -> dict:
    payload = sample("push-android-no-employer.json")
    payload["orderInfo"] |= {"orderNo": order_no, "userPhone": "+86 177-1234-5566", "loan_amount": 150000}
    payload["userAdditional"]["addressBook"]["phoneList"] = messy_address_book()
    payload["userAdditional"]["contactInfo"] |= {"mobile": "0086 133 5555 7788", "relation": "父母"}
    payload["userAdditional"]["deviceInfo"] |= {"wifi": 1, "isRoot": "0", "bettary": "31%", "unknownVendorKey": "x"}
    return payload


@pytest.fixture
def counted_client():
    """The guide's client, its HTTP calls counted."""
    client = guide_client()
    real_post, calls = client["post"], []

    def post(*args, **kwargs):
        calls.append(args)
        return real_post(*args, **kwargs)

    client["post"] = post
    client["calls"] = calls
    return client


@pytest.mark.parametrize("door", ["rest", "channel-json", "channel-form"])
def test_a_messy_android_order_goes_through_on_the_first_try(live_server, counted_client, door):
    # given an institution's credentials and a 300-entry messy Android order
    institution = InstitutionFactory()
    payload = messy_android_order(f"AND-{door}-0001")
    # when the guide's client pushes it
    if door == "rest":
        status, answer = counted_client["push_rest"](live_server.url, institution.api_token, payload)
        accepted = status == 201 and answer["status"] == "accepted"
        result = answer
    else:
        status, answer = counted_client["push_channel"](
            live_server.url, institution.code, institution.channel_key_plain, payload, form=door == "channel-form"
        )
        accepted = status == 200 and answer["status"] == 1 and answer["response"]["status"] == "accepted"
        result = answer["response"]
    # then it is accepted on the first request, with every entry of the address book
    assert accepted, answer
    assert len(counted_client["calls"]) == 1
    order = Order.objects.get(institution=institution, order_no=payload["orderInfo"]["orderNo"])
    assert AddressBookEntry.objects.filter(order=order).count() == 300
    without_number = 2 * (300 // 14)  # the last two kinds of every 14 entries have no number
    assert result["addressBookEntriesWithoutPhone"] == without_number
    assert AddressBookEntry.objects.filter(order=order, phone="").count() == without_number


class FakeClock:
    """The client's `time` module, advancing a minute per sleep."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += 60


def test_the_guide_client_refreshes_timestamp_and_retries_after_an_outage(live_server, counted_client):
    # given a first attempt lost to an outage (answered 503 with Retry-After), and a clock that moves on
    import time

    institution = InstitutionFactory()
    clock = FakeClock(time.time())
    counted_client["time"] = clock
    real_post, bodies = counted_client["post"], []

    def post(url, body, content_type, headers=None):
        bodies.append(json.loads(body))
        if len(bodies) == 1:
            return 503, "30", {"status": 0, "response": {"errors": [{"code": "database_unavailable"}]}}
        return real_post(url, body, content_type, headers)

    counted_client["post"] = post
    # when the guide's client pushes
    _status, answer = counted_client["push_channel"](
        live_server.url, institution.code, institution.channel_key_plain, messy_android_order("AND-RETRY-1")
    )
    # then the retry carried a fresh timeStamp, the same args and sign, and was accepted
    assert answer["status"] == 1, answer
    first, second = bodies
    assert second["timeStamp"] == first["timeStamp"] + 60
    assert (second["args"], second["sign"]) == (first["args"], first["sign"])
