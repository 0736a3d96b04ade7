"""The benchmark's data generator and its floor: what they write, not how fast."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.forms.models import model_to_dict

from bench.floor import FLOOR_JOB_TABLE, floor_job_table_ddl, floor_write
from bench.payloads import push_body, push_document
from intake.services import PushContext, push_receive
from orders import normalizers
from orders.choices import Door, ReviewStatus
from orders.management.commands.generate_orders import OrderGenerator, population_mobile
from orders.models import AddressBookEntry, Contact, Device, Employer, Institution, Order, PushLog
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def _floor_job_table(db):
    """The floor's job table, which the benchmark creates beside the project's tables."""
    with connection.cursor() as cursor:
        cursor.execute(floor_job_table_ddl(connection.vendor))


def _floor_jobs() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, payload FROM {FLOOR_JOB_TABLE} ORDER BY id")
        return cursor.fetchall()


def test_generate_orders_writes_every_section_normalized():
    # given
    out = StringIO()

    # when
    call_command("generate_orders", count=300, seed=7, institutions=3, batch_size=128, verbosity=0, stdout=out)

    # then
    orders = Order.objects.all()
    assert orders.count() == 300
    assert Institution.objects.filter(code__startswith="gen7-").count() == 3
    assert Device.objects.count() == 300
    assert Contact.objects.count() == 600
    assert 0.45 < Employer.objects.count() / 300 < 0.75
    entries = AddressBookEntry.objects.all()
    assert entries.count() == sum(orders.values_list("address_book_count", flat=True))
    assert 12 < entries.count() / 300 < 30
    for entry in entries.iterator():
        expected = normalizers.address_book_entry({"name": entry.name, "phone": entry.phone})
        assert (entry.phone_digits, entry.is_mobile) == (expected.phone_digits, expected.is_mobile)
    for order in orders.iterator():
        assert normalizers.mobile_phone(order.user_phone) == order.user_phone
        assert len(order.payload_sha256) == 64
    assert set(orders.values_list("review_status", flat=True)) <= set(ReviewStatus.values)
    assert "Generated 300 orders" in out.getvalue()


def test_generated_address_books_have_the_messy_shapes():
    # given
    call_command("generate_orders", count=400, seed=3, verbosity=0, stdout=StringIO())
    phones = list(AddressBookEntry.objects.values_list("name", "phone", "phone_digits", "is_mobile"))

    # then: prefixes, separators, landlines, short codes, names with `_`, duplicates, junk
    assert any(phone.startswith("+86 ") for _, phone, _, _ in phones)
    assert any(phone.startswith("0086") and mobile for _, phone, _, mobile in phones)
    assert any("-" in phone and not mobile for _, phone, _, mobile in phones)
    assert any(phone == "10086" for _, phone, _, _ in phones)
    assert any("_" in name for name, _, _, _ in phones)
    assert any(len(digits) > 20 for _, _, digits, _ in phones)
    per_order = AddressBookEntry.objects.values_list("order_id", "phone")
    assert len(set(per_order)) < len(per_order)


def test_generator_shares_devices_and_contacts_across_applicants():
    # given
    generator = OrderGenerator(count=3_000, seed=5, institution_ids=[1], address_book_mean=0, now=_now())

    # when
    orders = generator.batch(0, 3_000)

    # then: a small, non-zero share of applicants meet on a device or a contact
    device_ids = [item["device"]["device_id"] for item in orders]
    shared_devices = len(device_ids) - len(set(device_ids))
    assert 0 < shared_devices < 0.05 * len(device_ids)
    mobiles = [contact["mobile"] for item in orders for contact in item["contacts"]]
    assert 0 < len(mobiles) - len(set(mobiles)) < 0.1 * len(mobiles)
    assert all(item["address_book"] == [] for item in orders)


def test_generator_is_deterministic_per_seed():
    # given
    def batch(seed):
        return OrderGenerator(count=50, seed=seed, institution_ids=[1], address_book_mean=20, now=_now()).batch(0, 50)

    # then
    assert batch(11) == batch(11)
    assert batch(11) != batch(12)


@pytest.mark.parametrize("mean", [5, 20, 60])
def test_address_book_mean_is_configurable(mean):
    # given
    generator = OrderGenerator(count=2_000, seed=1, institution_ids=[1], address_book_mean=mean, now=_now())

    # when
    sizes = [len(item["address_book"]) for item in generator.batch(0, 2_000)]

    # then
    assert 0.8 * mean < sum(sizes) / len(sizes) < 1.2 * mean


def test_population_mobiles_are_valid_and_distinct():
    numbers = [population_mobile(index) for index in range(0, 200_000, 7)]
    assert len(set(numbers)) == len(numbers)
    assert all(normalizers.is_mobile(number) for number in numbers)


def test_generating_the_same_seed_twice_is_refused():
    # given
    call_command("generate_orders", count=5, seed=9, verbosity=0, stdout=StringIO())

    # when / then
    with pytest.raises(CommandError, match="already exist"):
        call_command("generate_orders", count=5, seed=9, verbosity=0, stdout=StringIO())
    assert Order.objects.count() == 5


@pytest.mark.parametrize("arguments", [{"count": -1}, {"count": 5, "institutions": 0}, {"count": 5, "batch_size": 0}])
def test_generate_orders_rejects_bad_arguments(arguments):
    with pytest.raises(CommandError):
        call_command("generate_orders", verbosity=0, stdout=StringIO(), **arguments)
    assert not Order.objects.exists()


# --- The floor ---------------------------------------------------------------------------

_IGNORED = {"id", "order", "received_at"}


def _rows(order: Order) -> dict:
    def plain(instance):
        return {key: value for key, value in model_to_dict(instance).items() if key not in _IGNORED}

    return {
        "order": {
            key: value for key, value in model_to_dict(order).items() if key not in _IGNORED and key != "order_no"
        },
        "device": plain(order.device),
        "contacts": [plain(contact) for contact in order.contacts.order_by("priority")],
        "employer": plain(order.employer) if hasattr(order, "employer") else None,
        "address_book": [plain(entry) for entry in AddressBookEntry.objects.filter(order=order).order_by("id")],
    }


@pytest.mark.parametrize("office", [True, False])
def test_floor_writes_the_same_rows_as_the_platform(office):
    # given: one document, pushed once through the platform and once through the floor
    institution = InstitutionFactory()
    document = push_document("SAME-1", book_size=40, n=3)
    if not office:
        document["userAdditional"]["workOfficeInfo"] = dict.fromkeys(document["userAdditional"]["workOfficeInfo"], "")
    body = json.dumps(document, ensure_ascii=False).encode()
    result = push_receive(
        institution=institution, context=PushContext(door=Door.REST), payload_raw=body, logged_body=body
    )
    assert result.http_status == 201
    floor_body = body.replace(b"SAME-1", b"SAME-2")

    # when
    with transaction.atomic(), connection.cursor() as cursor:
        answer = floor_write(
            cursor, floor_body, institution_id=institution.pk, use_copy=connection.vendor == "postgresql"
        )

    # then
    assert answer["orderNo"] == "SAME-2"
    platform_order = Order.objects.get(order_no="SAME-1")
    floor_order = Order.objects.get(order_no="SAME-2")
    platform_rows, floor_rows = _rows(platform_order), _rows(floor_order)
    # The fingerprints differ only because the orderNo does.
    assert platform_rows["order"].pop("payload_sha256") != floor_rows["order"].pop("payload_sha256")
    assert floor_rows == platform_rows
    assert (floor_rows["employer"] is not None) is office
    assert len(floor_rows["address_book"]) == 40
    log = PushLog.objects.get(order_no="SAME-2")
    assert bytes(log.body) == floor_body
    # Like the platform's push, the floor records the order's signals job in its transaction.
    [(queue, payload)] = _floor_jobs()
    assert queue == "signals"
    assert json.loads(payload) == {"func": "orders.risk.tasks.risk_signals_job", "args": [floor_order.pk]}
    assert (log.institution_id, log.outcome, log.http_status, log.body_size) == (
        institution.pk,
        "accepted",
        201,
        len(floor_body),
    )


def test_floor_fingerprint_matches_the_platform_for_the_same_document():
    # given
    institution = InstitutionFactory()
    body = push_body("FP-1", book_size=3)
    push_receive(institution=institution, context=PushContext(door=Door.REST), payload_raw=body, logged_body=body)
    expected = Order.objects.get(order_no="FP-1").payload_sha256
    Order.objects.all().delete()

    # when
    with transaction.atomic(), connection.cursor() as cursor:
        floor_write(cursor, body, institution_id=institution.pk, use_copy=connection.vendor == "postgresql")

    # then
    assert Order.objects.get(order_no="FP-1").payload_sha256 == expected


def test_floor_write_is_all_or_nothing():
    # given: a document whose address book holds an item no normalizer accepts
    institution = InstitutionFactory()
    document = push_document("BAD-1", book_size=5)
    document["userAdditional"]["addressBook"]["phoneList"].append(42)
    body = json.dumps(document).encode()

    # when
    with pytest.raises(normalizers.NormalizationError), transaction.atomic(), connection.cursor() as cursor:
        floor_write(cursor, body, institution_id=institution.pk, use_copy=connection.vendor == "postgresql")

    # then
    assert not Order.objects.exists()
    assert not PushLog.objects.exists()
    assert _floor_jobs() == []


def _now():
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)
