"""factory-boy factories: models for reads, payload dicts for pushes."""

import itertools
import json
import random
from pathlib import Path

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from orders.choices import ContactPriority, Door, OsKind, RelationCategory
from orders.institutions import institution_create
from orders.models import AddressBookEntry, Contact, Device, Employer, Institution, Order, RiskSignal

# The project's own sample pushes, the ones docs/contract.md and the README's curl line use.
SAMPLES_DIR = Path(__file__).resolve().parents[1] / "docs" / "samples"


def sample(name: str = "push-ios-office-worker.json") -> dict:
    """A sample push payload from docs/samples, as a fresh dict."""
    return json.loads((SAMPLES_DIR / name).read_text("utf-8"))


_phone_sequence = itertools.count(10_000_000)


def new_mobile(n: int | None = None) -> str:
    """A distinct, valid mainland mobile number."""
    return f"139{(next(_phone_sequence) if n is None else n):08d}"


# --- Users ---------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*[Group.objects.get(name=name) for name in extracted])


class ReviewerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"reviewer{n}")
    groups = factory.PostGeneration(
        lambda user, create, extracted, **kw: user.groups.add(Group.objects.get(name="reviewer"))
    )


class AnalystFactory(UserFactory):
    username = factory.Sequence(lambda n: f"analyst{n}")
    groups = factory.PostGeneration(
        lambda user, create, extracted, **kw: user.groups.add(Group.objects.get(name="analyst"))
    )


# --- Institutions and orders ------------------------------------------------------------


class InstitutionFactory(factory.django.DjangoModelFactory):
    """Created through the service, so credentials are real; `api_token` and
    `channel_key_plain` hold the secrets as issued (only factories keep them)."""

    class Meta:
        model = Institution

    code = factory.Sequence(lambda n: f"inst{n}")
    name = factory.LazyAttribute(lambda institution: f"Institution {institution.code}")

    @classmethod
    def _create(cls, model_class, code, name, **kwargs):
        institution, credentials = institution_create(code=code, name=name)
        if kwargs:
            for key, value in kwargs.items():
                setattr(institution, key, value)
            institution.save()
        institution.api_token = credentials.api_token
        institution.channel_key_plain = credentials.channel_key
        return institution


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    institution = factory.SubFactory(InstitutionFactory)
    order_no = factory.Sequence(lambda n: f"ORD{n:08d}")
    loan_amount_fen = factory.LazyFunction(lambda: random.randint(1, 5000) * 10_000)
    user_phone = factory.LazyFunction(new_mobile)
    received_at = factory.LazyFunction(timezone.now)
    door = Door.REST
    payload_sha256 = factory.Faker("sha256")


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    order = factory.SubFactory(OrderFactory)
    device_id = factory.Faker("md5")
    device_name = "iPhone 6 Plus"
    os_type = "iOS"
    os_kind = OsKind.IOS
    os_version = "9.3"
    last_login_at = factory.LazyFunction(timezone.now)
    ip = "127.0.0.1"
    is_root = False
    is_simulator = False


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    order = factory.SubFactory(OrderFactory)
    priority = ContactPriority.PRIMARY
    name = factory.Faker("name", locale="zh_CN")
    mobile = factory.LazyFunction(new_mobile)
    relation = "父母"
    relation_category = RelationCategory.PARENT


class EmployerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employer

    order = factory.SubFactory(OrderFactory)
    company_name = factory.Faker("company", locale="zh_CN")
    province, city, district = "上海市", "上海市", "杨浦区"
    address = "政学路1号"
    tel_no = "021-65550000"


class AddressBookEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AddressBookEntry

    order = factory.SubFactory(OrderFactory)
    name = factory.Faker("name", locale="zh_CN")
    phone = factory.LazyFunction(new_mobile)
    phone_digits = factory.LazyAttribute(lambda entry: entry.phone)
    is_mobile = True


# --- Push payloads (dicts, as an institution sends them) ------------------------------------


class OrderInfoFactory(factory.DictFactory):
    orderNo = factory.Sequence(lambda n: f"YB{n:012d}")  # noqa: N815 - the protocol's names
    loan_amount = "500000"
    userPhone = factory.LazyFunction(new_mobile)  # noqa: N815


