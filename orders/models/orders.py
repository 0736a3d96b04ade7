"""Normalized records of a pushed loan order: the order, its device, contacts, employer and address book.

Everything an institution pushed (order, device, contacts, employer, address book)
is written by `orders.services.order_create_from_push`, inside the push's
transaction, and replaced only by the institution itself, when it supplies an
order again that needed information (`orders.services.order_revise_from_push`):
reviewers add review state and events beside it, they do not edit it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import (
    ContactPriority,
    Door,
    OsKind,
    RelationCategory,
    ReviewStatus,
)
from orders.normalizers import MAX_LOAN_AMOUNT_FEN
from orders.permissions import ORDER_PERMISSIONS


class Order(models.Model):
    """A loan order pushed by an institution (orderInfo), unique per institution and orderNo."""

    institution = models.ForeignKey(
        "orders.Institution",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("institution"),
    )
    order_no = models.CharField(_("order number"), max_length=64, help_text=_("orderNo as pushed."))
    loan_amount_fen = models.BigIntegerField(_("loan amount (fen)"))
    user_phone = models.CharField(_("applicant phone"), max_length=11, help_text=_("11 digits."))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    door = models.CharField(_("received through"), max_length=16, choices=Door.choices)
    payload_sha256 = models.CharField(
        _("payload fingerprint"),
        max_length=64,
        help_text=_("SHA-256 of the canonical JSON of the push; tells a retry from a conflict."),
    )
    address_book_count = models.PositiveIntegerField(_("address-book entries"), default=0)

    review_status = models.CharField(
        _("review status"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_orders",
        verbose_name=_("assigned reviewer"),
    )
    review_updated_at = models.DateTimeField(_("review updated at"), null=True, blank=True)
    # True from the push's commit until its risk signals are written, just after
    # the response (orders.risk.risk_signals_after_push); a worker that dies in
    # between leaves it set for `recompute_risk_signals --pending`.
    risk_pending = models.BooleanField(_("risk signals pending"), default=False, db_default=False)
    # Copied from the institution at the push: a sandbox institution's test orders stay out of
    # the queue, exports and statistics (orders.selectors) and are purged after a day
    # (orders.services.sandbox), even if the institution is later switched to production.
    sandbox = models.BooleanField(_("sandbox"), default=False, db_default=False, editable=False)
    # When the signals job cleared `risk_pending` (null for orders written before it, or
    # still pending): the lag from push to signals, read by the benchmark and by operators.
    risk_computed_at = models.DateTimeField(_("risk signals computed at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "order_no"],
                name="order_unique_per_institution",
                violation_error_message=_("This institution already pushed this order number."),
            ),
            models.CheckConstraint(
                condition=Q(loan_amount_fen__gte=1, loan_amount_fen__lte=MAX_LOAN_AMOUNT_FEN),
                name="order_loan_amount_in_range",
            ),
            models.CheckConstraint(
                condition=Q(review_status__in=ReviewStatus.values), name="order_review_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="order_received_idx"),
            models.Index(fields=["user_phone"], name="order_user_phone_idx"),
            models.Index(fields=["order_no"], name="order_order_no_idx"),
            models.Index(fields=["review_status", "received_at"], name="order_review_queue_idx"),
            # Holds only the few orders whose signals are still to be written, so the sweep finds them at once.
            models.Index(fields=["id"], condition=Q(risk_pending=True), name="order_risk_pending_idx"),
            # The few sandbox orders, for their daily purge.
            models.Index(fields=["received_at"], condition=Q(sandbox=True), name="order_sandbox_idx"),
        ]
        permissions = ORDER_PERMISSIONS

    def __str__(self) -> str:
        return self.order_no

    @property
    def loan_amount_yuan(self):
        from decimal import Decimal

        return Decimal(self.loan_amount_fen) / 100


class Device(models.Model):
    """The applicant's device at the time of the push (userAdditional.deviceInfo)."""

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, primary_key=True, related_name="device", verbose_name=_("order")
    )
    device_id = models.CharField(_("device ID"), max_length=128)
    idfa = models.CharField("IDFA", max_length=64, blank=True)
    idfv = models.CharField("IDFV", max_length=64, blank=True)
    device_name = models.CharField(_("device name"), max_length=128, blank=True, help_text="device_info")
    os_type = models.CharField(_("OS type"), max_length=64, help_text=_("As pushed."))
    os_kind = models.CharField(_("OS kind"), max_length=8, choices=OsKind.choices)
    os_version = models.CharField(_("OS version"), max_length=64, blank=True)
    last_login_at = models.DateTimeField(_("last login"))
    gps_longitude = models.DecimalField(_("longitude"), max_digits=16, decimal_places=12, null=True, blank=True)
    gps_latitude = models.DecimalField(_("latitude"), max_digits=15, decimal_places=12, null=True, blank=True)
    gps_address = models.CharField(_("GPS address"), max_length=512, blank=True)
    ip = models.GenericIPAddressField(_("IP address"))
    memory = models.CharField(_("memory"), max_length=64, blank=True)
    memory_bytes = models.BigIntegerField(_("memory (bytes)"), null=True, blank=True)
    storage = models.CharField(_("storage"), max_length=64, blank=True)
    storage_bytes = models.BigIntegerField(_("storage (bytes)"), null=True, blank=True)
    unuse_storage = models.CharField(_("free storage"), max_length=64, blank=True)
    unuse_storage_bytes = models.BigIntegerField(_("free storage (bytes)"), null=True, blank=True)
    sdcard = models.CharField(_("SD card"), max_length=64, blank=True)
    sdcard_bytes = models.BigIntegerField(_("SD card (bytes)"), null=True, blank=True)
    unuse_sdcard = models.CharField(_("SD card used"), max_length=64, blank=True)
    unuse_sdcard_bytes = models.BigIntegerField(_("SD card used (bytes)"), null=True, blank=True)
    wifi = models.BooleanField(_("on Wi-Fi"), null=True, blank=True)
    wifi_name = models.CharField(_("Wi-Fi name"), max_length=128, blank=True)
    battery_percent = models.PositiveSmallIntegerField(_("battery (%)"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=64, blank=True)
    tele_num = models.CharField(_("carrier code"), max_length=32, blank=True)
    app_market = models.CharField(_("app market"), max_length=64, blank=True)
    is_root = models.BooleanField(_("rooted / jailbroken"), null=True, blank=True)
    is_simulator = models.BooleanField(_("simulator"), null=True, blank=True)
    dns = models.CharField("DNS", max_length=256, blank=True)
    pic_count = models.PositiveIntegerField(_("picture count"), null=True, blank=True)
    android_id = models.CharField("Android ID", max_length=64, blank=True)
    udid = models.CharField("UDID", max_length=128, blank=True)
    uuid = models.CharField("UUID", max_length=64, blank=True)
    imsi = models.CharField("IMSI", max_length=32, blank=True)
    imei = models.CharField("IMEI", max_length=64, blank=True)
    mac = models.CharField("MAC", max_length=64, blank=True)
    extra = models.JSONField(
        _("other keys"), default=dict, blank=True, help_text=_("deviceInfo keys the protocol does not define.")
    )
    # Masked forms that CSV exports carry (orders.pii.STORED_MASK_FIELDS: keyed pseudonyms of the
    # identifiers, the GPS address's area), written with the row so that a masked export of a million
    # rows only selects them; recomputed by `recompute_pseudonyms` when PII_PSEUDONYM_KEY changes.
    device_id_pseudonym = models.CharField(max_length=16, blank=True, default="", db_default="", editable=False)
    imei_pseudonym = models.CharField(max_length=16, blank=True, default="", db_default="", editable=False)
    android_id_pseudonym = models.CharField(max_length=16, blank=True, default="", db_default="", editable=False)
    idfa_pseudonym = models.CharField(max_length=16, blank=True, default="", db_default="", editable=False)
    gps_address_masked = models.CharField(max_length=512, blank=True, default="", db_default="", editable=False)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        # Identifier look-ups (shared-device signals, search) skip the many empty values.
        indexes = [
            models.Index(fields=[name], name=f"device_{name}_idx", condition=~Q(**{name: ""}))
            for name in ("device_id", "imei", "android_id", "idfa", "idfv")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(battery_percent__isnull=True) | Q(battery_percent__lte=100),
                name="device_battery_percent_range",
            ),
        ]

    # Titles, breadcrumbs and admin log entries show __str__ to whoever opens the page, and it
    # has no user to ask whether they may see identifiers: it names the order, nothing personal.
    def __str__(self) -> str:
        return f"device of order {self.order_id}"

    def save(self, *args, **kwargs):
        # The stored masked columns follow the identifiers and address on every single-row write (the push service,
        # the admin, factories); bulk writers (generate_orders) add them to their rows themselves.
        from orders.pii import device_stored_masks

        masks = device_stored_masks(self)
        for name, value in masks.items():
            setattr(self, name, value)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *masks}
        super().save(*args, **kwargs)


