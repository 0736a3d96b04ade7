"""Streamed CSV exports of filtered orders, their contacts and address books; every export is logged.

The API (`?format=csv`), the companion endpoints and the admin's button and
action all come through `export_response`, so masking (the rules of
`orders.pii`, unless the user may list personal data), CSV-injection
neutralising and the export log cannot differ between them.

Memory stays flat whatever the row count: rows are tuples of the `values_list`
query (related columns and the risk flags in the same query, never a query per
row), fetched `chunk_size` at a time through a server-side cursor and written
into a `StreamingHttpResponse` one chunk per write.

Speed: on PostgreSQL the database writes each row's CSV line (`_sql_lines`: the
same rules as the Python formatters, in SQL) and Python only joins the fetched
lines. Elsewhere (SQLite) a chunk is formatted column by column, so the columns
that need nothing (numbers, fixed vocabularies) are never touched in Python and a
text column is neutralised cell by cell only when one of its cells starts like a
formula; the chunk then goes through `csv.writer.writerows` in one call. Both
paths write the same bytes (a test holds them to it). Profile and before/after
figures: issue 6.
"""

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, nullcontext
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connections, transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from psycopg import ClientCursor
from psycopg.types.datetime import TimestamptzLoader

from orders import selectors
from orders.choices import ExportKind
from orders.models import ExportLog, Order
from orders.pii import (
    PHONE_SEPARATORS,
    can_list_personal_data,
    mask_gps,
    mask_ip,
    mask_name,
    mask_phone,
)

logger = logging.getLogger(__name__)

BOM = "\ufeff"
# OWASP's list: a spreadsheet reads a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST_CHARS = frozenset(FORMULA_PREFIXES)
# Cells of a column are joined with NUL (which PostgreSQL text cannot hold) to test them all in one regex scan.
_CELL_JOIN = "\x00"
_FORMULA_CELL_RE = re.compile(_CELL_JOIN + "[" + re.escape("".join(FORMULA_PREFIXES)) + "]")


class ExportSource:
    API = "api"
    ADMIN = "admin"


