"""The floor: a push durably written with no framework, to measure the platform against (docs/performance.md).

`floor_write` is the least work that stores the same information as
`intake.services.push_receive`: `json.loads`, the raw body into a push-log row,
the order/device/contacts/employer INSERTs and the address book by psycopg COPY,
in the caller's one transaction. It uses the same pure normalizers, so it writes
the same rows (tests/bench pins that), but it trusts the document: no
validation, no authentication, no rate limit, no ORM, no DRF.

Like the platform's push, which records the job that computes the order's
risk signals in its own transaction (`django_q.OrmQ`, a signed pickle), the
floor records a job row in the same transaction, the plainest way: one INSERT
of a small JSON document into `bench_floor_job`, a table of the engine's queue
shape (key, payload, lock, a serial key) that no worker reads. It computes no
signals: that is the platform's extra work, which the throughput targets allow for.

`application` serves it over HTTP as a bare WSGI app, so the benchmark compares
it with the real endpoint through the same gunicorn, request for request.
"""

import hashlib
import json
import os
from datetime import UTC, datetime

from orders import normalizers

_DEVICE_TEXT = {
    # protocol key: column
    "deviceId": "device_id",
    "idfa": "idfa",
    "idfv": "idfv",
    "device_info": "device_name",
    "osVersion": "os_version",
    "gpsAddress": "gps_address",
    "wifiName": "wifi_name",
    "carrier": "carrier",
    "teleNum": "tele_num",
    "appMarket": "app_market",
    "dns": "dns",
    "androidId": "android_id",
    "udid": "udid",
    "uuid": "uuid",
    "imsi": "imsi",
    "mac": "mac",
    "imei": "imei",
}
_DEVICE_TYPED = {
    "lastLoginTime": ("last_login_at", normalizers.unix_time),
    "gpsLongitude": ("gps_longitude", normalizers.longitude),
    "gpsLatitude": ("gps_latitude", normalizers.latitude),
    "ip": ("ip", normalizers.ip_address),
    "wifi": ("wifi", normalizers.tri_state),
    "bettary": ("battery_percent", normalizers.battery_percent),
    "isRoot": ("is_root", normalizers.tri_state),
    "isSimulator": ("is_simulator", normalizers.tri_state),
    "picCount": ("pic_count", normalizers.non_negative_count),
}
_DEVICE_SIZES = {
    "memory": "memory",
    "storage": "storage",
    "unuseStorage": "unuse_storage",
    "sdcard": "sdcard",
    "unuseSdcard": "unuse_sdcard",
}
_DEVICE_KNOWN = {*_DEVICE_TEXT, *_DEVICE_TYPED, *_DEVICE_SIZES, "osType"}
_BOOK_COLUMNS = "order_id, name, phone, phone_digits, is_mobile"
FLOOR_JOB_TABLE = "bench_floor_job"


def floor_job_table_ddl(vendor: str) -> str:
    """The floor's job table, shaped like the engine's queue table (`django_q_ormq`)."""
    key = "bigserial PRIMARY KEY" if vendor == "postgresql" else "integer PRIMARY KEY AUTOINCREMENT"
    stamp = "timestamptz" if vendor == "postgresql" else "datetime"
    return (
        f"CREATE TABLE IF NOT EXISTS {FLOOR_JOB_TABLE} "
        f"(id {key}, key varchar(100) NOT NULL, payload text NOT NULL, lock {stamp})"
    )


def _device_row(info: dict) -> dict:
    row = {column: str(info.get(key) or "") for key, column in _DEVICE_TEXT.items()}
    for key, (column, normalize) in _DEVICE_TYPED.items():
        value = info.get(key)
        row[column] = None if value in ("", None) else normalize(value)
    for key, column in _DEVICE_SIZES.items():
        value = info.get(key)
        size = None if value in ("", None) else normalizers.storage_size(value)
        row[column] = size.text if size else ""
        row[f"{column}_bytes"] = size.bytes if size else None
    os_type = normalizers.os_type(info["osType"])
    row["os_type"], row["os_kind"] = os_type.text, os_type.kind
    row["extra"] = json.dumps({key: value for key, value in info.items() if key not in _DEVICE_KNOWN})
    return row


def _insert(cursor, table: str, row: dict, returning: str = "") -> None:
    columns = ", ".join(row)
    placeholders = ", ".join(["%s"] * len(row))
    cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}){returning}", list(row.values()))


