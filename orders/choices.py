"""Enumerations shared by models, normalizers, filters and exports."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OsKind(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"
    OTHER = "other", _("Other")


class RelationCategory(models.TextChoices):
    PARENT = "parent", _("Parent")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    SIBLING = "sibling", _("Sibling")
    RELATIVE = "relative", _("Relative")
    CLASSMATE = "classmate", _("Classmate")
    FRIEND = "friend", _("Friend")
    COLLEAGUE = "colleague", _("Colleague")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class ContactPriority(models.IntegerChoices):
    PRIMARY = 1, _("First contact")
    SPARE = 2, _("Second contact")


class Door(models.TextChoices):
    """Which endpoint a push came through."""

    REST = "rest", _("REST API")
    CHANNEL = "channel", _("Signed channel")


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    NEEDS_INFO = "needs_info", _("Needs more information")


class ReviewEventKind(models.TextChoices):
    CLAIM = "claim", _("Claimed")
    ASSIGN = "assign", _("Assigned")
    RELEASE = "release", _("Released")
    DECIDE = "decide", _("Decided")
    NOTE = "note", _("Note")
    # The institution pushed the order again while it needed information (no staff actor).
    REVISE = "revise", _("Supplied again")


class DecisionKind(models.TextChoices):
    """What a reviewer decided: the review statuses that a decision leads to."""

    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    NEEDS_INFO = "needs_info", _("Needs more information")


class TermUnit(models.TextChoices):
    DAY = "day", _("days")
    MONTH = "month", _("months")


class TokenScope(models.TextChoices):
    """What a staff API token may do on top of its user's permissions."""

    READ = "read", _("read (lists, details, exports)")
    REVIEW = "review", _("review (claim and decide)")


class RiskSeverity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ExportKind(models.TextChoices):
    ORDERS = "orders", _("Orders")
    CONTACTS = "contacts", _("Emergency contacts")
    ADDRESS_BOOK = "address_book", _("Address-book entries")
