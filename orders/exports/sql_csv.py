"""The PostgreSQL CSV engine: one SELECT returning each row's CSV line, the formatters' rules written in SQL."""

import re
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone
from psycopg import ClientCursor

from orders.exports.formatters import (
    FORMULA_PREFIXES,
    booleans,
    datetimes,
    decimals,
    gps_masked,
    ips_masked,
    names_masked,
    phones_masked,
    phones_unmasked,
    texts,
    yuans,
)
from orders.exports.specs import Column
from orders.pii import PHONE_SEPARATORS

# --- PostgreSQL: CSV lines built by the database ------------------------------------------------------
# Formatting a row in Python cost ~9 µs (formatters + csv module); PostgreSQL builds the same line for
# a fraction of that, and psycopg then loads one text column per row. Rows still come through the same
# named cursor in `chunk_size` fetches (one logged query, per-FETCH statement timeout, nothing to cancel
# when the client goes away) rather than one long COPY statement, which the 30 s statement timeout
# would kill halfway through a slow client's download. Every rule below mirrors a Python formatter
# of `formatters`; `test_both_paths_write_the_same_bytes` holds them together.

# Code points of FORMULA_PREFIXES: `ascii(cell) IN (...)` compares integers, not strings.
_SQL_FORMULA_FIRST = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES)
_SQL_NEEDS_QUOTES = "E'[\",\\r\\n]'"  # what makes csv.writer (QUOTE_MINIMAL, \r\n) quote a cell
_TEXT_FIELDS = frozenset({"CharField", "SlugField", "TextField"})
_TZ_NAME_RE = re.compile(r"[A-Za-z0-9_+\-/]+")


def _sql_neutralised(cell: str) -> str:
    return f"CASE WHEN ascii({cell}) IN ({_SQL_FORMULA_FIRST}) THEN '''' || {cell} ELSE {cell} END"


# The masking rules of orders.pii, in SQL. Constants of pii are spliced into the statement's text:
# they hold no quote (checked here), and `%` is doubled for the client-side parameter merge.
def _sql_literal(text: str) -> str:
    if "'" in text or "\\" in text:
        raise ValueError(f"Unexpected character in SQL literal {text!r}")
    return "'" + text.replace("%", "%%") + "'"


def _sql_phone_digits(cell: str) -> str:
    """What `mask_phone` masks: the number without its separators."""
    return f"translate({cell}, {_sql_literal(PHONE_SEPARATORS)}, '')"


def _sql_masked_phone(digits: str) -> str:
    """`neutralize(mask_phone(...))` of a number's `digits` (best a column: it is named nine times): 7+
    characters keep 3 + 4, shorter ones their last 2; only a kept first character can start like a
    formula."""
    return (
        f"CASE WHEN ascii({digits}) IN ({_SQL_FORMULA_FIRST})"
        f" AND (char_length({digits}) >= 7 OR char_length({digits}) <= 2) THEN '''' ELSE '' END"
        f" || CASE WHEN char_length({digits}) >= 7"
        f" THEN left({digits}, 3) || repeat('*', char_length({digits}) - 7) || right({digits}, 4)"
        f" ELSE repeat('*', char_length({digits}) - 2) || right({digits}, 2) END"
    )


def _sql_masked_name(cell: str) -> str:
    return f"CASE WHEN {cell} = '' THEN '' ELSE left({cell}, 1) || '*' END"


def _sql_masked_ip(cell: str) -> str:
    """`mask_ip`: IPv4 without its last number (`117.136.0.*`), IPv6 as its /48 network."""
    host = f"host({cell})"
    return (
        f"CASE WHEN family({cell}) = 4 THEN left({host}, -strpos(reverse({host}), '.')) || '.*'"
        f" ELSE network(set_masklen({cell}, 48))::text END"
    )


def _sql_masked_gps(cell: str) -> str:
    """`mask_gps`: PostgreSQL's round() is half away from zero, and a numeric has no negative zero."""
    return f"round({cell}, 2)::text"


def _sql_datetimes(cell: str) -> str:
    """`datetime.isoformat()` in the display time zone: microseconds only when not zero, the offset the
    zone had at that instant (`+08:00`; seconds only for the local mean times of the 19th century)."""
    zone = settings.TIME_ZONE
    if not _TZ_NAME_RE.fullmatch(zone):
        raise ValueError(f"Unexpected TIME_ZONE {zone!r}")
    local = f"({cell} AT TIME ZONE '{zone}')"
    seconds = f"extract(epoch FROM {local} - ({cell} AT TIME ZONE 'UTC'))::int"
    now = timezone.localtime(timezone.now(), timezone.get_default_timezone())
    hours, minutes, rest = f"abs({seconds}) / 3600", f"mod(abs({seconds}), 3600) / 60", f"mod(abs({seconds}), 60)"
    return (
        f"to_char({local}, CASE WHEN date_trunc('second', {local}) = {local}"
        " THEN 'YYYY-MM-DD\"T\"HH24:MI:SS' ELSE 'YYYY-MM-DD\"T\"HH24:MI:SS.US' END)"
        # The usual offset by comparing intervals: numeric arithmetic only for the rare other ones.
        f" || CASE WHEN {local} - ({cell} AT TIME ZONE 'UTC') = interval '{now.utcoffset().total_seconds():.0f} s'"
        f" THEN '{now.isoformat()[-6:]}' ELSE"
        f" CASE WHEN {seconds} < 0 THEN '-' ELSE '+' END"
        f" || lpad(({hours})::text, 2, '0') || ':' || lpad(({minutes})::text, 2, '0')"
        f" || CASE WHEN {rest} = 0 THEN '' ELSE ':' || lpad(({rest})::text, 2, '0') END"
        " END"
    )


