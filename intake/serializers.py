"""Validation of the push document (推送用户补充信息) into a `ValidatedPush`.

Field names are the source document's, so DRF's error paths are the payload's
paths (`userAdditional.deviceInfo.bettary`); `source=` maps each to its model
field. Scalars go through DRF fields wrapping the pure normalizers of
`orders.normalizers`; the address book, which can hold 20,000 entries, is
validated by one field in plain Python instead of a serializer per entry.
"""

import copy
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty
from rest_framework.settings import api_settings

from intake import field_formats
from orders import normalizers
from orders.choices import ContactPriority
from orders.normalizers import NormalizationError
from orders.validated_push import ValidatedPush

Normalizer = Callable[[Any], Any]


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}],
        "nullable": True,
        "description": 'The protocol sends strings; numbers are read as their text, "" and null as unknown.',
    }
)
class ProtocolField(serializers.Field):
    """A field of the protocol: a string (or number) that a normalizer interprets.

    `identifying` fields reject `""` and null; the others read them as "unknown"
    and store `unknown` (empty text or null), since senders of this protocol
    family fill what they do not know with `""`.
    """

    default_error_messages = {
        "blank": _("This field may not be blank."),
        "null": _("This field may not be null."),
    }

    def __init__(self, normalize: Normalizer, *, identifying: bool = False, unknown: Any = None, **kwargs):
        kwargs.setdefault("required", True)
        # What the partner guide's field tables and the OpenAPI schema say about the value.
        self.value_format = field_formats.FORMATS.get(normalize) or normalize.value_format
        kwargs.setdefault("help_text", self.value_format.format)
        super().__init__(**kwargs)
        self.normalize = normalize
        self.identifying = identifying
        self.unknown = unknown

    def validate_empty_values(self, data):
        # Only a missing key is "empty" to DRF; "" and null are decided below.
        if data is empty:
            return super().validate_empty_values(data)
        return False, data

    def to_internal_value(self, data):
        if data is None or data == "":
            if self.identifying:
                self.fail("null" if data is None else "blank")
            return self.unknown
        try:
            return self.normalize(data)
        except NormalizationError as error:
            raise serializers.ValidationError(error.message, code=error.code) from None

    def to_representation(self, value):  # pragma: no cover - write-only serializers
        return value


