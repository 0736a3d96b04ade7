"""Read-only JSON shapes of the staff API: an order in a list, and an order with everything pushed with it.

Phone numbers go through `PhoneField`, masked unless the view put
`unmasked=True` in the serializer context (the user holds the PII permission).
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.models import Contact, Device, Employer, Order
from orders.pii import mask_phone
from orders.risk import SIGNAL_CODES, risk_flags_of


class PhoneField(serializers.CharField):
    def to_representation(self, value):
        text = super().to_representation(value)
        return text if self.context.get("unmasked") else mask_phone(text)


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
        ]
        read_only_fields = fields


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        exclude = ["order"]
        read_only_fields = [field.name for field in Device._meta.concrete_fields if field.name != "order"]


class ContactSerializer(serializers.ModelSerializer):
    mobile = PhoneField()

    class Meta:
        model = Contact
        fields = ["priority", "name", "mobile", "relation", "relation_category"]
        read_only_fields = fields


class EmployerSerializer(serializers.ModelSerializer):
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
