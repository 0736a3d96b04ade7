"""`manage.py generate_orders --count N --seed S`: realistic synthetic orders, written in bulk for benchmarks.

Every section of a push is generated (order, device, two contacts, an employer
for about 60% of applicants, an address book) with the shapes real data has:
address books hold `"name_phone"`-style names with `_` in them, landlines, short
codes such as 10086, `+86` prefixes, separators, junk and duplicates, and they
are normalized by `orders.normalizers` exactly as a push would be. Applicants
share devices and contacts at small rates, and everyone's phone number comes
from one population, so numbers recur across address books as they do in life.

Rows are written in batches, one transaction each: COPY on PostgreSQL (a
million orders with twenty million entries in minutes), `bulk_create` elsewhere.
The same `--seed` always produces the same data.
"""

import hashlib
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from orders import normalizers
from orders.choices import ContactPriority, Door, ReviewStatus
from orders.institutions import institution_create
from orders.management.batch_writers import write_batch_bulk_create, write_batch_postgresql
from orders.models import Institution, Order
from orders.pii import device_stored_masks

MAX_ADDRESS_BOOK = 5_000
SHARED_DEVICE_RATE = 0.02
SHARED_CONTACT_RATE = 0.03
EMPLOYER_RATE = 0.6
DUPLICATE_ENTRY_RATE = 0.03

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红梅斌宇浩凯"
_RELATIONS = ["父母", "配偶", "子女", "兄弟姐妹", "朋友", "同事", "PARENT", "COUPLE", "FRIEND", "1", "5", "亲戚"]
_NICKNAMES = ["妈妈", "爸爸", "老婆", "老公", "老王", "宝贝", "房东", "快递", "中介小李", "Tony", "Lily", "Boss"]
_SHORT_CODES = [
    ("中国移动", "10086"),
    ("中国联通", "10010"),
    ("中国电信", "10000"),
    ("工商银行", "95588"),
    ("建设银行", "95533"),
    ("招商银行", "95555"),
    ("报警", "110"),
    ("急救", "120"),
]
_AREA_CODES = ["010", "021", "020", "0755", "028", "027", "0571", "025", "029", "023"]
_CITIES = [
    ("上海市", "上海市", "杨浦区"),
    ("北京市", "北京市", "朝阳区"),
    ("广东省", "深圳市", "南山区"),
    ("广东省", "广州市", "天河区"),
    ("四川省", "成都市", "武侯区"),
    ("浙江省", "杭州市", "西湖区"),
    ("湖北省", "武汉市", "洪山区"),
]
_SIZES = [normalizers.storage_size(text) for text in ("1.0 GB", "2.75 G", "3.66 GB", "4096MB", "5.5 GB")]
_STORAGES = [normalizers.storage_size(text) for text in ("16 GB", "32 GB", "64 GB", "128 GB", "256GB", "12.5 GB")]
_ANDROID_MODELS = ["HUAWEI P30", "Xiaomi 10", "OPPO R17", "vivo X27", "Redmi Note 8", "HONOR 20"]
_IOS_MODELS = ["iPhone 6 Plus", "iPhone 8", "iPhone X", "iPhone 11", "iPhone 12 Pro"]
_REVIEW_STATUSES = (
    [ReviewStatus.PENDING] * 12 + [ReviewStatus.IN_REVIEW] + [ReviewStatus.APPROVED] * 4 + [ReviewStatus.REJECTED] * 3
)


def population_mobile(index: int) -> str:
    """The mobile number of person `index` of the synthetic population (distinct for distinct indexes)."""
    second = "35789"[index % 5]
    # An odd multiplier modulo 10^9 is a bijection, so numbers do not collide.
    return f"1{second}{(index // 5 * 387_420_489 + 12_345) % 10**9:09d}"


