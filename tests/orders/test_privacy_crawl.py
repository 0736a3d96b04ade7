"""Issue 12's main "must hold", black box: staff crawl the admin, the API and every CSV after realistic pushes.

Three orders arrive through the real doors (two REST, one signed channel envelope), with a
rejected push and a duplicate beside them; their phones, names, device identifiers, IPs,
coordinates and addresses are distinctive. Then, logged in through the admin's login form:

- an `analyst` follows every same-site link from /admin/ (bounded), walks every object page by
  id, searches every changelist by full numbers, reads the API and downloads every CSV and push
  body: no response (decoded from percent-encoding, HTML entities and JSON escapes) holds any of
  those values in clear, and nothing answers 5xx;
- a `reviewer` does the same: lists stay masked, and every response that did show a clear value
  (one order's pages, reveals, downloads) wrote an access record for the order it belongs to
  (or an export-log row for a push that made no order) during that very request;
- a user with both the export and the personal-data permission sees lists unmasked, each one
  recorded in the export log with `unmasked=True`.
"""

import copy
import hashlib
import html
import json
import re
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, unquote, unquote_plus, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from orders.models import AddressBookEntry, Contact, Device, Employer, ExportLog, Order, PersonalDataAccess, PushLog
from tests.factories import InstitutionFactory, sample

PASSWORD = "Crawl-the-admin-4-leaks!"
PUSH_URL = "/api/v1/user-additional/"
CHANNEL_URL = "/channel/pushUserAdditionalInfo"
MAX_CRAWLED_PAGES = 400
# Query-string variants of one path followed at most (sort orders, filters...), so the bound
# is spent on many pages rather than on every combination of one changelist's links.
MAX_VARIANTS_PER_PATH = 30
SKIPPED_PATHS = ("/admin/logout/", "/i18n/", "/static/", "/api/schema/", "/api/docs/")
# POST-only admin views: a GET is refused (405) and says nothing.
SKIPPED_SUFFIXES = ("/review/", "/delete/")


# --- What was pushed: (value as pushed, the orders carrying it) ------------------------------------


@dataclass(frozen=True)
class Secret:
    label: str
    forms: tuple[str, ...]  # every way the value may be written in clear
    orders: frozenset[str]  # the orderNos that carry it ("" for the rejected push)


def phone_forms(pushed: str) -> tuple[str, ...]:
    """A number as pushed, its digits, and the usual ways of writing it (3-4-4, +86)."""
    digits = re.sub(r"\D", "", pushed)
    national = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    forms = {pushed, national, pushed.removeprefix("+86").strip()}
    if len(national) == 11:
        forms |= {f"{national[:3]} {national[3:7]} {national[7:]}", f"{national[:3]}-{national[3:7]}-{national[7:]}"}
    return tuple(sorted(forms))


ORDER_A, ORDER_B, ORDER_C, ORDER_REJECTED = "CRAWL-A-20260101", "CRAWL-B-20260102", "CRAWL-C-20260103", "CRAWL-R-1"

# Order A (REST, iOS office worker).
A_PHONE = "+86 138 0013 5791"
A_CONTACT = ("欧阳娜娜", "+86 139-0246-8135")
A_SPARE = ("Quintus Fairweather", "157 0246 8024")
A_BOOK = [("诸葛孔明", "13612345670"), ("慕容复", "+86 188 2468 1357"), ("上官婉儿", "0755-86001234")]
A_EMPLOYER_TEL = "010-62349876"
A_EMPLOYER_STREET = "中关村南大街5号楼3层"
A_DEVICE = {
    "deviceId": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "idfa": "7E3A2B1C-4D5E-4F60-8A9B-0C1D2E3F4A5B",
    "idfv": "1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D",
    "uuid": "C0FFEE00-1234-4ABC-9DEF-876543210ABC",
}
A_IP = "203.0.113.177"
A_GPS = ("116.3105712890625", "39.98343212890625")
A_GPS_STREET = "中关村大街27号附近"

