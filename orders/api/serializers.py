"""Read-only JSON shapes of the staff API: an order in a list, and an order with everything pushed with it.

Personal data (phones, names, device identifiers, IP, GPS, addresses) goes
through `PersonalField`, masked by `orders.pii` unless the view put
`unmasked=True` in the serializer context: for a list, the user may list
personal data (`pii.can_list_personal_data`); for one order, see it
(`pii.can_view_personal_data`).
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.models import Contact, Device, Employer, Order
from orders.pii import Kind, mask, mask_document
from orders.risk import SIGNAL_CODES, risk_flags_of


@extend_schema_field(serializers.CharField(allow_null=True))
class PersonalField(serializers.Field):
    """A personal-data value: as the model field gives it to those allowed, else masked per `kind`
    (a string; None stays None)."""

    def __init__(self, kind: Kind, unmasked_field: serializers.Field | None = None, **kwargs):
        self.kind = kind
        self.unmasked_field = unmasked_field or serializers.CharField()
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        if self.context.get("unmasked"):
            return self.unmasked_field.to_representation(value)
        return mask(self.kind, value)


class PhoneField(PersonalField):
    def __init__(self, **kwargs):
        super().__init__(Kind.PHONE, **kwargs)


@extend_schema_field(serializers.JSONField())
class DeviceExtraField(serializers.JSONField):
    """deviceInfo keys the protocol does not define: masked by key, like a push body."""

    def to_representation(self, value):
        value = super().to_representation(value)
        return value if self.context.get("unmasked") else mask_document({"deviceInfo": value})["deviceInfo"]


@extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=SIGNAL_CODES)))
class RiskFlagsField(serializers.Field):
    """The order's risk-signal codes, sorted; read from the `risk_flags` annotation the view's query adds."""

    def __init__(self, **kwargs):
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, order):
        return risk_flags_of(order)


class OrderListSerializer(serializers.ModelSerializer):
    institution = serializers.CharField(source="institution.code", help_text="Institution code (ua).")
    loan_amount_yuan = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    user_phone = PhoneField(help_text="Masked as 138****0000 without the personal-data permission.")
    os_kind = serializers.CharField(source="device.os_kind", allow_null=True, default=None)
    is_root = serializers.BooleanField(source="device.is_root", allow_null=True, default=None)
    is_simulator = serializers.BooleanField(source="device.is_simulator", allow_null=True, default=None)
    risk_flags = RiskFlagsField(help_text="Codes of the order's risk signals, e.g. shared_device.")
    sandbox = serializers.BooleanField(
        read_only=True, help_text="A sandbox institution's test order: never reviewed, exported or counted."
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "order_no",
            "institution",
            "received_at",
            "door",
            "loan_amount_fen",
            "loan_amount_yuan",
            "user_phone",
            "review_status",
            "review_updated_at",
            "address_book_count",
            "os_kind",
            "is_root",
            "is_simulator",
            "risk_flags",
            "sandbox",
        ]
        read_only_fields = fields


def _identifier() -> PersonalField:
    return PersonalField(Kind.DEVICE_ID, help_text="Masked: a 16-hex-digit keyed pseudonym.")


def _coordinate() -> PersonalField:
    return PersonalField(Kind.GPS, serializers.DecimalField(max_digits=16, decimal_places=12), allow_null=True)


class DeviceSerializer(serializers.ModelSerializer):
    device_id = _identifier()
    idfa = _identifier()
    idfv = _identifier()
    android_id = _identifier()
    udid = _identifier()
    uuid = _identifier()
    imsi = _identifier()
    imei = _identifier()
    mac = _identifier()
    ip = PersonalField(Kind.IP)
    gps_longitude = _coordinate()
    gps_latitude = _coordinate()
    gps_address = PersonalField(Kind.ADDRESS)
    extra = DeviceExtraField(read_only=True)

    class Meta:
        model = Device
        # The stored pseudonyms (not editable) are derived data for the CSV export.
        exclude = ["order", *(field.name for field in Device._meta.concrete_fields if not field.editable)]
        read_only_fields = [
            field.name for field in Device._meta.concrete_fields if field.name != "order" and field.editable
        ]


class ContactSerializer(serializers.ModelSerializer):
    name = PersonalField(Kind.NAME)
    mobile = PhoneField()

    class Meta:
        model = Contact
        fields = ["priority", "name", "mobile", "relation", "relation_category"]
        read_only_fields = fields


class EmployerSerializer(serializers.ModelSerializer):
    address = PersonalField(Kind.ADDRESS)
    tel_no = PhoneField()

    class Meta:
        model = Employer
        fields = ["company_name", "province", "city", "district", "address", "tel_no"]
        read_only_fields = fields


class OrderDetailSerializer(OrderListSerializer):
    device = DeviceSerializer(read_only=True, allow_null=True, default=None)
    contacts = ContactSerializer(many=True, read_only=True)
    employer = EmployerSerializer(read_only=True, allow_null=True, default=None)

    class Meta(OrderListSerializer.Meta):
        fields = [*OrderListSerializer.Meta.fields, "device", "contacts", "employer"]
        read_only_fields = fields