class OrderGenerator:
    """Deterministic synthetic orders: `batch(start, size)` gives the rows of orders start..start+size-1."""

    def __init__(
        self, *, count: int, seed: int, institution_ids: list[int], address_book_mean: float, now: datetime
    ) -> None:
        self.count = count
        self.seed = seed
        self.institution_ids = institution_ids
        self.address_book_mean = address_book_mean
        self.population = max(50_000, count * 3)
        self.gang_size = max(50, count // 200)
        self.now = now
        # Orders arrive over the last 180 days, in order, as a real table fills.
        self.interval = timedelta(days=180) / max(count, 1)
        # Lognormal sizes (a long tail of huge books), with the requested mean.
        self.sigma = 1.0
        self.mu = math.log(address_book_mean) - self.sigma**2 / 2 if address_book_mean > 0 else None

    def order_no(self, index: int) -> str:
        return f"GEN{self.seed}-{index:09d}"

    def book_size(self, rng: random.Random) -> int:
        if self.mu is None:
            return 0
        return min(MAX_ADDRESS_BOOK, round(rng.lognormvariate(self.mu, self.sigma)))

    def name(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.75:
            return rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
        if roll < 0.85:
            return rng.choice(_NICKNAMES)
        if roll < 0.95:
            # Names with `_` in them: the string shape splits on the last `_` only.
            return f"{rng.choice(_SURNAMES)}_{rng.choice(('同事', '客户', '老乡', 'VIP'))}"
        return ""

    def entry_phone(self, rng: random.Random) -> tuple[str, str | None]:
        """A phone as an address book holds it, and a name that goes with it (None: pick one)."""
        roll = rng.random()
        mobile = population_mobile(rng.randrange(self.population))
        if roll < 0.70:
            return mobile, None
        if roll < 0.78:
            return f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}", None
        if roll < 0.83:
            return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}", None
        if roll < 0.86:
            return f"0086{mobile}", None
        if roll < 0.94:
            return f"{rng.choice(_AREA_CODES)}-{rng.randrange(10**7, 10**8)}", None
        if roll < 0.99:
            label, code = rng.choice(_SHORT_CODES)
            return code, label
        return "".join(rng.choices("0123456789", k=rng.randint(15, 50))), None

    def address_book(self, rng: random.Random, size: int) -> list[normalizers.AddressBookEntry]:
        entries = []
        for _ in range(size):
            if entries and rng.random() < DUPLICATE_ENTRY_RATE:
                entries.append(rng.choice(entries))
                continue
            phone, name = self.entry_phone(rng)
            entries.append(
                normalizers.address_book_entry({"name": self.name(rng) if name is None else name, "phone": phone})
            )
        return entries

    def device(self, rng: random.Random, index: int, received_at: datetime) -> dict:
        shared = index > 0 and rng.random() < SHARED_DEVICE_RATE
        # A shared device is one an earlier applicant (recently) used too.
        device_rng = random.Random(
            self.seed * 1_000_003 + (rng.randrange(max(0, index - 5000), index) if shared else index)
        )
        is_ios = device_rng.random() < 0.3
        device_id = f"{device_rng.getrandbits(128):032x}"
        memory, storage, free = device_rng.choice(_SIZES), device_rng.choice(_STORAGES), device_rng.choice(_STORAGES)
        os_type = normalizers.os_type("iOS" if is_ios else "Android")
        has_gps = rng.random() < 0.8
        device = {
            "device_id": device_id,
            "idfa": f"{device_rng.getrandbits(128):032X}" if is_ios else "",
            "idfv": f"{device_rng.getrandbits(128):032X}" if is_ios else "",
            "device_name": device_rng.choice(_IOS_MODELS if is_ios else _ANDROID_MODELS),
            "os_type": os_type.text,
            "os_kind": os_type.kind,
            "os_version": device_rng.choice(("12.4", "13.1", "14.2"))
            if is_ios
            else device_rng.choice(("8.1", "9", "10")),
            "last_login_at": received_at - timedelta(seconds=rng.randrange(60, 86_400 * 30)),
            "gps_longitude": Decimal(f"{rng.uniform(100, 122):.12f}") if has_gps else None,
            "gps_latitude": Decimal(f"{rng.uniform(22, 41):.12f}") if has_gps else None,
            "gps_address": "上海市杨浦区政学路" if has_gps else "",
            "ip": f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "memory": memory.text,
            "memory_bytes": memory.bytes,
            "storage": storage.text,
            "storage_bytes": storage.bytes,
            "unuse_storage": free.text,
            "unuse_storage_bytes": free.bytes,
            "sdcard": "",
            "sdcard_bytes": None,
            "unuse_sdcard": "",
            "unuse_sdcard_bytes": None,
            "wifi": rng.choice((True, False, None)),
            "wifi_name": "office-5G" if rng.random() < 0.3 else "",
            "battery_percent": rng.randrange(1, 101),
            "carrier": rng.choice(("中国移动", "中国联通", "中国电信", "")),
            "tele_num": rng.choice(("46000", "46001", "46011", "")),
            "app_market": "AppStore" if is_ios else rng.choice(("huawei", "xiaomi", "yingyongbao", "")),
            "is_root": rng.random() < 0.01,
            "is_simulator": rng.random() < 0.005,
            "dns": "114.114.114.114,8.8.8.8",
            "pic_count": rng.randrange(0, 5000) if rng.random() < 0.7 else None,
            "android_id": "" if is_ios else f"{device_rng.getrandbits(64):016x}",
            "udid": "",
            "uuid": f"{device_rng.getrandbits(128):032X}" if is_ios else "",
            "imsi": "",
            "imei": "" if is_ios else f"86{device_rng.randrange(10**12, 10**13)}",
            "mac": "",
            "extra": {},
        }
        # Stored with the row as Device.save does (orders.pii.STORED_MASK_FIELDS), so COPY writes them too.
        return {**device, **device_stored_masks(device)}

    def contact_mobile(self, rng: random.Random) -> str:
        # A few numbers (intermediaries, fraud rings) are everybody's contact.
        if rng.random() < SHARED_CONTACT_RATE:
            return population_mobile(self.population + rng.randrange(self.gang_size))
        return population_mobile(rng.randrange(self.population))

    def batch(self, start: int, size: int) -> list[dict]:
        """The orders start..start+size-1, each a dict of its rows (model attribute names)."""
        orders = []
        for index in range(start, min(start + size, self.count)):
            rng = random.Random(self.seed * 1_000_003 + index)
            received_at = self.now - self.interval * (self.count - index) + timedelta(seconds=rng.random())
            status = rng.choice(_REVIEW_STATUSES)
            book = self.address_book(rng, self.book_size(rng))
            order_no = self.order_no(index)
            contacts = []
            for priority in (ContactPriority.PRIMARY, ContactPriority.SPARE):
                relation = normalizers.relation(rng.choice(_RELATIONS))
                contacts.append(
                    {
                        "priority": int(priority),
                        "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                        "mobile": self.contact_mobile(rng),
                        "relation": relation.text,
                        "relation_category": relation.category,
                    }
                )
            employer = None
            if rng.random() < EMPLOYER_RATE:
                province, city, district = rng.choice(_CITIES)
                employer = {
                    "company_name": f"{city[:2]}{rng.choice(('某某', '宏达', '恒信', '华联'))}科技有限公司",
                    "province": province,
                    "city": city,
                    "district": district,
                    "address": f"某某路{rng.randrange(1, 999)}号",
                    "tel_no": f"{rng.choice(_AREA_CODES)}-{rng.randrange(10**7, 10**8)}",
                }
            orders.append(
                {
                    "order": {
                        "institution_id": self.institution_ids[index % len(self.institution_ids)],
                        "order_no": order_no,
                        "loan_amount_fen": rng.randrange(5, 500) * 100_000,
                        "user_phone": population_mobile(rng.randrange(self.population)),
                        "received_at": received_at,
                        "door": Door.REST if rng.random() < 0.8 else Door.CHANNEL,
                        "payload_sha256": hashlib.sha256(f"{self.seed}:{order_no}".encode()).hexdigest(),
                        "address_book_count": len(book),
                        "review_status": status,
                        "assigned_to_id": None,
                        "review_updated_at": None
                        if status == ReviewStatus.PENDING
                        else received_at + timedelta(hours=2),
                        # Synthetic orders get no signals here; recompute_risk_signals computes them.
                        "risk_pending": False,
                        "sandbox": False,
                        "risk_computed_at": None,
                    },
                    "device": self.device(rng, index, received_at),
                    "contacts": contacts,
                    "employer": employer,
                    "address_book": book,
                }
            )
        return orders