def _sql_yuans(cell: str) -> str:
    """`f"{fen // 100}.{fen % 100:02d}"`: Python's floor division and modulo, also for negative fen."""
    remainder = f"mod(mod({cell}, 100) + 100, 100)"
    return f"(({cell} - {remainder}) / 100)::text || '.' || lpad({remainder}::text, 2, '0')"


def _sql_booleans(cell: str) -> str:
    return f"CASE WHEN {cell} THEN 'true' WHEN NOT {cell} THEN 'false' END"


def _sql_plain(cell: str, field) -> str:
    """Numbers and fixed vocabularies as PostgreSQL prints them: the same text as `str()` of what psycopg
    loads, given `decimals`; an address without the `/32` a cast to text would add."""
    if field.get_internal_type() == "GenericIPAddressField":
        return f"host({cell})"
    return f"{cell}::text"


def _sql_cell(column: Column, cell: str, field) -> tuple[str, bool]:
    """The SQL text of one CSV cell of a resolved `column` read from `cell`, and whether it may need quoting."""
    fmt = column.format
    if fmt is phones_unmasked or fmt is texts:
        return _sql_neutralised(cell), True
    if fmt is phones_masked:
        return _sql_masked_phone(_sql_phone_digits(cell)), True
    if fmt is names_masked:
        return _sql_neutralised(_sql_masked_name(cell)), True
    if fmt is ips_masked:
        return _sql_masked_ip(cell), False
    if fmt is gps_masked:
        return _sql_masked_gps(cell), False
    if fmt is datetimes:
        return _sql_datetimes(cell), False
    if fmt is yuans:
        return _sql_yuans(cell), False
    if fmt is booleans:
        return _sql_booleans(cell), False
    if fmt is decimals or fmt is None:
        # A vocabulary cannot hold a comma or quote today; csv.writer would quote one, so the line does too.
        return _sql_plain(cell, field), field.get_internal_type() in _TEXT_FIELDS
    raise ValueError(f"No SQL rule for the formatter of column {column.header!r}")


def _sql_concat(parts: list[str]) -> str:
    """concat(): one buffer for the whole line (`||` copies it at every step), a NULL written as nothing;
    nested past PostgreSQL's 100 arguments."""
    if len(parts) > 100:
        return _sql_concat([_sql_concat(parts[start : start + 100]) for start in range(0, len(parts), 100)])
    return f"concat({', '.join(parts)})"


def _sql_lines(queryset: QuerySet, columns: Sequence[Column]) -> tuple[str, tuple] | None:
    """One SELECT whose single column is each row's CSV line (without its line end), in the queryset's
    order; None when the queryset can match nothing."""
    lookups = list(dict.fromkeys(column.lookup for column in columns))
    rows = queryset.values_list(*lookups)
    compiler = rows.query.get_compiler(rows.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return None
    # The SELECT's column order (Django puts annotations last) and each column's field.
    selected = [(alias, expression.output_field) for expression, _, alias in compiler.select]
    position = {alias: index for index, (alias, _) in enumerate(selected)}
    cells, prepared = [], []
    for number, column in enumerate(columns):
        index = position[column.lookup]
        if column.format is phones_masked:
            # The digits are computed once, a layer below, instead of at each of their nine uses.
            prepared.append(f"{_sql_phone_digits(f'r.c{index}')} AS d{number}")
            text, free = _sql_masked_phone(f"r.d{number}"), True
        else:
            text, free = _sql_cell(column, f"r.c{index}", selected[index][1])
        cells.append((f"x{number}", text, free))
    # Cells are computed once (OFFSET 0 keeps PostgreSQL from inlining them into the quoting below,
    # which names each twice); the inner ORDER BY already keeps the subqueries from being flattened.
    names = ", ".join(f"c{index}" for index in range(len(selected)))
    quoted = [
        f"CASE WHEN {name} ~ {_SQL_NEEDS_QUOTES} THEN '\"' || replace({name}, '\"', '\"\"') || '\"' ELSE {name} END"
        if free
        else name
        for name, _, free in cells
    ]
    line = _sql_concat([part for cell in quoted for part in (cell, "','")][:-1])
    cell_list = ", ".join(f"{text} AS {name}" for name, text, _ in cells)
    rows_sql = f"({sql}) AS r({names})"
    if prepared:
        rows_sql = f"(SELECT r.*, {', '.join(prepared)} FROM {rows_sql} OFFSET 0) AS r"
    return (
        f"SELECT {line} FROM (SELECT {cell_list} FROM {rows_sql} OFFSET 0) AS x",
        tuple(params),
    )


def line_chunks(queryset: QuerySet, columns: Sequence[Column], *, chunk_size: int):
    """Like `_fetched_chunks`, for PostgreSQL: (CSV text, row count) per fetch of `chunk_size` lines."""
    statement = _sql_lines(queryset, columns)
    if statement is None:
        return
    sql, params = statement
    with connections[queryset.db].chunked_cursor() as cursor:
        # The parameters go into the SQL's text (psycopg quotes them, as with client-side
        # binding): bound server-side (settings: server_side_binding), PostgreSQL took twice
        # as long over the million lines of this statement (README, Performance).
        cursor.execute(ClientCursor(cursor.connection).mogrify(sql, params))
        while lines := cursor.fetchmany(chunk_size):
            yield "\r\n".join([line for (line,) in lines]) + "\r\n", len(lines)