def text(max_length: int) -> Normalizer:
    """Free text of at most `max_length` characters; numbers are taken as their text."""

    def normalize(value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise NormalizationError("Expected a string.")
        value = str(value)
        if len(value) > max_length:
            raise NormalizationError(f"Ensure this field has no more than {max_length} characters.", code="max_length")
        return value

    normalize.value_format = field_formats.text_format(max_length)
    return normalize


def Text(max_length: int, **kwargs) -> ProtocolField:  # noqa: N802 - reads as a field class
    kwargs.setdefault("unknown", "")
    return ProtocolField(text(max_length), **kwargs)


def Identifier(normalize: Normalizer, **kwargs) -> ProtocolField:  # noqa: N802
    return ProtocolField(normalize, identifying=True, **kwargs)


# What a serializer instance caches once it has been used; a copy must start without it.
_SERIALIZER_STATE = ("fields", "initial_data", "_validated_data", "_errors", "_data")


def _fresh_copy(field: serializers.Field) -> serializers.Field:
    clone = copy.copy(field)
    for name in _SERIALIZER_STATE:
        clone.__dict__.pop(name, None)
    return clone


class ProtocolSectionSerializer(serializers.Serializer):
    """A JSON object of the protocol; a non-object is reported at the section's own path."""

    def get_fields(self):
        # DRF deep-copies every declared field for each serializer instance, which runs
        # each field's __init__ again: about half of the CPU of validating a push's scalar
        # sections (py-spy, README "Performance"). These fields hold nothing of a push
        # (normalizer, flags, messages; DRF binds the copy to this instance), so a shallow
        # copy does; a nested section's copy starts without the fields it may have cached.
        return {name: _fresh_copy(field) for name, field in self._declared_fields.items()}

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            error = ErrorDetail(
                _("Expected a JSON object, but got %(type)s.") % {"type": type(data).__name__}, code="not_an_object"
            )
            # Nested, the parent files the error under this section's path; at the
            # root, DRF requires a mapping of errors.
            raise serializers.ValidationError([error] if self.parent else {api_settings.NON_FIELD_ERRORS_KEY: [error]})
        return super().to_internal_value(data)


class OrderInfoSerializer(ProtocolSectionSerializer):
    orderNo = Identifier(normalizers.order_no, source="order_no")
    loan_amount = Identifier(normalizers.loan_amount_fen, source="loan_amount_fen")
    userPhone = Identifier(normalizers.mobile_phone, source="user_phone")


SIZE_FIELDS = ("memory", "storage", "unuse_storage", "sdcard", "unuse_sdcard")


class DeviceInfoSerializer(ProtocolSectionSerializer):
    deviceId = Identifier(text(128), source="device_id")
    idfa = Text(64, required=False)
    idfv = Text(64, required=False)
    device_info = Text(128, source="device_name")
    osType = Identifier(normalizers.os_type, source="os_type")
    osVersion = Text(64, source="os_version")
    lastLoginTime = Identifier(normalizers.unix_time, source="last_login_at")
    gpsLongitude = ProtocolField(normalizers.longitude, required=False, source="gps_longitude")
    gpsLatitude = ProtocolField(normalizers.latitude, required=False, source="gps_latitude")
    gpsAddress = Text(512, required=False, source="gps_address")
    ip = Identifier(normalizers.ip_address)
    memory = ProtocolField(normalizers.storage_size)
    storage = ProtocolField(normalizers.storage_size)
    unuseStorage = ProtocolField(normalizers.storage_size, source="unuse_storage")
    wifi = ProtocolField(normalizers.tri_state, required=False)
    wifiName = Text(128, required=False, source="wifi_name")
    bettary = ProtocolField(normalizers.battery_percent, source="battery_percent")
    carrier = Text(64, required=False)
    teleNum = Text(32, required=False, source="tele_num")
    appMarket = Text(64, source="app_market")
    isRoot = ProtocolField(normalizers.tri_state, source="is_root")
    dns = Text(256, required=False)
    isSimulator = ProtocolField(normalizers.tri_state, source="is_simulator")
    picCount = ProtocolField(normalizers.non_negative_count, required=False, source="pic_count")
    androidId = Text(64, required=False, source="android_id")
    udid = Text(128, required=False)
    uuid = Text(64, required=False)
    imsi = Text(32, required=False)
    mac = Text(64, required=False)
    sdcard = ProtocolField(normalizers.storage_size, required=False)
    unuseSdcard = ProtocolField(normalizers.storage_size, required=False, source="unuse_sdcard")
    imei = Text(64, required=False)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        os_type = attrs.pop("os_type")
        attrs["os_type"], attrs["os_kind"] = os_type.text, os_type.kind
        for name in SIZE_FIELDS:
            size = attrs.pop(name, None)
            attrs[name] = size.text if size else ""
            attrs[f"{name}_bytes"] = size.bytes if size else None
        # Keys the protocol does not define are kept on the device row, as sent.
        attrs["extra"] = {key: value for key, value in data.items() if key not in self.fields}
        return attrs


@extend_schema_field(
    {
        "type": "array",
        "maxItems": 20000,
        "items": {
            "oneOf": [
                {"type": "string", "description": '"name_phone", split on the last "_"; "王芳_" has no number'},
                {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "nullable": True},
                        "phone": {"type": "string", "nullable": True, "description": 'absent, null or "": no number'},
                    },
                },
            ]
        },
    }
)
class AddressBookField(serializers.Field):
    """`phoneList`: validated in one pass of plain Python; errors keyed by item index."""

    default_error_messages = {
        "not_a_list": _("Expected a list of entries."),
        "max_length": _("Ensure this list has at most {max_length} entries."),
    }

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list")
        max_length = settings.PUSH_MAX_ADDRESS_BOOK_ENTRIES
        if len(data) > max_length:
            self.fail("max_length", max_length=max_length)
        entries, errors = [], {}
        entry = normalizers.address_book_entry
        for index, item in enumerate(data):
            try:
                entries.append(entry(item))
            except NormalizationError as error:
                errors[index] = [ErrorDetail(error.message, code=error.code)]
        if errors:
            raise serializers.ValidationError(errors)
        return entries

    def to_representation(self, value):  # pragma: no cover - write-only serializers
        return value


