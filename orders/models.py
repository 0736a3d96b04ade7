"""Normalized records of a pushed loan order, its review and what staff did with it.

Everything an institution pushed (order, device, contacts, employer, address book)
is written once, by `orders.services.order_create_from_push`, inside the push's
transaction, and never changed afterwards: reviewers add review state and events
beside it, they do not edit it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import (
    ContactPriority,
    Door,
    ExportKind,
    OsKind,
    RelationCategory,
    ReviewEventKind,
    ReviewStatus,
    RiskSeverity,
)
from orders.normalizers import MAX_LOAN_AMOUNT_FEN
from orders.permissions import ORDER_PERMISSIONS


class Order(models.Model):
    """A loan order pushed by an institution (orderInfo), unique per institution and orderNo."""

    institution = models.ForeignKey(
        "intake.Institution",
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
    phone = models.CharField(_("phone as pushed"), max_length=64)
    phone_digits = models.CharField(_("phone digits"), max_length=64, help_text=_("Separators and +86 dropped."))
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


class ReviewEvent(models.Model):
    """An immutable audit row: one change to an order's review (who, when, from, to, why)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="review_events", verbose_name=_("order"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=16, choices=ReviewEventKind.choices)
    from_status = models.CharField(_("from status"), max_length=16, choices=ReviewStatus.choices)
    to_status = models.CharField(_("to status"), max_length=16, choices=ReviewStatus.choices)
    from_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from reviewer"),
    )
    to_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to reviewer"),
    )
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("review event")
        verbose_name_plural = _("review events")
        ordering = ["order", "created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="reviewevent_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.from_status}→{self.to_status}"


class PersonalDataAccess(models.Model):
    """A record that a staff user was shown an order's personal data unmasked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+", verbose_name=_("order"))
    accessed_at = models.DateTimeField(_("at"), default=timezone.now)
    context = models.CharField(_("where"), max_length=64, help_text=_("The page or export that showed it."))

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")
        ordering = ["-accessed_at"]
        indexes = [
            models.Index(fields=["user", "-accessed_at"], name="pdaccess_user_idx"),
            models.Index(fields=["order", "-accessed_at"], name="pdaccess_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} saw order {self.order_id}"


class ExportLog(models.Model):
    """A CSV export that a staff user ran: which rows (filters), how many, when."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ExportKind.choices)
    source = models.CharField(_("source"), max_length=16, help_text=_("api or admin"))
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    row_count = models.PositiveBigIntegerField(_("rows"), null=True, blank=True)
    unmasked = models.BooleanField(_("personal data unmasked"), default=False)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="exportlog_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class RiskSignal(models.Model):
    """A reason for a reviewer to look closer at an order, linking it to other orders."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="risk_signals", verbose_name=_("order"))
    code = models.CharField(_("signal"), max_length=40)
    severity = models.CharField(_("severity"), max_length=8, choices=RiskSeverity.choices)
    # The facts of the reason (which identifier or number matched, how many orders), rendered for
    # the viewing user and language by orders.risk.signal_reason. NULL on rows written before
    # reasons had facts: those show their stored text until `recompute_risk_signals`.
    params = models.JSONField(_("reason facts"), null=True, blank=True, default=None)
    reason_zh = models.CharField(_("reason (Chinese)"), max_length=512, blank=True, default="")
    reason_en = models.CharField(_("reason (English)"), max_length=512, blank=True, default="")
    linked_orders = models.ManyToManyField(Order, related_name="+", blank=True, verbose_name=_("linked orders"))
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("risk signal")
        verbose_name_plural = _("risk signals")
        constraints = [models.UniqueConstraint(fields=["order", "code"], name="risksignal_unique_code")]
        indexes = [models.Index(fields=["code"], name="risksignal_code_idx")]

    def __str__(self) -> str:
        return f"{self.code} on {self.order_id}"


class StaffApiToken(models.Model):
    """A staff user's personal API token for scripts (read API and exports), stored as a hash.

    The token is `<token_id>.<secret>`: `token_id` is public and looked up, the
    secret is only ever compared with `token_hash`, so the database cannot give
    a token back. It acts with its user's permissions, no more.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=64, help_text=_("What the token is for, e.g. the script's name."))
    token_id = models.CharField(_("token id"), max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff API token")
        verbose_name_plural = _("staff API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_id})"


class PersonalDataPurge(models.Model):
    """One run of `purge_personal_data`: what was removed, from orders received before `cutoff`.

    Written at the start and completed at the end, so an interrupted run is
    visible (no `finished_at`) and the next run does not take it as done.
    """

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    cutoff = models.DateTimeField(_("orders received before"))
    retention_days = models.PositiveIntegerField(_("retention (days)"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    orders = models.PositiveBigIntegerField(_("orders"), default=0)
    address_book_entries = models.PositiveBigIntegerField(_("address-book entries removed"), default=0)
    devices = models.PositiveBigIntegerField(_("devices cleared"), default=0)
    push_bodies = models.PositiveBigIntegerField(_("push bodies removed"), default=0)

    class Meta:
        verbose_name = _("personal-data purge")
        verbose_name_plural = _("personal-data purges")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"purge before {self.cutoff:%Y-%m-%d} ({'dry run' if self.dry_run else 'done'})"