def institutions_for(seed: int, count: int) -> list[Institution]:
    """The generator's institutions (`gen<seed>-<n>`), created through the service when missing."""
    institutions = []
    for number in range(count):
        code = f"gen{seed}-{number}"
        institution = Institution.objects.filter(code=code).first()
        if institution is None:
            institution, _ = institution_create(code=code, name=f"Synthetic institution {number} (seed {seed})")
        institutions.append(institution)
    return institutions


def generate_orders(
    *,
    count: int,
    seed: int,
    address_book_mean: float = 20,
    institutions: int = 5,
    batch_size: int = 2_000,
    progress=None,
) -> tuple[int, int]:
    """Generate and write `count` orders; returns (orders, address-book entries) written."""
    if Order.objects.filter(order_no__startswith=f"GEN{seed}-").exists():
        raise CommandError(f"Orders of seed {seed} already exist in this database; pick another --seed.")
    generator = OrderGenerator(
        count=count,
        seed=seed,
        institution_ids=[institution.pk for institution in institutions_for(seed, institutions)],
        address_book_mean=address_book_mean,
        now=datetime.now(tz=UTC),
    )
    write = write_batch_postgresql if connection.vendor == "postgresql" else write_batch_bulk_create
    entries = 0
    for start in range(0, count, batch_size):
        orders = generator.batch(start, batch_size)
        with transaction.atomic():
            write(orders)
        entries += sum(len(item["address_book"]) for item in orders)
        if progress:
            progress(start + len(orders), entries)
    return count, entries