class Contact(models.Model):
    """One of the applicant's two emergency contacts (userAdditional.contactInfo)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("order"))
    priority = models.PositiveSmallIntegerField(_("priority"), choices=ContactPriority.choices)
    name = models.CharField(_("name"), max_length=64)
    mobile = models.CharField(_("mobile"), max_length=11)
    relation = models.CharField(_("relation"), max_length=32, help_text=_("As pushed."))
    relation_category = models.CharField(_("relation category"), max_length=16, choices=RelationCategory.choices)

    class Meta:
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")
        ordering = ["order", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["order", "priority"], name="contact_unique_priority"),
        ]
        indexes = [models.Index(fields=["mobile"], name="contact_mobile_idx")]

    def __str__(self) -> str:
        return f"{self.get_priority_display()} of order {self.order_id}"  # no name: see Device.__str__


class Employer(models.Model):
    """The applicant's employer, for office workers (userAdditional.workOfficeInfo)."""

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, primary_key=True, related_name="employer", verbose_name=_("order")
    )
    company_name = models.CharField(_("company name"), max_length=128)
    province = models.CharField(_("province"), max_length=64)
    city = models.CharField(_("city"), max_length=64)
    district = models.CharField(_("district"), max_length=64)
    address = models.CharField(_("address"), max_length=256)
    tel_no = models.CharField(_("telephone"), max_length=32)

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")

    def __str__(self) -> str:
        return self.company_name