def floor_write(cursor, body: bytes, *, institution_id: int, door: str = "rest", use_copy: bool = True) -> dict:
    """Store one push with the least work possible; the caller owns the transaction.

    `cursor` is a DB-API cursor taking `%s` placeholders (psycopg's, or Django's
    on SQLite, where `use_copy=False` writes the book with executemany).
    Returns the answer the real endpoint gives.
    """
    document = json.loads(body)
    order_info = document["orderInfo"]
    additional = document["userAdditional"]
    contacts = additional["contactInfo"]
    office = additional.get("workOfficeInfo")
    entries = [normalizers.address_book_entry(item) for item in additional["addressBook"]["phoneList"]]
    # The fingerprint that tells a retry from a conflict is part of the information stored.
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    now = datetime.now(tz=UTC)

    _insert(
        cursor,
        "orders_order",
        {
            "institution_id": institution_id,
            "order_no": order_info["orderNo"],
            "loan_amount_fen": int(order_info["loan_amount"]),
            "user_phone": normalizers.mobile_phone(order_info["userPhone"]),
            "received_at": now,
            "door": door,
            "payload_sha256": hashlib.sha256(canonical.encode("ascii")).hexdigest(),
            "address_book_count": len(entries),
            "review_status": "pending",
        },
        " RETURNING id",
    )
    order_id = cursor.fetchone()[0]
    _insert(cursor, "orders_device", {"order_id": order_id, **_device_row(additional["deviceInfo"])})
    contact_rows = []
    for priority, suffix in ((1, ""), (2, "Spare")):
        relation = normalizers.relation(contacts[f"relation{suffix}"])
        contact_rows += [
            order_id,
            priority,
            contacts[f"name{suffix}"],
            normalizers.mobile_phone(contacts[f"mobile{suffix}"]),
            relation.text,
            relation.category,
        ]
    cursor.execute(
        "INSERT INTO orders_contact (order_id, priority, name, mobile, relation, relation_category) "
        "VALUES (%s, %s, %s, %s, %s, %s), (%s, %s, %s, %s, %s, %s)",
        contact_rows,
    )
    if office and any(value not in ("", None) for value in office.values()):
        areas = normalizers.areas(office["areas"])
        _insert(
            cursor,
            "orders_employer",
            {
                "order_id": order_id,
                "company_name": office["companyName"],
                "province": areas.province,
                "city": areas.city,
                "district": areas.district,
                "address": office["address"],
                "tel_no": office["telNo"],
            },
        )
    if entries:
        rows = [(order_id, *entry) for entry in entries]
        if use_copy:
            with cursor.copy(f"COPY orders_addressbookentry ({_BOOK_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO orders_addressbookentry ({_BOOK_COLUMNS}) VALUES (%s, %s, %s, %s, %s)", rows
            )
    _insert(
        cursor,
        "intake_pushlog",
        {
            "received_at": now,
            "institution_id": institution_id,
            "door": door,
            "order_no": order_info["orderNo"],
            "outcome": "accepted",
            "http_status": 200 if door == "channel" else 201,  # what each door answers
            "body": body,
            "body_size": len(body),
            "errors": "[]",
            "duration_ms": 0,
            "remote_addr": None,
            "request_id": "",
            "refusal_count": 1,
        },
    )
    _insert(
        cursor,
        FLOOR_JOB_TABLE,
        {
            "key": "signals",
            "payload": json.dumps({"func": "orders.risk.tasks.risk_signals_job", "args": [order_id]}),
            "lock": now,
        },
    )
    return {"orderNo": order_info["orderNo"], "status": "accepted", "receivedAt": now.isoformat()}


# --- Served over HTTP --------------------------------------------------------------------

_connection = None


def _database():
    """One connection per worker process, kept open, as Django keeps its own."""
    global _connection
    if _connection is None or _connection.closed:
        import psycopg

        _connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return _connection


def application(environ, start_response):
    """`POST` a push body; 201 and the answer once it is committed. Everything else is 405."""
    if environ["REQUEST_METHOD"] != "POST":
        start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
        return [b"POST a push body\n"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    connection = _database()
    with connection.transaction(), connection.cursor() as cursor:
        answer = floor_write(cursor, body, institution_id=int(os.environ["BENCH_FLOOR_INSTITUTION_ID"]))
    payload = json.dumps(answer).encode()
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]