def neutralize(value: str) -> str:
    """`=HYPERLINK(...)` → `'=HYPERLINK(...)`: the spreadsheet shows the text instead of running it."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


# Column formatters: each takes one column of a chunk (a tuple of values, None for NULL) and returns
# the cells to write, in order. The common cells cost no Python function call (inline or C-level work);
# the per-cell formatter calls of the first version were a quarter of the export's time.


def _text(value: Any) -> Any:
    return f"'{value}" if value.__class__ is str and value[:1] in _FORMULA_FIRST_CHARS else value


def _texts(values: tuple) -> Iterable:
    """Free text, neutralised. Most columns of most chunks hold no formula-like cell: one C-level join
    and scan proves it and the column passes untouched. A match (or a cell holding NUL then a formula
    character) only sends that column through `_text` cell by cell."""
    if _FORMULA_CELL_RE.search(_CELL_JOIN + _CELL_JOIN.join(filter(None, values))) is None:
        return values
    return map(_text, values)


def _datetimes(values: tuple) -> list[str]:
    """`2024-05-01T09:30:00+08:00`: ISO 8601 in the display time zone, with its offset."""
    zone = timezone.get_default_timezone()
    return [value.astimezone(zone).isoformat() if value is not None else "" for value in values]


def _yuans(values: tuple) -> list[str]:
    """Fen as yuan with two decimals, computed on integers (no float rounding)."""
    return [f"{fen // 100}.{fen % 100:02d}" if fen is not None else "" for fen in values]


def _decimals(values: tuple) -> list[str]:
    """Fixed point, never an exponent: `0.000000000000` where `str(Decimal)` gives `0E-12`, as PostgreSQL
    prints numerics."""
    return [format(value, "f") if value is not None else "" for value in values]


_BOOLEAN_TEXT = {True: "true", False: "false", None: ""}


def _booleans(values: tuple) -> Iterable[str]:
    return map(_BOOLEAN_TEXT.__getitem__, values)


def _phones_unmasked(values: tuple) -> list[str]:
    return [neutralize(value) if value else "" for value in values]


def _phones_masked(values: tuple) -> list[str]:
    return [neutralize(mask_phone(value)) if value else "" for value in values]


def _names_masked(values: tuple) -> list[str]:
    return [neutralize(mask_name(value)) if value else "" for value in values]


def _ips_masked(values: tuple) -> list[str]:
    """A masked address starts with a digit, a hex digit or `:`: nothing to neutralise."""
    return [mask_ip(value) if value else "" for value in values]


def _gps_masked(values: tuple) -> list[str]:
    return [mask_gps(value) if value is not None else "" for value in values]


@dataclass(frozen=True)
class Personal:
    """Formatter marker of a personal-data column: `unmasked` or `masked` formatting depending on the user
    (orders.pii.can_list_personal_data), and, masked, a column stored with the row (`masked_lookup`: the
    pseudonym of an identifier, the masked GPS address) read instead of the value."""

    unmasked: Callable[[tuple], Iterable] | None
    masked: Callable[[tuple], Iterable] | None
    masked_lookup: str = ""


_PHONES = Personal(_phones_unmasked, _phones_masked)
_NAMES = Personal(_texts, _names_masked)
_IPS = Personal(None, _ips_masked)
_GPS = Personal(_decimals, _gps_masked)


def _stored_mask(masked_lookup: str) -> Personal:
    """Masked, the export reads the form stored with the row (orders.pii.STORED_MASK_FIELDS)."""
    return Personal(_texts, _texts, masked_lookup=masked_lookup)


def _pseudonymised(lookup: str) -> Personal:
    """A device identifier: masked, its stored pseudonym."""
    return _stored_mask(f"{lookup}_pseudonym")


@dataclass(frozen=True)
class Column:
    header: str
    lookup: str
    # A column formatter (above); None passes the values to csv as they are (numbers, fixed vocabularies).
    format: Callable[[tuple], Iterable] | object | None = _texts


@dataclass(frozen=True)
class ExportSpec:
    kind: str
    columns: tuple[Column, ...]
    rows: Callable[[QuerySet[Order]], QuerySet]


# `None`: numbers, and text the database constrains (choices, a validated IP address), which cannot start
# like a formula.
ORDER_COLUMNS = (
    Column("id", "id", None),
    Column("order_no", "order_no"),
    Column("institution", "institution__code"),
    Column("received_at", "received_at", _datetimes),
    Column("door", "door", None),
    Column("loan_amount_fen", "loan_amount_fen", None),
    Column("loan_amount_yuan", "loan_amount_fen", _yuans),
    Column("user_phone", "user_phone", _PHONES),
    Column("review_status", "review_status", None),
    Column("review_updated_at", "review_updated_at", _datetimes),
    Column("address_book_count", "address_book_count", None),
    Column("device_id", "device__device_id", _pseudonymised("device__device_id")),
    Column("device_name", "device__device_name"),
    Column("os_type", "device__os_type"),
    Column("os_kind", "device__os_kind", None),
    Column("os_version", "device__os_version"),
    Column("last_login_at", "device__last_login_at", _datetimes),
    Column("ip", "device__ip", _IPS),
    Column("gps_longitude", "device__gps_longitude", _GPS),
    Column("gps_latitude", "device__gps_latitude", _GPS),
    Column("gps_address", "device__gps_address", _stored_mask("device__gps_address_masked")),
    Column("wifi", "device__wifi", _booleans),
    Column("battery_percent", "device__battery_percent", None),
    Column("carrier", "device__carrier"),
    Column("app_market", "device__app_market"),
    Column("is_root", "device__is_root", _booleans),
    Column("is_simulator", "device__is_simulator", _booleans),
    Column("imei", "device__imei", _pseudonymised("device__imei")),
    Column("android_id", "device__android_id", _pseudonymised("device__android_id")),
    Column("idfa", "device__idfa", _pseudonymised("device__idfa")),
    Column("company_name", "employer__company_name"),
    Column("company_province", "employer__province"),
    Column("company_city", "employer__city"),
    Column("company_district", "employer__district"),
    Column("company_tel", "employer__tel_no", _PHONES),
    Column("risk_flags", "risk_flags", None),
)
CONTACT_COLUMNS = (
    Column("order_id", "order_id", None),
    Column("order_no", "order__order_no"),
    Column("institution", "order__institution__code"),
    Column("priority", "priority", None),
    Column("name", "name", _NAMES),
    Column("mobile", "mobile", _PHONES),
    Column("relation", "relation"),
    Column("relation_category", "relation_category"),
)
ADDRESS_BOOK_COLUMNS = (
    Column("order_id", "order_id", None),
    Column("order_no", "order__order_no"),
    Column("institution", "order__institution__code"),
    Column("name", "name", _NAMES),
    Column("phone", "phone", _PHONES),
    Column("phone_digits", "phone_digits", _PHONES),
    Column("is_mobile", "is_mobile", _booleans),
)

# `headers=zh` (the API) or a Chinese-speaking admin user: the header row in Chinese, for people who
# open the file in Excel; the column order and the cells do not change.
HEADER_LANGUAGES = ("en", "zh")
HEADERS_ZH = {
    "id": "订单ID",
    "order_id": "订单ID",
    "order_no": "订单号",
    "institution": "机构",
    "received_at": "接收时间",
    "door": "接收渠道",
    "loan_amount_fen": "借款金额（分）",
    "loan_amount_yuan": "借款金额（元）",
    "user_phone": "申请人手机号",
    "review_status": "审核状态",
    "review_updated_at": "审核更新时间",
    "address_book_count": "通讯录条数",
    "device_id": "设备标识",
    "device_name": "设备名称",
    "os_type": "系统类型",
    "os_kind": "系统种类",
    "os_version": "系统版本",
    "last_login_at": "最近登录时间",
    "ip": "IP地址",
    "gps_longitude": "经度",
    "gps_latitude": "纬度",
    "gps_address": "GPS地址",
    "wifi": "是否WiFi",
    "battery_percent": "电量（%）",
    "carrier": "运营商",
    "app_market": "应用市场",
    "is_root": "是否root/越狱",
    "is_simulator": "是否模拟器",
    "imei": "IMEI",
    "android_id": "Android ID",
    "idfa": "IDFA",
    "company_name": "单位名称",
    "company_province": "单位所在省",
    "company_city": "单位所在市",
    "company_district": "单位所在区",
    "company_tel": "单位电话",
    "risk_flags": "风险标记",
    "priority": "联系人顺序",
    "name": "姓名",
    "mobile": "手机号",
    "relation": "关系",
    "relation_category": "关系类别",
    "phone": "号码",
    "phone_digits": "号码数字",
    "is_mobile": "是否手机号",
}


def header_row(columns: Sequence[Column], language: str = "en") -> list[str]:
    return [HEADERS_ZH[column.header] if language == "zh" else column.header for column in columns]


SPECS = {
    ExportKind.ORDERS: ExportSpec(ExportKind.ORDERS, ORDER_COLUMNS, selectors.order_export_rows),
    ExportKind.CONTACTS: ExportSpec(ExportKind.CONTACTS, CONTACT_COLUMNS, selectors.contact_export_rows),
    ExportKind.ADDRESS_BOOK: ExportSpec(
        ExportKind.ADDRESS_BOOK, ADDRESS_BOOK_COLUMNS, selectors.address_book_export_rows
    ),
}


def resolved_columns(columns: Sequence[Column], *, unmasked: bool) -> tuple[Column, ...]:
    """The columns as this export writes them: each personal-data column with its masked or unmasked
    formatter (and, masked, the pseudonym column it reads). Both export paths work on these."""
    resolved = []
    for column in columns:
        if isinstance(column.format, Personal):
            personal = column.format
            lookup = personal.masked_lookup if personal.masked_lookup and not unmasked else column.lookup
            column = Column(column.header, lookup, personal.unmasked if unmasked else personal.masked)
        resolved.append(column)
    return tuple(resolved)


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
    # so the cursor gets psycopg's compiled one; `_datetimes` converts to the display time zone anyway.
    with connection.chunked_cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(chunk_size):
            yield chunk


# --- PostgreSQL: CSV lines built by the database ------------------------------------------------------
# Formatting a row in Python cost ~9 µs (formatters + csv module); PostgreSQL builds the same line for
# a fraction of that, and psycopg then loads one text column per row. Rows still come through the same
# named cursor in `chunk_size` fetches (one logged query, per-FETCH statement timeout, nothing to cancel
# when the client goes away) rather than one long COPY statement, which the 30 s statement timeout
# would kill halfway through a slow client's download. Every rule below mirrors a Python formatter
# above; `test_both_paths_write_the_same_bytes` holds them together.
SQL_LINES = True  # tests switch it off to run the Python formatters on PostgreSQL

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
    loads, given `_decimals`; an address without the `/32` a cast to text would add."""
    if field.get_internal_type() == "GenericIPAddressField":
        return f"host({cell})"
    return f"{cell}::text"