class AddressBookEntry(models.Model):
    """One entry of the applicant's address book (userAdditional.addressBook.phoneList).

    The table grows by the address book's length per order (tens of millions of
    rows), so it is written by COPY and kept lean: no database foreign-key check
    (rows are only ever written by the push service next to their order, and
    deleted with it) and exactly the two indexes that reads use.
    """

    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        related_name="address_book",
        db_constraint=False,
        db_index=False,
        verbose_name=_("order"),
    )
    name = models.CharField(_("name"), max_length=128, blank=True)
    # Empty for a contact saved without a number (kept and counted, never matched: orders.risk.lookups).
    phone = models.CharField(_("phone as pushed"), max_length=64, blank=True)
    phone_digits = models.CharField(
        _("phone digits"), max_length=64, blank=True, help_text=_("Separators and +86 dropped.")
    )
    is_mobile = models.BooleanField(_("mainland mobile"))

    class Meta:
        verbose_name = _("address-book entry")
        verbose_name_plural = _("address-book entries")
        indexes = [
            models.Index(fields=["order"], name="addressbook_order_idx"),
            models.Index(fields=["phone_digits"], name="addressbook_phone_idx"),
        ]

    def __str__(self) -> str:
        return f"address-book entry {self.pk} of order {self.order_id}"  # no name or phone: see Device.__str__
