"""Seed the default rejection reasons (the wire codes of docs/contract.md); administrators edit them later."""

from django.db import migrations

DEFAULT_REASONS = [
    ("insufficient_credit", "Insufficient credit", "信用不足"),
    ("false_information", "False information", "资料不实"),
    ("multiple_borrowing", "Multiple borrowing", "多头借贷"),
    ("device_risk", "Device risk", "设备风险"),
    ("contact_anomaly", "Contact anomaly", "联系人异常"),
    ("other", "Other", "其他"),
]


def seed(apps, schema_editor):
    reason = apps.get_model("orders", "RejectionReason")
    existing = set(reason.objects.values_list("code", flat=True))
    reason.objects.bulk_create(
        [
            reason(code=code, label_en=label_en, label_zh=label_zh, position=position * 10)
            for position, (code, label_en, label_zh) in enumerate(DEFAULT_REASONS)
            if code not in existing
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("orders", "0009_decisions")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