# Order B (REST, Android, unknown third-party identifiers); its contact is A's applicant.
B_PHONE = "17712345566"
B_CONTACT = ("钱芳芳", "13800135791")
B_SPARE = ("吴强强", "18600004321")
B_BOOK = [("物业管家", "0571-87650987"), ("Wang Leiming", "+86-135-0013-0099")]
B_DEVICE = {
    "deviceId": "f0e1d2c3b4a5968777",
    "androidId": "5b2c9e71d03f4a99",
    "imei": "869876543219999",
    "imsi": "460111234598765",
    "mac": "a4:5e:60:c1:22:9f",
    "tdDeviceId": "TDX-88f1c3a0b9e2d7",
    "smFingerprint": "SMFP-2c4e6a8b0d1f3e5a",
}
B_IP = "2408:8456:abcd:1234::5e"
B_GPS = ("113.9440112233", "22.5400998877")
B_GPS_STREET = "科技园南区高新南一道6号"

# Order C (signed channel door): another applicant on A's device, so risk reasons name it.
C_PHONE = "15912347788"
C_CONTACT = ("司马相如", "13345678901")
C_SPARE = ("卓文君", "13356789012")
C_BOOK = [("东方不败", "+86 131 2222 8888")]
C_IP = "117.136.88.201"

# Keys the protocol does not define are accepted (up to PUSH_MAX_UNKNOWN_KEYS an object) and kept in
# the body: senders put more numbers there.
A_SPOUSE_MOBILE = "+86 135 7777 2468"
B_SIM_NUMBER = "13566668888"

# A channel envelope whose `args` is not JSON (a trailing comma): refused, its body kept.
BROKEN_PHONE = "13511223344"

# The rejected push (bad loan_amount): kept in the push log only.
R_PHONE = "13700001111"
R_DEVICE_ID = "REJ-DEV-77a1b2c3d4e5"
R_CONTACT = ("独孤求败", "13988887777")

SECRETS = [
    Secret("A applicant", phone_forms(A_PHONE), frozenset({ORDER_A, ORDER_B})),
    Secret("A contact name", (A_CONTACT[0],), frozenset({ORDER_A})),
    Secret("A contact mobile", phone_forms(A_CONTACT[1]), frozenset({ORDER_A})),
    Secret("A spare name", (A_SPARE[0],), frozenset({ORDER_A})),
    Secret("A spare mobile", phone_forms(A_SPARE[1]), frozenset({ORDER_A})),
    *(Secret(f"A book name {name}", (name,), frozenset({ORDER_A})) for name, _ in A_BOOK),
    *(Secret(f"A book phone {phone}", phone_forms(phone), frozenset({ORDER_A})) for _, phone in A_BOOK),
    Secret("A employer tel", (*phone_forms(A_EMPLOYER_TEL), "62349876"), frozenset({ORDER_A})),
    Secret("A employer street", (A_EMPLOYER_STREET,), frozenset({ORDER_A})),
    *(Secret(f"A {key}", (value,), frozenset({ORDER_A, ORDER_C})) for key, value in A_DEVICE.items()),
    Secret("A ip", (A_IP,), frozenset({ORDER_A})),
    # Order C is pushed from A's phone, at the same place.
    *(Secret("A gps", (value,), frozenset({ORDER_A, ORDER_C})) for value in A_GPS),
    Secret("A gps street", (A_GPS_STREET,), frozenset({ORDER_A, ORDER_C})),
    Secret("B applicant", phone_forms(B_PHONE), frozenset({ORDER_B})),
    Secret("B contact name", (B_CONTACT[0],), frozenset({ORDER_B})),
    Secret("B spare name", (B_SPARE[0],), frozenset({ORDER_B})),
    Secret("B spare mobile", phone_forms(B_SPARE[1]), frozenset({ORDER_B})),
    *(Secret(f"B book name {name}", (name,), frozenset({ORDER_B})) for name, _ in B_BOOK),
    *(Secret(f"B book phone {phone}", phone_forms(phone), frozenset({ORDER_B})) for _, phone in B_BOOK),
    *(Secret(f"B {key}", (value,), frozenset({ORDER_B})) for key, value in B_DEVICE.items()),
    Secret("B ip", (B_IP,), frozenset({ORDER_B})),
    *(Secret("B gps", (value,), frozenset({ORDER_B})) for value in B_GPS),
    Secret("B gps street", (B_GPS_STREET,), frozenset({ORDER_B})),
    Secret("C applicant", phone_forms(C_PHONE), frozenset({ORDER_C})),
    Secret("C contact name", (C_CONTACT[0],), frozenset({ORDER_C})),
    Secret("C contact mobile", phone_forms(C_CONTACT[1]), frozenset({ORDER_C})),
    Secret("C spare name", (C_SPARE[0],), frozenset({ORDER_C})),
    Secret("C spare mobile", phone_forms(C_SPARE[1]), frozenset({ORDER_C})),
    *(Secret(f"C book name {name}", (name,), frozenset({ORDER_C})) for name, _ in C_BOOK),
    *(Secret(f"C book phone {phone}", phone_forms(phone), frozenset({ORDER_C})) for _, phone in C_BOOK),
    Secret("C ip", (C_IP,), frozenset({ORDER_C})),
    Secret("A spouse mobile (unknown key)", phone_forms(A_SPOUSE_MOBILE), frozenset({ORDER_A})),
    Secret("B SIM number (unknown deviceInfo key)", phone_forms(B_SIM_NUMBER), frozenset({ORDER_B})),
    Secret("broken envelope phone", phone_forms(BROKEN_PHONE), frozenset({""})),
    Secret("R applicant", phone_forms(R_PHONE), frozenset({""})),
    Secret("R deviceId", (R_DEVICE_ID,), frozenset({""})),
    Secret("R contact name", (R_CONTACT[0],), frozenset({""})),
    Secret("R contact mobile", phone_forms(R_CONTACT[1]), frozenset({""})),
]
# Full numbers searched in every changelist (`?q=`): the applicants', a contact's, a book entry's.
PERSONAL_FIELD_NAMES = ["user_phone", "mobile", "name", "phone", "phone_digits", "tel_no", "device_id", "ip"]
SEARCHED_PHONES = [phone_forms(A_PHONE)[0], "13800135791", "13902468135", "13612345670", B_PHONE, C_PHONE]


