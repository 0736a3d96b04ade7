"""Reading signals per order: the `risk_flags` annotation (codes joined by `;`) and the filter by one code."""

from __future__ import annotations

from django.db.models import CharField, Exists, F, Func, OuterRef, QuerySet, Value
from django.db.models.functions import Coalesce

from orders.models import Order, RiskSignal
from orders.risk.registry import SIGNAL_CODES, SIGNALS

RISK_FLAGS_SEPARATOR = ";"


class _JoinedSignalCodes(Func):
    """The order's signal codes in code order joined by `;` (NULL when none), as a correlated subquery.

    Written by hand because Django 5.2 has no portable string aggregate
    (StringAgg is PostgreSQL-only); one index range scan per order row.
    """

    output_field = CharField()

    def as_sql(self, compiler, connection, **extra_context):
        (outer_pk,) = self.source_expressions
        pk_sql, params = compiler.compile(outer_pk)
        table = connection.ops.quote_name(RiskSignal._meta.db_table)
        separator = RISK_FLAGS_SEPARATOR
        if connection.vendor == "postgresql":
            sql = (
                f"(SELECT STRING_AGG(rs.code, '{separator}' ORDER BY rs.code) "
                f"FROM {table} rs WHERE rs.order_id = {pk_sql})"
            )
        else:
            # SQLite keeps the order of an ordered subquery in group_concat.
            sql = (
                f"(SELECT GROUP_CONCAT(code, '{separator}') FROM "
                f"(SELECT rs.code FROM {table} rs WHERE rs.order_id = {pk_sql} ORDER BY rs.code))"
            )
        return sql, params


def risk_flags_annotation(order_path: str = "pk"):
    """An expression for `.annotate(risk_flags=...)` on Order querysets: `'shared_device;simulator'` or `''`.

    `order_path` points at the order's primary key from another model's queryset (`"order"`)."""
    return Coalesce(_JoinedSignalCodes(F(order_path)), Value(""), output_field=CharField())


def risk_flags_of(order: Order) -> list[str]:
    """Codes of an order fetched with `risk_flags_annotation()` (or with `risk_signals` prefetched)."""
    joined = getattr(order, "risk_flags", None)
    if joined is not None:
        return [code for code in joined.split(RISK_FLAGS_SEPARATOR) if code]
    return sorted(signal.code for signal in order.risk_signals.all())


def filter_by_flag(queryset: QuerySet[Order], code: str, order_path: str = "pk") -> QuerySet:
    """The orders of `queryset` that carry signal `code` (an EXISTS on the (order, code) unique index)."""
    if code not in SIGNALS:
        raise ValueError(f"Unknown risk signal {code!r}; expected one of {', '.join(SIGNAL_CODES)}")
    return queryset.filter(Exists(RiskSignal.objects.filter(order_id=OuterRef(order_path), code=code)))
