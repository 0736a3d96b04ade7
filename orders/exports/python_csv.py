"""The Python CSV engine (SQLite, and PostgreSQL when tests ask): rows fetched in chunks, formatted column by column."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from itertools import islice

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from psycopg.types.datetime import TimestamptzLoader

from orders.exports.specs import Column


def _chunk_formatter(columns: Sequence[Column], lookups: list[str]):
    """A function turning a non-empty list of fetched rows into the rows to write."""
    steps = [(lookups.index(column.lookup), column.format) for column in columns]

    def format_chunk(rows: list[tuple]) -> Iterable[tuple]:
        values = list(zip(*rows, strict=True))  # one tuple per selected lookup
        return zip(
            *[values[index] if formatter is None else formatter(values[index]) for index, formatter in steps],
            strict=True,
        )

    return format_chunk


def _fetched_chunks(queryset: QuerySet, lookups: list[str], chunk_size: int) -> Iterator[list[tuple]]:
    """The rows of `queryset.values_list(*lookups)` in lists of at most `chunk_size` tuples."""
    rows = queryset.values_list(*lookups)
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        iterator = rows.iterator(chunk_size=chunk_size)
        while chunk := list(islice(iterator, chunk_size)):
            yield chunk
        return
    try:
        sql, params = rows.query.get_compiler(rows.db).as_sql()
    except EmptyResultSet:
        return
    # The same statement Django would run for `.iterator()` (a named cursor, counted and wrapped like any
    # query), minus Django's per-value work: on PostgreSQL values_list needs no converters for these
    # columns, and Django's timestamptz loader is pure Python (a sixth of the export's time in a profile),
    # so the cursor gets psycopg's compiled one; `datetimes` converts to the display time zone anyway.
    with connection.chunked_cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(chunk_size):
            yield chunk


def python_chunks(rows: QuerySet, columns: Sequence[Column], *, chunk_size: int):
    """(CSV text, row count) per chunk of at most `chunk_size` rows, formatted in Python."""
    lookups = list(dict.fromkeys(column.lookup for column in columns))
    format_chunk = _chunk_formatter(columns, lookups)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # `closing`: a client that goes away closes the named cursor before the transaction ends.
    with closing(_fetched_chunks(rows, lookups, chunk_size)) as chunks:
        for chunk in chunks:
            writer.writerows(format_chunk(chunk))
            yield drain(buffer), len(chunk)


def drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