def payload_a() -> dict:
    document = sample("push-ios-office-worker.json")
    document["orderInfo"].update(orderNo=ORDER_A, userPhone=A_PHONE)
    document["userAdditional"]["deviceInfo"].update(
        **A_DEVICE, ip=A_IP, gpsLongitude=A_GPS[0], gpsLatitude=A_GPS[1], gpsAddress=f"北京市海淀区{A_GPS_STREET}"
    )
    document["userAdditional"]["contactInfo"].update(
        name=A_CONTACT[0], mobile=A_CONTACT[1], nameSpare=A_SPARE[0], mobileSpare=A_SPARE[1]
    )
    document["userAdditional"]["addressBook"]["phoneList"] = [
        f"{A_BOOK[0][0]}_{A_BOOK[0][1]}",
        {"name": A_BOOK[1][0], "phone": A_BOOK[1][1]},
        f"{A_BOOK[2][0]}_{A_BOOK[2][1]}",
        f"{A_CONTACT[0]}_{A_CONTACT[1]}",
        "中国联通客服_10010",
    ]
    document["userAdditional"]["workOfficeInfo"].update(telNo=A_EMPLOYER_TEL, address=A_EMPLOYER_STREET)
    document["userAdditional"]["contactInfo"]["spouseMobile"] = A_SPOUSE_MOBILE
    return document


def payload_b() -> dict:
    document = sample("push-android-no-employer.json")
    document["orderInfo"].update(orderNo=ORDER_B, userPhone=B_PHONE)
    document["userAdditional"]["deviceInfo"].update(
        **B_DEVICE,
        ip=B_IP,
        gpsLongitude=B_GPS[0],
        gpsLatitude=B_GPS[1],
        gpsAddress=f"广东省深圳市南山区{B_GPS_STREET}",
        simPhoneNumber=B_SIM_NUMBER,
    )
    document["userAdditional"]["contactInfo"].update(
        name=B_CONTACT[0], mobile=B_CONTACT[1], nameSpare=B_SPARE[0], mobileSpare=B_SPARE[1]
    )
    document["userAdditional"]["addressBook"]["phoneList"] = [
        {"name": B_BOOK[0][0], "phone": B_BOOK[0][1]},
        f"{B_BOOK[1][0]}_{B_BOOK[1][1]}",
        f"{B_CONTACT[0]}_{B_CONTACT[1]}",
        "+8618912340000",
    ]
    return document


def payload_c() -> dict:
    document = payload_a()
    document["orderInfo"].update(orderNo=ORDER_C, userPhone=C_PHONE, loan_amount="300000")
    document["userAdditional"]["deviceInfo"]["ip"] = C_IP
    document["userAdditional"]["contactInfo"].update(
        name=C_CONTACT[0], mobile=C_CONTACT[1], nameSpare=C_SPARE[0], mobileSpare=C_SPARE[1]
    )
    document["userAdditional"]["addressBook"]["phoneList"] = [f"{C_BOOK[0][0]}_{C_BOOK[0][1]}"]
    del document["userAdditional"]["workOfficeInfo"]
    del document["userAdditional"]["contactInfo"]["spouseMobile"]
    return document


