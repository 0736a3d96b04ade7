"""An export as an HTTP response: logged first, then streamed chunk by chunk by the engine the database allows."""

import csv
import io
import logging
from collections.abc import Iterator
from contextlib import closing, nullcontext

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from orders.exports.python_csv import drain, python_chunks
from orders.exports.specs import SPECS, ExportSpec, header_row, resolved_columns
from orders.exports.sql_csv import line_chunks
from orders.models import ExportLog, Order
from orders.pii import can_list_personal_data

logger = logging.getLogger(__name__)

BOM = "\ufeff"
SQL_LINES = True  # tests switch it off to run the Python formatters on PostgreSQL


class ExportSource:
    API = "api"
    ADMIN = "admin"


def _server_side_read(queryset: QuerySet):
    """On PostgreSQL the rows are read through a server-side cursor. Outside a transaction
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
    *, log_id: int, spec: ExportSpec, rows: QuerySet, unmasked: bool, bom: bool, headers: str, chunk_size: int
) -> Iterator[str]:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(header_row(spec.columns, headers))
    in_database = SQL_LINES and connections[rows.db].vendor == "postgresql"
    columns = resolved_columns(spec.columns, unmasked=unmasked)
    chunks = (line_chunks if in_database else python_chunks)(rows, columns, chunk_size=chunk_size)
    written = 0
    finished = False
    try:
        yield (BOM if bom else "") + drain(buffer)
        with _server_side_read(rows), closing(chunks):
            for text, count in chunks:
                written += count
                yield text
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
    headers: str = "en",
    chunk_size: int | None = None,
) -> StreamingHttpResponse:
    """Log the export, then stream `kind` rows for `orders` as UTF-8 CSV with a header row.

    Personal data (phones, names, device identifiers as pseudonyms, IP, GPS,
    addresses) is masked unless `user` may list it unmasked
    (`pii.can_list_personal_data`); an unmasked export is flagged in the log,
    which is the record of that access.
    """
    spec = SPECS[kind]
    unmasked = can_list_personal_data(user)
    log = ExportLog.objects.create(user=user, kind=kind, source=source, filters=filters, unmasked=unmasked)
    chunks = _csv_chunks(
        log_id=log.pk,
        spec=spec,
        rows=spec.rows(orders),
        unmasked=unmasked,
        bom=bom,
        headers=headers,
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
