"""Push documents for the benchmark, with the address-book shapes real senders produce.

Applicants, contacts and address-book numbers are drawn at random from a large
population, so that pushes link to each other (risk signals) only as rarely as
real applicants do, not on every push.
"""

import json
import random
import uuid

_random = random.Random()


def mobile(n: int) -> str:
    """A valid, distinct mainland mobile number for each n below 10^8."""
    return f"139{n % 10**8:08d}"


def someone() -> str:
    return mobile(_random.randrange(10**8))


def spaced(number: str) -> str:
    return f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"


def phone_list(size: int, *, start: int = 0) -> list:
    """Strings and objects, landlines, short codes, names with `_`, +86 prefixes and separators."""
    shapes = [
        lambda i: f"联系人{i}_{someone()}",
        lambda i: {"name": f"同事_{i}", "phone": spaced(someone())},
        lambda i: f"王芳{i}_021-6666{i % 10000:04d}",
        lambda i: "中国移动_10086",
        lambda i: {"name": "", "phone": someone()},
    ]
    return [shapes[i % len(shapes)](start + i) for i in range(size)]


def push_document(order_no: str, *, book_size: int, n: int = 0, imei: str = "") -> dict:
    """A complete, valid push (every section) whose address book has `book_size` entries.

    `imei`, when given, is the device's IMEI: pushes carrying the same one are
    linked by the risk signals (the hot-identifier figure shares one across all).
    """
    document = {
        "orderInfo": {"orderNo": order_no, "loan_amount": "500000", "userPhone": someone()},
        "userAdditional": {
            "deviceInfo": {
                "deviceId": uuid.uuid4().hex,
                "device_info": "iPhone 6 Plus",
                "osType": "iOS",
                "osVersion": "9.300000",
                "lastLoginTime": "1476692044",
                "gpsLongitude": "121.5103238932292",
                "gpsLatitude": "31.30658718532986",
                "gpsAddress": "上海市杨浦区政学路",
                "ip": "127.0.0.1",
                "memory": "1.0 GB",
                "storage": "64 GB",
                "unuseStorage": "12.5 GB",
                "wifi": "1",
                "bettary": "87",
                "appMarket": "AppStore",
                "isRoot": "0",
                "isSimulator": "0",
                "picCount": "1024",
                "carrier": "中国移动",
                "pushChannel": "apns",
            },
            "addressBook": {"phoneList": phone_list(book_size, start=n * 7)},
            "contactInfo": {
                "name": "张建国",
                "mobile": someone(),
                "relation": "父母",
                "nameSpare": "刘洋",
                "mobileSpare": someone(),
                "relationSpare": "朋友",
            },
            "workOfficeInfo": {
                "companyName": "上海某某信息科技有限公司",
                "areas": "上海市,上海市,杨浦区",
                "address": "政学路1号",
                "telNo": "021-65550000",
            },
        },
    }
    if imei:
        document["userAdditional"]["deviceInfo"]["imei"] = imei
    return document


def push_body(order_no: str, *, book_size: int, n: int = 0, imei: str = "") -> bytes:
    return json.dumps(push_document(order_no, book_size=book_size, n=n, imei=imei), ensure_ascii=False).encode()