def payload_rejected() -> dict:
    document = copy.deepcopy(payload_b())
    document["orderInfo"].update(orderNo=ORDER_REJECTED, userPhone=R_PHONE, loan_amount="twelve thousand")
    document["userAdditional"]["deviceInfo"] = {**document["userAdditional"]["deviceInfo"], "deviceId": R_DEVICE_ID}
    document["userAdditional"]["contactInfo"].update(name=R_CONTACT[0], mobile=R_CONTACT[1])
    document["userAdditional"]["addressBook"]["phoneList"] = [f"{R_CONTACT[0]}_{R_CONTACT[1]}"]
    return document


def channel_body(institution, document: dict | str) -> bytes:
    """A form-encoded envelope signed as the protocol says: md5(signKey + args + signKey), signKey = ua+key+ua."""
    args = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
    sign_key = institution.code + institution.channel_key_plain + institution.code
    sign = hashlib.md5((sign_key + args + sign_key).encode()).hexdigest()
    return urlencode({"ua": institution.code, "args": args, "sign": sign}).encode()


# --- Reading responses as an attacker would ----------------------------------------------------

_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\(.)")


def _json_unescape(text: str) -> str:
    return _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else m.group(2), text)


def readable(raw: bytes) -> str:
    """Every decoding of a body an attacker would try, up to three layers deep, joined (lower-case)."""
    decoders = [
        ("%", unquote),
        ("+", unquote_plus),
        ("&", html.unescape),
        ("\\", _json_unescape),
    ]
    variants = {raw.decode("utf-8", errors="replace")}
    for _layer in range(3):
        variants |= {decode(text) for text in variants for marker, decode in decoders if marker in text}
    return "\x00".join(variants).lower()


def clear_secrets(text: str) -> list[Secret]:
    return [secret for secret in SECRETS if any(form.lower() in text for form in secret.forms)]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        # Links, and forms that search or filter with GET (a POST form changes something).
        is_get_form = tag == "form" and (dict(attrs).get("method") or "get").lower() == "get"
        for name, value in attrs:
            if value and (name in ("href", "src", "data-href") or (name == "action" and is_get_form)):
                self.links.append(value)


def same_site_links(base: str, page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    found = []
    for link in parser.links:
        link = html.unescape(link).split("#", 1)[0]
        parts = urlsplit(link)
        if parts.scheme in ("javascript", "mailto", "data") or (parts.netloc and parts.netloc != "testserver"):
            continue
        if not link:
            continue
        if parts.path.startswith("/"):
            path = parts.path
        elif parts.path:
            path = base.rsplit("/", 1)[0] + "/" + parts.path
        else:
            path = urlsplit(base).path
        found.append(path + (f"?{parts.query}" if parts.query else ""))
    return found


# --- The crawler -------------------------------------------------------------------------------------


@dataclass
class Seen:
    url: str
    status: int
    secrets: list[Secret]
    accessed_orders: set[str]  # orders whose access records this request wrote for the user
    unmasked_exports: int  # export-log rows with unmasked=True this request wrote for the user
    masked_exports: int
    content_type: str


@dataclass
class Crawl:
    user: object
    client: Client
    orders: dict[int, str]  # pk -> orderNo
    seen: list[Seen] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)
    frontier: list[str] = field(default_factory=list)  # links and redirects found, not yet followed

    def request(self, url: str, *, method: str = "get", data=None) -> tuple[Seen, bytes]:
        typed = clear_secrets(readable(url.encode()))
        access_before = PersonalDataAccess.objects.filter(user=self.user).values_list("pk", flat=True)
        access_before = set(access_before)
        exports_before = set(ExportLog.objects.filter(user=self.user).values_list("pk", flat=True))
        response = getattr(self.client, method)(url, data=data) if data is not None else self.client.get(url)
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        headers = "\n".join(f"{key}: {value}" for key, value in response.items())
        new_access = PersonalDataAccess.objects.filter(user=self.user).exclude(pk__in=access_before)
        new_exports = ExportLog.objects.filter(user=self.user).exclude(pk__in=exports_before)
        seen = Seen(
            url=url if method == "get" else f"POST {url}",
            status=response.status_code,
            # What the user typed (a searched number) is echoed back: that tells them nothing.
            secrets=[
                secret for secret in clear_secrets(readable(raw + b"\n" + headers.encode())) if secret not in typed
            ],
            accessed_orders={
                self.orders.get(order_id, "?") for order_id in new_access.values_list("order_id", flat=True)
            },
            unmasked_exports=new_exports.filter(unmasked=True).count(),
            masked_exports=new_exports.filter(unmasked=False).count(),
            content_type=response.get("Content-Type", ""),
        )
        self.seen.append(seen)
        self.visited.add(canonical(url))
        if 300 <= response.status_code < 400 and response.get("Location"):
            self.frontier.append(response["Location"])
        elif response.status_code == 200 and "html" in seen.content_type:
            self.frontier.extend(same_site_links(url, raw.decode("utf-8", errors="replace")))
        return seen, raw

    def crawl(self, start: list[str], limit: int = MAX_CRAWLED_PAGES) -> int:
        """Breadth first from `start`, following every same-site link once; returns the pages crawled."""
        queue = deque([*start, *self.frontier])
        self.frontier.clear()
        variants = Counter()
        crawled = 0
        while queue and crawled < limit:
            url = queue.popleft()
            path = urlsplit(url).path
            if (
                canonical(url) in self.visited
                or path.startswith(SKIPPED_PATHS)
                or path.endswith(SKIPPED_SUFFIXES)
                or variants[path] >= MAX_VARIANTS_PER_PATH
            ):
                continue
            variants[path] += 1
            crawled += 1
            self.request(url)
            queue.extend(self.frontier)
            self.frontier.clear()
        return crawled


