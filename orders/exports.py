"""Streamed CSV exports of filtered orders, their contacts and address books; every export is logged.

The API (`?format=csv`), the companion endpoints and the admin's button and
action all come through `export_response`, so masking, CSV-injection
neutralising and the export log cannot differ between them.

Memory stays flat whatever the row count: rows are tuples from `values_list`
(related columns joined in the same query, never a query per row), read with
`.iterator(chunk_size=...)` and written through an echo buffer into a
`StreamingHttpResponse`, one chunk of rows per write (NetBox's
`utilities/export.py` pattern).
"""

import csv
import logging
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from orders import queries
from orders.choices import ExportKind
from orders.models import ExportLog, Order
from orders.pii import can_view_personal_data, mask_phone

logger = logging.getLogger(__name__)

BOM = "\ufeff"
# OWASP's list: a spreadsheet reads a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST_CHARS = frozenset(FORMULA_PREFIXES)


class ExportSource:
    API = "api"
    ADMIN = "admin"


def neutralize(value: str) -> str:
    """`=HYPERLINK(...)` → `'=HYPERLINK(...)`: the spreadsheet shows the text instead of running it."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def _text(value: Any) -> Any:
    # Called for most cells of every row: one set look-up instead of a call and startswith.
    return f"'{value}" if value.__class__ is str and value[:1] in _FORMULA_FIRST_CHARS else value


def _datetime(value) -> str:
    return value.astimezone(timezone.get_default_timezone()).isoformat() if value is not None else ""


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


def _boolean(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _phone_unmasked(value: str | None) -> str:
    return neutralize(value) if value else ""


def _phone_masked(value: str | None) -> str:
    return neutralize(mask_phone(value)) if value else ""


_PHONE = object()  # formatter marker: masked or not depending on the user


@dataclass(frozen=True)
class Column:
    header: str
    lookup: str
    format: Callable[[Any], Any] | object | None = _text


@dataclass(frozen=True)
class ExportSpec:
    kind: str
    columns: tuple[Column, ...]
    rows: Callable[[QuerySet[Order]], QuerySet]


ORDER_COLUMNS = (
    Column("id", "id", None),
    Column("order_no", "order_no"),
    Column("institution", "institution__code"),
    Column("received_at", "received_at", _datetime),
    Column("door", "door"),
    Column("loan_amount_fen", "loan_amount_fen", None),
    Column("loan_amount_yuan", "loan_amount_fen", _yuan),
    Column("user_phone", "user_phone", _PHONE),
    Column("review_status", "review_status"),
    Column("review_updated_at", "review_updated_at", _datetime),
    Column("address_book_count", "address_book_count", None),
    Column("device_id", "device__device_id"),
    Column("device_name", "device__device_name"),
    Column("os_type", "device__os_type"),
    Column("os_kind", "device__os_kind"),
    Column("os_version", "device__os_version"),
    Column("last_login_at", "device__last_login_at", _datetime),
    Column("ip", "device__ip"),
    Column("gps_longitude", "device__gps_longitude", None),
    Column("gps_latitude", "device__gps_latitude", None),
    Column("gps_address", "device__gps_address"),
    Column("wifi", "device__wifi", _boolean),
    Column("battery_percent", "device__battery_percent", None),
    Column("carrier", "device__carrier"),
    Column("app_market", "device__app_market"),
    Column("is_root", "device__is_root", _boolean),
    Column("is_simulator", "device__is_simulator", _boolean),
    Column("imei", "device__imei"),
    Column("android_id", "device__android_id"),
    Column("idfa", "device__idfa"),
    Column("company_name", "employer__company_name"),
    Column("company_province", "employer__province"),
    Column("company_city", "employer__city"),
    Column("company_district", "employer__district"),
    Column("company_tel", "employer__tel_no", _PHONE),
)
CONTACT_COLUMNS = (
    Column("order_id", "order_id", None),
    Column("order_no", "order__order_no"),
    Column("institution", "order__institution__code"),
    Column("priority", "priority", None),
    Column("name", "name"),
    Column("mobile", "mobile", _PHONE),
    Column("relation", "relation"),
    Column("relation_category", "relation_category"),
)
ADDRESS_BOOK_COLUMNS = (
    Column("order_id", "order_id", None),
    Column("order_no", "order__order_no"),
    Column("institution", "order__institution__code"),
    Column("name", "name"),
    Column("phone", "phone", _PHONE),
    Column("phone_digits", "phone_digits", _PHONE),
    Column("is_mobile", "is_mobile", _boolean),
)

SPECS = {
    ExportKind.ORDERS: ExportSpec(
        ExportKind.ORDERS, ORDER_COLUMNS, lambda orders: orders.order_by("-received_at", "-id")
    ),
    ExportKind.CONTACTS: ExportSpec(ExportKind.CONTACTS, CONTACT_COLUMNS, queries.contacts_of),
    ExportKind.ADDRESS_BOOK: ExportSpec(ExportKind.ADDRESS_BOOK, ADDRESS_BOOK_COLUMNS, queries.address_book_of),
}


class _Echo:
    """A file-like object whose `write` hands the line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _row_formatter(columns: tuple[Column, ...], lookups: list[str], *, unmasked: bool):
    phone = _phone_unmasked if unmasked else _phone_masked
    steps = [(lookups.index(column.lookup), phone if column.format is _PHONE else column.format) for column in columns]

    def format_row(row: tuple) -> list:
        return [fmt(row[index]) if fmt else row[index] for index, fmt in steps]

    return format_row


