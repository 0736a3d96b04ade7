"""Writing an accepted push: the order and every row pushed with it, in the caller's transaction."""

from django.db import connection, transaction

from config.jobs import enqueue
from orders.models import AddressBookEntry, Contact, Device, Employer, Institution, Order
from orders.validated_push import ValidatedPush

_ADDRESS_BOOK_COLUMNS = ("order_id", "name", "phone", "phone_digits", "is_mobile")


@transaction.atomic(savepoint=False)
def order_create_from_push(*, institution: Institution, door: str, push: ValidatedPush, payload_sha256: str) -> Order:
    """Write every row of an accepted push; the caller's transaction makes it all-or-nothing.

    The order row goes first so that the (institution, order_no) unique
    constraint decides a race before any other work is done; the loser gets an
    IntegrityError and the caller answers duplicate or conflict.
    """
    order = Order.objects.create(
        institution=institution,
        door=door,
        payload_sha256=payload_sha256,
        address_book_count=len(push.address_book),
        sandbox=institution.is_sandbox,
        # Until its signals job (recorded below, in this transaction) has run.
        risk_pending=True,
        **push.order,
    )
    pushed_rows_write(order=order, push=push)
    enqueue("orders.risk.tasks.risk_signals_job", order.pk, queue="signals")
    return order


def pushed_rows_write(*, order: Order, push: ValidatedPush) -> None:
    """The rows pushed with an order (device, contacts, employer, address book), a handful of statements."""
    Device.objects.create(order=order, **push.device)  # Device.save adds the stored pseudonyms
    Contact.objects.bulk_create([Contact(order=order, **contact) for contact in push.contacts])
    if push.employer:
        Employer.objects.create(order=order, **push.employer)
    address_book_write(order_id=order.pk, entries=push.address_book)


def address_book_write(*, order_id: int, entries) -> None:
    """Insert validated entries in one statement: COPY on PostgreSQL, executemany elsewhere.

    COPY costs about a third of `bulk_create` for a thousand rows (docs/performance.md);
    executemany keeps SQLite to one statement instead of a batch per 999 parameters.
    """
    if not entries:
        return
    table = connection.ops.quote_name(AddressBookEntry._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in _ADDRESS_BOOK_COLUMNS)
    rows = ((order_id, entry.name, entry.phone, entry.phone_digits, entry.is_mobile) for entry in entries)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(_ADDRESS_BOOK_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", list(rows))