def _sql_cell(column: Column, cell: str, field) -> tuple[str, bool]:
    """The SQL text of one CSV cell of a resolved `column` read from `cell`, and whether it may need quoting."""
    fmt = column.format
    if fmt is _phones_unmasked or fmt is _texts:
        return _sql_neutralised(cell), True
    if fmt is _phones_masked:
        return _sql_masked_phone(_sql_phone_digits(cell)), True
    if fmt is _names_masked:
        return _sql_neutralised(_sql_masked_name(cell)), True
    if fmt is _ips_masked:
        return _sql_masked_ip(cell), False
    if fmt is _gps_masked:
        return _sql_masked_gps(cell), False
    if fmt is _datetimes:
        return _sql_datetimes(cell), False
    if fmt is _yuans:
        return _sql_yuans(cell), False
    if fmt is _booleans:
        return _sql_booleans(cell), False
    if fmt is _decimals or fmt is None:
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
        if column.format is _phones_masked:
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


def _line_chunks(queryset: QuerySet, columns: Sequence[Column], *, chunk_size: int):
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


def _python_chunks(rows: QuerySet, columns: Sequence[Column], *, chunk_size: int):
    """(CSV text, row count) per chunk of at most `chunk_size` rows, formatted in Python."""
    lookups = list(dict.fromkeys(column.lookup for column in columns))
    format_chunk = _chunk_formatter(columns, lookups)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # `closing`: a client that goes away closes the named cursor before the transaction ends.
    with closing(_fetched_chunks(rows, lookups, chunk_size)) as chunks:
        for chunk in chunks:
            writer.writerows(format_chunk(chunk))
            yield _drain(buffer), len(chunk)


def _csv_chunks(
    *, log_id: int, spec: ExportSpec, rows: QuerySet, unmasked: bool, bom: bool, headers: str, chunk_size: int
) -> Iterator[str]:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(header_row(spec.columns, headers))
    in_database = SQL_LINES and connections[rows.db].vendor == "postgresql"
    columns = resolved_columns(spec.columns, unmasked=unmasked)
    chunks = (_line_chunks if in_database else _python_chunks)(rows, columns, chunk_size=chunk_size)
    written = 0
    finished = False
    try:
        yield (BOM if bom else "") + _drain(buffer)
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


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


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