def canonical(url: str) -> str:
    """A page as the crawl tells pages apart: the changelist a detail page links back to does not make it new."""
    parts = urlsplit(url)
    query = sorted(item for item in parse_qsl(parts.query, keep_blank_values=True) if item[0] != "_changelist_filters")
    return parts.path + (f"?{urlencode(query)}" if query else "")


def login(username: str, language: str) -> Client:
    client = Client(headers={"accept-language": language})
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, f"{username} could not log in"
    return client


def explicit_requests(crawl: Crawl) -> None:
    """Every page an attacker reaches by id, search or known URL, beside what links lead to."""
    index = crawl.client.get("/admin/")
    changelists = sorted(
        {
            link
            for link in same_site_links("/admin/", index.content.decode())
            if re.fullmatch(r"/admin/\w+/\w+/", link) and "/auth/" not in link
        }
    )
    for changelist in changelists:
        crawl.request(changelist)
        for phone in SEARCHED_PHONES:
            crawl.request(f"{changelist}?{urlencode({'q': phone})}")
        # The popup picker writes each row's `_to_field` value into its links: only keys may be asked for.
        for name in PERSONAL_FIELD_NAMES:
            crawl.request(f"{changelist}?{urlencode({'_popup': 1, '_to_field': name})}")
    crawl.request(f"/admin/orders/addressbookentry/?order__id__exact={min(crawl.orders)}")
    for model, prefix in [
        (Order, "/admin/orders/order/"),
        (Device, "/admin/orders/device/"),
        (Contact, "/admin/orders/contact/"),
        (Employer, "/admin/orders/employer/"),
        (AddressBookEntry, "/admin/orders/addressbookentry/"),
    ]:
        for pk in model.objects.order_by("pk").values_list("pk", flat=True):
            crawl.request(f"{prefix}{pk}/change/")
            crawl.request(f"{prefix}{pk}/history/")
    for pk in PushLog.objects.order_by("pk").values_list("pk", flat=True):
        for suffix in ("change/", "history/", "body/", "body/unmasked/", "body/download/"):
            crawl.request(f"/admin/orders/pushlog/{pk}/{suffix}")
    crawl.request("/api/v1/orders/?page_size=500")
    crawl.request("/api/v1/orders/?format=api")
    crawl.request(f"/api/v1/orders/?{urlencode({'user_phone': A_PHONE})}")
    for pk in crawl.orders:
        crawl.request(f"/api/v1/orders/{pk}/")
    for url in (
        "/api/v1/orders/?format=csv",
        "/api/v1/orders/?format=csv&bom=1&headers=zh",
        "/api/v1/orders/contacts.csv",
        "/api/v1/orders/address-book.csv",
        "/admin/orders/order/export.csv",
        f"/admin/orders/order/export.csv?{urlencode({'q': A_PHONE})}",
    ):
        crawl.request(url)
    crawl.request(
        "/admin/orders/order/",
        method="post",
        data={"action": "export_selected_csv", "_selected_action": [str(pk) for pk in crawl.orders], "index": "0"},
    )


