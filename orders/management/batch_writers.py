"""The writers of `generate_orders`' batches: COPY on PostgreSQL, `bulk_create` elsewhere."""

import json

from django.db import connection

from orders.models import AddressBookEntry, Contact, Device, Employer, Order


def _columns(model, *, with_pk: bool) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields if with_pk or not field.primary_key]


def _copy(cursor, model, columns: list[str], rows) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(column).column) for column in columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def write_batch_postgresql(orders: list[dict]) -> None:
    """COPY every table of one batch; order ids are taken from the sequence first."""
    order_columns = _columns(Order, with_pk=True)
    device_columns = _columns(Device, with_pk=True)
    contact_columns = _columns(Contact, with_pk=False)
    employer_columns = _columns(Employer, with_pk=True)
    with connection.cursor() as cursor:
        _order_ids_assign(cursor, orders)
        _copy(
            cursor, Order, order_columns, (tuple(item["order"][column] for column in order_columns) for item in orders)
        )
        _copy(cursor, Device, device_columns, _device_rows(orders, device_columns))
        _copy(cursor, Contact, contact_columns, _contact_rows(orders, contact_columns))
        _copy(cursor, Employer, employer_columns, _employer_rows(orders, employer_columns))
        _copy(
            cursor,
            AddressBookEntry,
            ["order_id", "name", "phone", "phone_digits", "is_mobile"],
            (
                (item["order"]["id"], entry.name, entry.phone, entry.phone_digits, entry.is_mobile)
                for item in orders
                for entry in item["address_book"]
            ),
        )


def _order_ids_assign(cursor, orders: list[dict]) -> None:
    # COPY returns no ids, and the other tables need them: take them from the sequence first.
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [Order._meta.db_table, len(orders)],
    )
    ids = [row[0] for row in cursor.fetchall()]
    for order_id, item in zip(ids, orders, strict=True):
        item["order"]["id"] = order_id


def _device_rows(orders: list[dict], columns: list[str]):
    return (
        tuple(
            item["order"]["id"]
            if column == "order_id"
            else json.dumps(item["device"][column])
            if column == "extra"
            else item["device"][column]
            for column in columns
        )
        for item in orders
    )


def _contact_rows(orders: list[dict], columns: list[str]):
    return (
        tuple(item["order"]["id"] if column == "order_id" else contact[column] for column in columns)
        for item in orders
        for contact in item["contacts"]
    )


def _employer_rows(orders: list[dict], columns: list[str]):
    return (
        tuple(item["order"]["id"] if column == "order_id" else item["employer"][column] for column in columns)
        for item in orders
        if item["employer"]
    )


def write_batch_bulk_create(orders: list[dict]) -> None:
    """`bulk_create` per table, for databases without COPY (SQLite in development and tests)."""
    created = Order.objects.bulk_create([Order(**item["order"]) for item in orders])
    Device.objects.bulk_create(
        [Device(order=order, **item["device"]) for order, item in zip(created, orders, strict=True)]
    )
    Contact.objects.bulk_create(
        [
            Contact(order=order, **contact)
            for order, item in zip(created, orders, strict=True)
            for contact in item["contacts"]
        ]
    )
    Employer.objects.bulk_create(
        [
            Employer(order=order, **item["employer"])
            for order, item in zip(created, orders, strict=True)
            if item["employer"]
        ]
    )
    AddressBookEntry.objects.bulk_create(
        [
            AddressBookEntry(order=order, **entry._asdict())
            for order, item in zip(created, orders, strict=True)
            for entry in item["address_book"]
        ],
        batch_size=5_000,
    )