class AddressBookSerializer(ProtocolSectionSerializer):
    phoneList = AddressBookField(source="entries")


class ContactInfoSerializer(ProtocolSectionSerializer):
    name = Identifier(text(64))
    mobile = Identifier(normalizers.mobile_phone)
    relation = Identifier(normalizers.relation)
    nameSpare = Identifier(text(64), source="name_spare")
    mobileSpare = Identifier(normalizers.mobile_phone, source="mobile_spare")
    relationSpare = Identifier(normalizers.relation, source="relation_spare")

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        return [
            {
                "priority": priority,
                "name": attrs[f"name{suffix}"],
                "mobile": attrs[f"mobile{suffix}"],
                "relation": attrs[f"relation{suffix}"].text,
                "relation_category": attrs[f"relation{suffix}"].category,
            }
            for priority, suffix in ((ContactPriority.PRIMARY, ""), (ContactPriority.SPARE, "_spare"))
        ]


class WorkOfficeInfoSerializer(ProtocolSectionSerializer):
    companyName = Text(128, source="company_name")
    areas = ProtocolField(normalizers.areas)
    address = Text(256)
    telNo = Text(32, source="tel_no")

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        areas = attrs.pop("areas") or normalizers.Areas("", "", "")
        attrs.update(province=areas.province, city=areas.city, district=areas.district)
        return attrs


def _all_unknown(section: object) -> bool:
    return isinstance(section, Mapping) and all(value in ("", None) for value in section.values())


class UserAdditionalSerializer(ProtocolSectionSerializer):
    deviceInfo = DeviceInfoSerializer(source="device")
    addressBook = AddressBookSerializer(source="address_book")
    contactInfo = ContactInfoSerializer(source="contacts")
    workOfficeInfo = WorkOfficeInfoSerializer(source="employer", required=False, allow_null=True)

    def to_internal_value(self, data):
        # A non-office worker's sender fills workOfficeInfo with "": that is "absent".
        if isinstance(data, Mapping) and _all_unknown(data.get("workOfficeInfo")):
            data = {key: value for key, value in data.items() if key != "workOfficeInfo"}
        return super().to_internal_value(data)


class PushSerializer(ProtocolSectionSerializer):
    """The whole push: `{"orderInfo": {...}, "userAdditional": {...}}`."""

    orderInfo = OrderInfoSerializer(source="order")
    userAdditional = UserAdditionalSerializer(source="user_additional")

    def to_push(self) -> ValidatedPush:
        data = self.validated_data
        additional = data["user_additional"]
        return ValidatedPush(
            order=data["order"],
            device=additional["device"],
            contacts=additional["contacts"],
            employer=additional.get("employer"),
            address_book=additional["address_book"]["entries"],
        )


class PushAnswerSerializer(serializers.Serializer):
    """The answer to an accepted push or to its retry (for the OpenAPI schema)."""

    orderNo = serializers.CharField()
    status = serializers.ChoiceField(choices=["accepted", "duplicate"])
    receivedAt = serializers.DateTimeField(help_text="When the order was first accepted.")
    addressBookEntriesWithoutPhone = serializers.IntegerField(
        min_value=0,
        help_text='Address-book entries pushed without a number ("王芳_", "_", ""): kept with an empty phone.',
    )


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable reason, e.g. required, invalid, blank, order_conflict.")
    detail = serializers.CharField(help_text="Human-readable reason.")
    attr = serializers.CharField(
        allow_null=True,
        help_text="Dotted path of the offending field as sent, list indexes as segments "
        "(userAdditional.addressBook.phoneList.3); null when the error is about the whole body.",
    )


class ErrorResponseSerializer(serializers.Serializer):
    """The contract's error body (the drf-standardized-errors format), for the OpenAPI schema.

    The push's paths and codes come from the protocol's own rules (indexes into
    the address book, contract-specific codes), so they are documented as text
    rather than enumerated.
    """

    type = serializers.ChoiceField(choices=["validation_error", "client_error", "server_error"])
    errors = ErrorItemSerializer(many=True)