def crawl_as(username: str, orders: dict[int, str], *, language: str = "en") -> Crawl:
    user = get_user_model().objects.get(username=username)
    crawl = Crawl(user=user, client=login(username, language), orders=orders)
    explicit_requests(crawl)
    crawled = crawl.crawl(["/admin/"])
    assert crawled > 30, f"the crawl of {username} found only {crawled} pages"
    errors = [(seen.url, seen.status) for seen in crawl.seen if seen.status >= 500]
    assert errors == [], f"5xx answered to {username}: {errors}"
    return crawl


def _is_list(url: str) -> bool:
    """Changelists, the API list and the CSVs: bulk reads."""
    path = urlsplit(url.removeprefix("POST ")).path
    return bool(
        re.fullmatch(r"/admin/\w+/\w+/(export\.csv)?", path)
        or path in ("/api/v1/orders/", "/api/v1/orders/contacts.csv", "/api/v1/orders/address-book.csv")
    )


def _unrecorded(crawl: Crawl) -> list[tuple[str, list[str]]]:
    """Responses that showed clear personal data without a record of it for this user, written by that request."""
    missing = []
    for seen in crawl.seen:
        for secret in seen.secrets:
            recorded = bool(secret.orders & seen.accessed_orders) or seen.unmasked_exports > 0
            if not recorded:
                missing.append((seen.url, secret.label))
    return missing


# --- The pushes ----------------------------------------------------------------------------------------


@pytest.fixture
def pushed(roles, monkeypatch):
    """Two REST orders, one channel order, a rejected push and a duplicate, through the doors; staff accounts."""
    institution = InstitutionFactory(code="crawlbank")
    door = Client()

    def rest(document):
        return door.post(
            PUSH_URL,
            data=json.dumps(document, ensure_ascii=False),
            content_type="application/json",
            headers={"Authorization": f"Bearer {institution.api_token}"},
        )

    assert rest(payload_a()).status_code == 201
    assert rest(payload_b()).status_code == 201
    channel = door.post(
        CHANNEL_URL, data=channel_body(institution, payload_c()), content_type="application/x-www-form-urlencoded"
    )
    assert channel.status_code == 200
    assert channel.json()["status"] == 1, channel.content
    broken = json.dumps(payload_b(), ensure_ascii=False).replace(B_PHONE, BROKEN_PHONE)[:-1] + ",}"
    refused = door.post(
        CHANNEL_URL, data=channel_body(institution, broken), content_type="application/x-www-form-urlencoded"
    )
    assert refused.json()["status"] == 0
    rejected = rest(payload_rejected())
    assert rejected.status_code == 400
    assert "loan_amount" in rejected.content.decode()
    duplicate = rest(payload_a())
    assert duplicate.status_code == 200
    assert duplicate.json()["status"] == "duplicate"
    assert PushLog.objects.count() == 6

    monkeypatch.setenv("STAFF_USER_PASSWORD", PASSWORD)
    for username, role in [("ana", "analyst"), ("rev", "reviewer"), ("both", "reviewer")]:
        call_command("create_staff_user", username, "--role", role, stdout=open("/dev/null", "w"))  # noqa: SIM115
    get_user_model().objects.get(username="both").groups.add(Group.objects.get(name="analyst"))
    return dict(Order.objects.values_list("pk", "order_no"))


def test_pushes_carry_what_the_crawl_looks_for(pushed):
    # The secrets are really stored (else the crawl proves nothing): clear in the rows, and linked as risks.
    assert sorted(pushed.values()) == [ORDER_A, ORDER_B, ORDER_C]
    a = Order.objects.get(order_no=ORDER_A)
    assert a.user_phone == "13800135791"
    assert a.device.idfa == A_DEVICE["idfa"]
    assert a.device.ip == A_IP
    assert Device.objects.get(order__order_no=ORDER_B).extra["tdDeviceId"] == B_DEVICE["tdDeviceId"]
    assert Employer.objects.get(order=a).tel_no == A_EMPLOYER_TEL
    assert set(Order.objects.get(order_no=ORDER_C).risk_signals.values_list("code", flat=True)) >= {"shared_device"}
    assert b"13700001111" in bytes(PushLog.objects.get(order_no=ORDER_REJECTED).body)


