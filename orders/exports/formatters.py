"""The cells' rules, in Python: CSV-injection neutralising and one formatter per kind of column (dates, money, masks).

Each formatter takes one column of a chunk (a tuple of values, None for NULL) and returns the cells to write;
`orders.exports.sql_csv` mirrors every one of them in SQL.
"""

import re
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from orders.pii import mask_gps, mask_ip, mask_name, mask_phone

# OWASP's list: a spreadsheet reads a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST_CHARS = frozenset(FORMULA_PREFIXES)
# Cells of a column are joined with NUL (which PostgreSQL text cannot hold) to test them all in one regex scan.
_CELL_JOIN = "\x00"
_FORMULA_CELL_RE = re.compile(_CELL_JOIN + "[" + re.escape("".join(FORMULA_PREFIXES)) + "]")


def neutralize(value: str) -> str:
    """`=HYPERLINK(...)` → `'=HYPERLINK(...)`: the spreadsheet shows the text instead of running it."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


# Column formatters: each takes one column of a chunk (a tuple of values, None for NULL) and returns
# the cells to write, in order. The common cells cost no Python function call (inline or C-level work);
# the per-cell formatter calls of the first version were a quarter of the export's time.


def text_cell(value: Any) -> Any:
    return f"'{value}" if value.__class__ is str and value[:1] in _FORMULA_FIRST_CHARS else value


def texts(values: tuple) -> Iterable:
    """Free text, neutralised. Most columns of most chunks hold no formula-like cell: one C-level join
    and scan proves it and the column passes untouched. A match (or a cell holding NUL then a formula
    character) only sends that column through `text_cell` cell by cell."""
    if _FORMULA_CELL_RE.search(_CELL_JOIN + _CELL_JOIN.join(filter(None, values))) is None:
        return values
    return map(text_cell, values)


def datetimes(values: tuple) -> list[str]:
    """`2024-05-01T09:30:00+08:00`: ISO 8601 in the display time zone, with its offset."""
    zone = timezone.get_default_timezone()
    return [value.astimezone(zone).isoformat() if value is not None else "" for value in values]


def yuans(values: tuple) -> list[str]:
    """Fen as yuan with two decimals, computed on integers (no float rounding)."""
    return [f"{fen // 100}.{fen % 100:02d}" if fen is not None else "" for fen in values]


def decimals(values: tuple) -> list[str]:
    """Fixed point, never an exponent: `0.000000000000` where `str(Decimal)` gives `0E-12`, as PostgreSQL
    prints numerics."""
    return [format(value, "f") if value is not None else "" for value in values]


_BOOLEAN_TEXT = {True: "true", False: "false", None: ""}


def booleans(values: tuple) -> Iterable[str]:
    return map(_BOOLEAN_TEXT.__getitem__, values)


def phones_unmasked(values: tuple) -> list[str]:
    return [neutralize(value) if value else "" for value in values]


def phones_masked(values: tuple) -> list[str]:
    return [neutralize(mask_phone(value)) if value else "" for value in values]


def names_masked(values: tuple) -> list[str]:
    return [neutralize(mask_name(value)) if value else "" for value in values]


def ips_masked(values: tuple) -> list[str]:
    """A masked address starts with a digit, a hex digit or `:`: nothing to neutralise."""
    return [mask_ip(value) if value else "" for value in values]


def gps_masked(values: tuple) -> list[str]:
    return [mask_gps(value) if value is not None else "" for value in values]