class DeviceInfoFactory(factory.DictFactory):
    class Meta:
        exclude = []

    deviceId = factory.Faker("md5")  # noqa: N815
    device_info = "iPhone 6 Plus"
    osType = "iOS"  # noqa: N815
    osVersion = "9.300000"  # noqa: N815
    lastLoginTime = "1476692044"  # noqa: N815
    gpsLongitude = "121.5103238932292"  # noqa: N815
    gpsLatitude = "31.30658718532986"  # noqa: N815
    gpsAddress = "上海市杨浦区政学路"  # noqa: N815
    ip = "127.0.0.1"
    memory = "1.0 GB"
    storage = "64 GB"
    unuseStorage = "12.5 GB"  # noqa: N815
    wifi = "1"
    bettary = "87"
    appMarket = "AppStore"  # noqa: N815
    isRoot = "0"  # noqa: N815
    isSimulator = "0"  # noqa: N815


def phone_list(size: int, *, start: int = 0) -> list:
    """An address book with the shapes real ones have: strings, objects, landlines,
    short codes, names containing `_`, prefixes and separators."""
    shapes = [
        lambda i: f"联系人{i}_{new_mobile(50_000_000 + i)}",
        lambda i: {"name": f"同事_{i}", "phone": f"+86 139-{i % 10000:04d}-{i % 9999:04d}"},
        lambda i: f"王芳{i}_021-6666{i % 10000:04d}",
        lambda i: "中国移动_10086",
        lambda i: {"name": "", "phone": new_mobile(60_000_000 + i)},
    ]
    return [shapes[i % len(shapes)](start + i) for i in range(size)]


class AddressBookFactory(factory.DictFactory):
    class Params:
        size = 5

    phoneList = factory.LazyAttribute(lambda book: phone_list(book.size))  # noqa: N815


class ContactInfoFactory(factory.DictFactory):
    name = "张建国"
    mobile = factory.LazyFunction(new_mobile)
    relation = "父母"
    nameSpare = "刘洋"  # noqa: N815
    mobileSpare = factory.LazyFunction(new_mobile)  # noqa: N815
    relationSpare = "朋友"  # noqa: N815


class WorkOfficeInfoFactory(factory.DictFactory):
    companyName = "上海某某信息科技有限公司"  # noqa: N815
    areas = "上海市,上海市,杨浦区"
    address = "政学路1号"
    telNo = "021-65550000"  # noqa: N815


class UserAdditionalFactory(factory.DictFactory):
    deviceInfo = factory.SubFactory(DeviceInfoFactory)  # noqa: N815
    addressBook = factory.SubFactory(AddressBookFactory)  # noqa: N815
    contactInfo = factory.SubFactory(ContactInfoFactory)  # noqa: N815
    workOfficeInfo = factory.SubFactory(WorkOfficeInfoFactory)  # noqa: N815


class PushPayloadFactory(factory.DictFactory):
    """A valid push. `PushPayloadFactory(userAdditional__addressBook__size=1000)`."""

    orderInfo = factory.SubFactory(OrderInfoFactory)  # noqa: N815
    userAdditional = factory.SubFactory(UserAdditionalFactory)  # noqa: N815


def pushed_order(institution: Institution | None = None, payload: dict | None = None, **factory_kwargs) -> Order:
    """An order written exactly as a push writes it (every section, normalized), without HTTP."""
    from intake.services import PushContext, push_receive

    institution = institution or InstitutionFactory()
    document = payload if payload is not None else PushPayloadFactory(**factory_kwargs)
    body = json.dumps(document, ensure_ascii=False).encode()
    result = push_receive(
        institution=institution, context=PushContext(door=Door.REST), payload_raw=body, logged_body=body
    )
    assert result.http_status == 201, result.errors
    return result.order


# orders.risk.locks.lock_identifiers: one statement on PostgreSQL (however many keys), none on SQLite.
SIGNAL_WRITERS_LOCK_QUERIES = int(connection.vendor == "postgresql")


def flag(order: Order, *codes: str) -> None:
    """Give `order` risk signals with these codes directly (no push, no lookups)."""
    RiskSignal.objects.bulk_create(
        [RiskSignal(order=order, code=code, severity="low", reason_zh="原因", reason_en="reason") for code in codes]
    )
