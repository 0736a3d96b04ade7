"""Institution, PushOutcome and PushLog move from intake to orders; their tables and rows stay where they are.

State only (no table is created, renamed or copied): the models keep `intake_institution` and
`intake_pushlog` as their db_table. The content types are relabelled so that everything pointing at
them (the groups' and users' permissions, the admin's history) follows the models to orders.
intake 0006 then removes the models from intake's state.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MOVED_MODELS = ("institution", "pushlog")


def _relabel_content_types(apps, from_label: str, to_label: str) -> None:
    """Relabel the moved models' content types, keeping their ids: permissions and admin log entries point at them."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    for model in MOVED_MODELS:
        moving = ContentType.objects.filter(app_label=from_label, model=model).first()
        if moving is None:
            continue
        already = ContentType.objects.filter(app_label=to_label, model=model).first()
        if already is not None:
            # Both labels exist (content types created for the new label before this ran): the old row is the one
            # roles were granted on; merge the other into it rather than lose either's grants or history.
            kept_codenames = Permission.objects.filter(content_type=moving).values_list("codename", flat=True)
            Permission.objects.filter(content_type=already, codename__in=list(kept_codenames)).delete()
            Permission.objects.filter(content_type=already).update(content_type=moving)
            LogEntry.objects.filter(content_type=already).update(content_type=moving)
            already.delete()
        moving.app_label = to_label
        moving.save(update_fields=["app_label"])
    # A long-running process (the test run, a shell) caches content types by label; drop the stale labels.
    from django.contrib.contenttypes.models import ContentType as LiveContentType

    LiveContentType.objects.clear_cache()


def content_types_to_orders(apps, schema_editor):
    _relabel_content_types(apps, "intake", "orders")


def content_types_to_intake(apps, schema_editor):
    _relabel_content_types(apps, "orders", "intake")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_merge_pii_and_supervisor"),
        ("intake", "0005_refusal_count_rate_subject"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Institution",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("code", models.SlugField(max_length=64, unique=True, verbose_name="code (ua)")),
                        ("name", models.CharField(max_length=128, verbose_name="name")),
                        (
                            "is_active",
                            models.BooleanField(
                                default=True,
                                help_text="A disabled institution's pushes are refused (403).",
                                verbose_name="active",
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at"),
                        ),
                        (
                            "api_token_id",
                            models.CharField(
                                blank=True,
                                editable=False,
                                help_text="Public part of the API token; empty when revoked.",
                                max_length=16,
                                null=True,
                                unique=True,
                                verbose_name="API token id",
                            ),
                        ),
                        ("api_token_hash", models.CharField(blank=True, editable=False, max_length=64)),
                        (
                            "api_token_rotated_at",
                            models.DateTimeField(
                                blank=True, editable=False, null=True, verbose_name="API token issued at"
                            ),
                        ),
                        ("channel_key_encrypted", models.TextField(blank=True, editable=False)),
                        (
                            "channel_key_rotated_at",
                            models.DateTimeField(
                                blank=True, editable=False, null=True, verbose_name="channel key issued at"
                            ),
                        ),
                        (
                            "require_timestamp",
                            models.BooleanField(
                                default=False,
                                help_text="Refuse signed-channel envelopes without a recent timeStamp.",
                                verbose_name="require timeStamp",
                            ),
                        ),
                        (
                            "rate_limit_per_minute",
                            models.PositiveIntegerField(
                                blank=True,
                                help_text="Empty: the platform default.",
                                null=True,
                                verbose_name="pushes per minute",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "institution",
                        "verbose_name_plural": "institutions",
                        "db_table": "intake_institution",
                        "ordering": ["code"],
                    },
                ),
                migrations.AlterField(
                    model_name="order",
                    name="institution",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="orders.institution",
                        verbose_name="institution",
                    ),
                ),
                migrations.CreateModel(
                    name="PushLog",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "received_at",
                            models.DateTimeField(
                                db_index=True, default=django.utils.timezone.now, verbose_name="received at"
                            ),
                        ),
                        (
                            "door",
                            models.CharField(
                                choices=[("rest", "REST API"), ("channel", "Signed channel")],
                                max_length=16,
                                verbose_name="door",
                            ),
                        ),
                        ("order_no", models.CharField(blank=True, max_length=64, verbose_name="order number")),
                        (
                            "outcome",
                            models.CharField(
                                choices=[
                                    ("accepted", "Accepted"),
                                    ("duplicate", "Duplicate (retry)"),
                                    ("conflict", "Conflict"),
                                    ("rejected", "Rejected"),
                                    ("unauthorized", "Unauthorized"),
                                    ("failed", "Failed"),
                                ],
                                max_length=16,
                                verbose_name="outcome",
                            ),
                        ),
                        ("http_status", models.PositiveSmallIntegerField(verbose_name="HTTP status")),
                        ("body", models.BinaryField(blank=True, null=True, verbose_name="body as received")),
                        ("body_size", models.PositiveIntegerField(default=0, verbose_name="body size (bytes)")),
                        ("errors", models.JSONField(blank=True, default=list, verbose_name="errors")),
                        ("duration_ms", models.FloatField(default=0, verbose_name="duration (ms)")),
                        (
                            "remote_addr",
                            models.GenericIPAddressField(blank=True, null=True, verbose_name="remote address"),
                        ),
                        ("request_id", models.CharField(blank=True, max_length=64, verbose_name="request id")),
                        (
                            "refusal_count",
                            models.PositiveIntegerField(
                                default=1,
                                help_text="Refusals this row stands for: an address's refusals before authentication are logged once per minute, with their count.",
                                verbose_name="refusals",
                            ),
                        ),
                        (
                            "institution",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="push_logs",
                                to="orders.institution",
                                verbose_name="institution",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "push log entry",
                        "verbose_name_plural": "push log",
                        "db_table": "intake_pushlog",
                        "ordering": ["-received_at", "-id"],
                        "indexes": [
                            models.Index(fields=["institution", "order_no", "received_at"], name="pushlog_order_idx")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_orders, content_types_to_intake),
    ]
