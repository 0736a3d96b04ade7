"""Streamed CSV exports of filtered orders, their contacts and address books; every export is logged.

The API (`?format=csv`), the companion endpoints and the admin's button and
action all come through `export_response` (`response`), so masking (the rules of
`orders.pii`, unless the user may list personal data), CSV-injection
neutralising and the export log cannot differ between them.

Memory stays flat whatever the row count: rows are tuples of the `values_list`
query (related columns and the risk flags in the same query, never a query per
row), fetched `chunk_size` at a time through a server-side cursor and written
into a `StreamingHttpResponse` one chunk per write.

Speed: on PostgreSQL the database writes each row's CSV line (`sql_csv`: the
same rules as the Python formatters, in SQL) and Python only joins the fetched
lines. Elsewhere (SQLite) a chunk is formatted column by column (`python_csv`,
with the rules of `formatters`), so the columns that need nothing (numbers, fixed
vocabularies) are never touched in Python and a text column is neutralised cell by
cell only when one of its cells starts like a formula; the chunk then goes through
`csv.writer.writerows` in one call. Both paths write the same bytes (a test holds
them to it). What each export writes is in `specs`. Profile and before/after
figures: issue 6.
"""

from orders.exports.formatters import FORMULA_PREFIXES, neutralize
from orders.exports.response import BOM, ExportSource, export_response, filters_for_log
from orders.exports.specs import (
    ADDRESS_BOOK_COLUMNS,
    CONTACT_COLUMNS,
    HEADER_LANGUAGES,
    HEADERS_ZH,
    ORDER_COLUMNS,
    SPECS,
    Column,
    ExportSpec,
    Personal,
    header_row,
    resolved_columns,
)

__all__ = [
    "ADDRESS_BOOK_COLUMNS",
    "BOM",
    "CONTACT_COLUMNS",
    "FORMULA_PREFIXES",
    "HEADERS_ZH",
    "HEADER_LANGUAGES",
    "ORDER_COLUMNS",
    "SPECS",
    "Column",
    "ExportSource",
    "ExportSpec",
    "Personal",
    "export_response",
    "filters_for_log",
    "header_row",
    "neutralize",
    "resolved_columns",
]
