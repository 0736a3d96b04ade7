"""An order supplied again: the institution's new push replaces what it pushed, and what changed is kept."""

import datetime as dt
import json
from collections import Counter
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from config.jobs import enqueue
from orders.choices import ReviewEventKind, ReviewStatus
from orders.models import AddressBookEntry, Contact, Device, Employer, Order, OrderRevision
from orders.push_fields import DEVICE_EXTRA_PREFIX, PHONE_LIST, SCALAR_FIELDS
from orders.services.push import pushed_rows_write
from orders.services.review import _review_change
from orders.validated_push import ValidatedPush

# A revision lists at most this many changed fields (and counts them all); values are cut to this length.
MAX_CHANGES = 100
MAX_VALUE_CHARS = 200
# Address-book entries added or removed that a revision names (it counts them all).
ADDRESS_BOOK_SAMPLE = 10


@transaction.atomic(savepoint=False)
def order_revise_from_push(*, order: Order, push: ValidatedPush, payload_sha256: str) -> OrderRevision:
    """Replace the rows of `order` (locked by the caller, in needs_info) by `push`, in the caller's transaction.

    The order goes back to the queue (pending, nobody's) with a `revise` event, its
    signals are marked pending and recomputed by the signals job recorded here, as
    for a first push; the changes between the two pushes are kept on the revision.
    """
    old = _values(_stored_rows(order))
    old_book = Counter(AddressBookEntry.objects.filter(order_id=order.pk).values_list("name", "phone"))
    new = _values(_pushed_rows(push))
    new_book = Counter((entry.name, entry.phone) for entry in push.address_book)
    changes = _changes(old, new) + _address_book_changes(old_book, new_book)

    for model in (Device, Contact, Employer, AddressBookEntry):
        model.objects.filter(order_id=order.pk).delete()
    now = timezone.now()
    previous_sha256 = order.payload_sha256
    for name, value in push.order.items():
        setattr(order, name, value)
    order.payload_sha256 = payload_sha256
    order.address_book_count = len(push.address_book)
    order.risk_pending = True  # until the signals job recorded below has run
    event = _review_change(
        order, actor=None, kind=ReviewEventKind.REVISE, to_status=ReviewStatus.PENDING, to_assignee=None, now=now
    )
    order.save()
    event.save()
    pushed_rows_write(order=order, push=push)
    enqueue("orders.risk.tasks.risk_signals_job", order.pk, queue="signals")
    return OrderRevision.objects.create(
        order=order,
        revised_at=now,
        previous_payload_sha256=previous_sha256,
        payload_sha256=payload_sha256,
        changes=changes[:MAX_CHANGES],
        change_count=len(changes),
    )


def _stored_rows(order: Order) -> dict:
    contacts = {contact.priority: contact for contact in Contact.objects.filter(order_id=order.pk)}
    device = Device.objects.filter(order_id=order.pk).first()
    return {
        "order": order,
        "device": device,
        "contact1": contacts.get(1),
        "contact2": contacts.get(2),
        "employer": Employer.objects.filter(order_id=order.pk).first(),
        "extra": (device.extra or {}) if device else {},
    }


def _pushed_rows(push: ValidatedPush) -> dict:
    contacts = {contact["priority"]: contact for contact in push.contacts}
    return {
        "order": push.order,
        "device": push.device,
        "contact1": contacts.get(1),
        "contact2": contacts.get(2),
        "employer": push.employer,
        "extra": push.device.get("extra") or {},
    }


def _attribute(row, name: str):
    if row is None:
        return None
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key, None)
    if name == "areas":
        parts = [get("province"), get("city"), get("district")]
        return ",".join(part or "" for part in parts) if any(parts) else None
    return get(name)


def _values(rows: dict) -> dict[str, str]:
    values = {path: _text(_attribute(rows[row], name)) for path, row, name in SCALAR_FIELDS}
    for key, value in rows["extra"].items():
        values[f"{DEVICE_EXTRA_PREFIX}{key}"] = _text(value)
    return values


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _changes(old: dict[str, str], new: dict[str, str]) -> list[dict]:
    paths = [path for path in old if path in new] + [path for path in new if path not in old]
    paths += [path for path in old if path not in new]
    return [
        {"path": path, "old": _clip(old.get(path, "")), "new": _clip(new.get(path, ""))}
        for path in paths
        if old.get(path, "") != new.get(path, "")
    ]


def _address_book_changes(old: Counter, new: Counter) -> list[dict]:
    added, removed = new - old, old - new
    if not added and not removed:
        return []

    def sample(entries: Counter) -> list[str]:
        return [_clip(f"{name}_{phone}") for name, phone in list(entries.elements())[:ADDRESS_BOOK_SAMPLE]]

    return [
        {
            "path": PHONE_LIST,
            "old": str(old.total()),
            "new": str(new.total()),
            "added": sample(added),
            "added_count": added.total(),
            "removed": sample(removed),
            "removed_count": removed.total(),
        }
    ]