class Command(BaseCommand):
    help = "Write COUNT realistic synthetic orders (every section, messy address books) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="How many orders.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data (default 1).")
        parser.add_argument(
            "--address-book-mean", type=float, default=20, help="Mean address-book size (lognormal; default 20)."
        )
        parser.add_argument("--institutions", type=int, default=5, help="Institutions to spread orders over.")
        parser.add_argument("--batch-size", type=int, default=2_000, help="Orders per transaction.")

    def handle(self, *args, count, seed, address_book_mean, institutions, batch_size, **options):
        if count < 0 or institutions < 1 or batch_size < 1 or address_book_mean < 0:
            raise CommandError("--count must be >= 0; --institutions, --batch-size >= 1; --address-book-mean >= 0.")
        started = time.perf_counter()
        show = options["verbosity"] > 0

        def progress(done: int, entries: int) -> None:
            elapsed = time.perf_counter() - started
            sys.stderr.write(
                f"\rgenerate_orders: {done:,}/{count:,} orders ({done / max(count, 1):.0%}), "
                f"{entries:,} entries, {elapsed:.0f}s, {done / max(elapsed, 1e-9):,.0f} orders/s "
            )
            sys.stderr.flush()

        orders, entries = generate_orders(
            count=count,
            seed=seed,
            address_book_mean=address_book_mean,
            institutions=institutions,
            batch_size=batch_size,
            progress=progress if show else None,
        )
        if show:
            sys.stderr.write("\n")
        self.stdout.write(
            f"Generated {orders:,} orders and {entries:,} address-book entries in {time.perf_counter() - started:.1f}s."
        )
