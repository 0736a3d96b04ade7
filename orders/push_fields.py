"""The push's leaf fields by their protocol paths, and where each one is stored.

A `needs_info` decision names fields to supply again by these paths
(`userAdditional.workOfficeInfo.companyName`), and a revision's changes are
listed by them, so a reviewer and an institution use the same names. The paths
are the protocol's (intake's serializers define them; a test holds the two
together): orders cannot import intake, so the table lives here.
"""

# (protocol path, stored row, model attribute). Rows: order, device, contact1, contact2, employer.
_ORDER = "userAdditional"
ORDER_FIELDS = (
    ("orderInfo.orderNo", "order", "order_no"),
    ("orderInfo.loan_amount", "order", "loan_amount_fen"),
    ("orderInfo.userPhone", "order", "user_phone"),
)
_DEVICE_ATTRIBUTES = {
    "deviceId": "device_id",
    "idfa": "idfa",
    "idfv": "idfv",
    "device_info": "device_name",
    "osType": "os_type",
    "osVersion": "os_version",
    "lastLoginTime": "last_login_at",
    "gpsLongitude": "gps_longitude",
    "gpsLatitude": "gps_latitude",
    "gpsAddress": "gps_address",
    "ip": "ip",
    "memory": "memory",
    "storage": "storage",
    "unuseStorage": "unuse_storage",
    "wifi": "wifi",
    "wifiName": "wifi_name",
    "bettary": "battery_percent",
    "carrier": "carrier",
    "teleNum": "tele_num",
    "appMarket": "app_market",
    "isRoot": "is_root",
    "dns": "dns",
    "isSimulator": "is_simulator",
    "picCount": "pic_count",
    "androidId": "android_id",
    "udid": "udid",
    "uuid": "uuid",
    "imsi": "imsi",
    "mac": "mac",
    "sdcard": "sdcard",
    "unuseSdcard": "unuse_sdcard",
    "imei": "imei",
}
DEVICE_FIELDS = tuple(
    (f"{_ORDER}.deviceInfo.{key}", "device", attribute) for key, attribute in _DEVICE_ATTRIBUTES.items()
)
CONTACT_FIELDS = tuple(
    (f"{_ORDER}.contactInfo.{key}{suffix}", row, attribute)
    for suffix, row in (("", "contact1"), ("Spare", "contact2"))
    for key, attribute in (("name", "name"), ("mobile", "mobile"), ("relation", "relation"))
)
EMPLOYER_FIELDS = (
    (f"{_ORDER}.workOfficeInfo.companyName", "employer", "company_name"),
    # Stored as three columns; compared and shown as the one pushed value.
    (f"{_ORDER}.workOfficeInfo.areas", "employer", "areas"),
    (f"{_ORDER}.workOfficeInfo.address", "employer", "address"),
    (f"{_ORDER}.workOfficeInfo.telNo", "employer", "tel_no"),
)
PHONE_LIST = f"{_ORDER}.addressBook.phoneList"
DEVICE_EXTRA_PREFIX = f"{_ORDER}.deviceInfo."
SCALAR_FIELDS = (*ORDER_FIELDS, *DEVICE_FIELDS, *CONTACT_FIELDS, *EMPLOYER_FIELDS)

# The orderNo names the order: it cannot be supplied again, a new one would be another order.
_NOT_SUPPLIABLE = frozenset({"orderInfo.orderNo"})


def pushed_paths(*, has_employer: bool) -> list[str]:
    """The leaf paths an order's push carried, in the protocol's order: what `needs_info` may ask for."""
    fields = (*ORDER_FIELDS, *DEVICE_FIELDS, *CONTACT_FIELDS, *(EMPLOYER_FIELDS if has_employer else ()))
    paths = [path for path, _row, _attribute in fields if path not in _NOT_SUPPLIABLE]
    paths.insert(paths.index(CONTACT_FIELDS[0][0]), PHONE_LIST)
    return paths


def every_path() -> list[str]:
    """Every leaf path of the protocol (an office worker's push)."""
    return pushed_paths(has_employer=True)