def _server_side_read(queryset: QuerySet):
    """On PostgreSQL `.iterator()` reads through a server-side cursor. Outside a transaction
    (autocommit, as under gunicorn) Django declares it WITH HOLD, and PostgreSQL then
    materialises the whole result when the DECLARE commits; inside a transaction rows
    are fetched chunk by chunk as the client consumes them. SQLite gets no transaction:
    the project's IMMEDIATE mode would hold the write lock, blocking pushes, for the
    whole download."""
    connection = connections[queryset.db]
    if connection.vendor == "postgresql" and connection.get_autocommit():
        return transaction.atomic(using=queryset.db)
    return nullcontext()


def _csv_chunks(
    *, log_id: int, spec: ExportSpec, rows: QuerySet, unmasked: bool, bom: bool, chunk_size: int
) -> Iterator[str]:
    lookups = list(dict.fromkeys(column.lookup for column in spec.columns))
    format_row = _row_formatter(spec.columns, lookups, unmasked=unmasked)
    writer = csv.writer(_Echo())
    written = 0
    finished = False
    try:
        yield (BOM if bom else "") + writer.writerow([column.header for column in spec.columns])
        with _server_side_read(rows):
            batch: list[str] = []
            for row in rows.values_list(*lookups).iterator(chunk_size=chunk_size):
                batch.append(writer.writerow(format_row(row)))
                if len(batch) >= chunk_size:
                    written += len(batch)
                    yield "".join(batch)
                    batch = []
            if batch:
                written += len(batch)
                yield "".join(batch)
        finished = True
    finally:
        # Also when the client goes away mid-download: the log then shows how far it got.
        try:
            ExportLog.objects.filter(pk=log_id).update(
                row_count=written, finished_at=timezone.now() if finished else None
            )
        except DatabaseError:
            logger.exception("Could not record the end of export %s", log_id)


def export_response(
    *,
    user,
    kind: str,
    orders: QuerySet[Order],
    source: str,
    filters: dict,
    bom: bool = False,
    chunk_size: int | None = None,
) -> StreamingHttpResponse:
    """Log the export, then stream `kind` rows for `orders` as UTF-8 CSV with a header row.

    Phone numbers are masked unless `user` may see personal data; an unmasked
    export is flagged in the log, which is the record of that access.
    """
    spec = SPECS[kind]
    unmasked = can_view_personal_data(user)
    log = ExportLog.objects.create(user=user, kind=kind, source=source, filters=filters, unmasked=unmasked)
    chunks = _csv_chunks(
        log_id=log.pk,
        spec=spec,
        rows=spec.rows(orders),
        unmasked=unmasked,
        bom=bom,
        chunk_size=chunk_size or settings.EXPORT_CHUNK_SIZE,
    )
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(log.created_at, timezone.get_default_timezone()).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{kind.replace("_", "-")}-{stamp}.csv"'
    # Personal data: no cache may keep it, and a proxy must pass chunks on as they come.
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


def filters_for_log(params) -> dict:
    """A QueryDict (or dict) as JSON for the export log: one value stays a string, repeats become a list."""
    if hasattr(params, "lists"):
        return {key: values[0] if len(values) == 1 else values for key, values in params.lists()}
    return dict(params)