def test_an_analyst_sees_nothing_in_clear_anywhere(pushed):
    # In Chinese: the risk reasons and headers are written in the reader's language.
    crawl = crawl_as("ana", pushed, language="zh-hans")

    leaks = [(seen.url, seen.status, [secret.label for secret in seen.secrets]) for seen in crawl.seen if seen.secrets]
    assert leaks == [], "\n".join(map(str, leaks))
    # The crawl did reach the data, masked: the order page, a push body, the API and every CSV.
    by_url = {seen.url: seen for seen in crawl.seen}
    a_pk = next(pk for pk, no in pushed.items() if no == ORDER_A)
    page = crawl.client.get(f"/admin/orders/order/{a_pk}/change/").content.decode()
    assert "138****5791" in page
    assert "欧*" in page
    for url in (
        "/api/v1/orders/?format=csv",
        "/api/v1/orders/contacts.csv",
        "/api/v1/orders/address-book.csv",
        "/admin/orders/order/export.csv",
        "POST /admin/orders/order/",
    ):
        assert by_url[url].status == 200, url
        assert "csv" in by_url[url].content_type, url
        assert by_url[url].masked_exports == 1, url
    assert by_url["/api/v1/orders/?page_size=500"].status == 200
    bodies = [seen for seen in crawl.seen if re.fullmatch(r"/admin/orders/pushlog/\d+/body/(download/)?", seen.url)]
    assert bodies
    assert all(seen.status in (200, 403) for seen in bodies)
    assert any(seen.status == 200 for seen in bodies)
    # Nothing unmasked was ever recorded for them, because nothing unmasked was shown.
    assert not PersonalDataAccess.objects.filter(user=crawl.user).exists()
    assert not ExportLog.objects.filter(user=crawl.user, unmasked=True).exists()


def test_a_reviewer_sees_lists_masked_and_every_clear_view_is_recorded(pushed):
    crawl = crawl_as("rev", pushed)

    listed = [(seen.url, [s.label for s in seen.secrets]) for seen in crawl.seen if _is_list(seen.url) and seen.secrets]
    assert listed == []
    unrecorded = _unrecorded(crawl)
    assert unrecorded == [], "\n".join(map(str, unrecorded))
    # They did see clear data one order at a time: the order page, a contact's page, a reveal, a download.
    shown = defaultdict(set)
    for seen in crawl.seen:
        if seen.secrets:
            shown[re.sub(r"/\d+/", "/N/", urlsplit(seen.url).path)].add(seen.url)
    assert {
        "/admin/orders/order/N/change/",
        "/admin/orders/contact/N/change/",
        "/admin/orders/device/N/change/",
        "/admin/orders/pushlog/N/body/unmasked/",
        "/admin/orders/pushlog/N/body/download/",
        "/api/v1/orders/N/",
    } <= set(shown)
    # The reveal of the rejected push (no order) went to the export log.
    rejected = PushLog.objects.get(order_no=ORDER_REJECTED).pk
    reveal = next(seen for seen in crawl.seen if seen.url == f"/admin/orders/pushlog/{rejected}/body/unmasked/")
    assert reveal.secrets
    assert reveal.unmasked_exports == 1
    # Lists for a reviewer are masked and so never in the export log as unmasked.
    assert not ExportLog.objects.filter(user=crawl.user, unmasked=True).exclude(kind="push_body").exists()


def test_export_and_personal_data_holders_see_lists_unmasked_and_recorded(pushed):
    crawl = crawl_as("both", pushed)

    unrecorded = _unrecorded(crawl)
    assert unrecorded == [], "\n".join(map(str, unrecorded))
    by_url = {seen.url: seen for seen in crawl.seen}
    for url in (
        "/api/v1/orders/?page_size=500",
        "/api/v1/orders/?format=csv",
        "/api/v1/orders/contacts.csv",
        "/api/v1/orders/address-book.csv",
        "/admin/orders/order/export.csv",
        "POST /admin/orders/order/",
        "/admin/orders/order/",
        "/admin/orders/contact/",
        "/admin/orders/addressbookentry/",
    ):
        seen = by_url[url]
        assert seen.status == 200, url
        assert seen.secrets, url
        assert seen.unmasked_exports == 1, url
