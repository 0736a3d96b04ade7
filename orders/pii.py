"""Personal data shown to staff: who may see it unmasked, masking, and the access log.

Reviewers call applicants and need full numbers; analysts work on aggregates and
see them masked. Every time a full number is shown, a `PersonalDataAccess` row
records who saw which order: that log is how misuse is found.
"""

from collections.abc import Iterable

from django.utils import timezone

from orders.models import PersonalDataAccess

VIEW_PERSONAL_DATA = "orders.view_personal_data"


def can_view_personal_data(user) -> bool:
    return bool(user and user.is_active and user.has_perm(VIEW_PERSONAL_DATA))


def mask_phone(phone: str) -> str:
    """`13812340000` → `138****0000`; shorter numbers keep at most their last four digits."""
    if not phone:
        return phone
    if len(phone) >= 11:
        return f"{phone[:3]}****{phone[-4:]}"
    if len(phone) > 4:
        return "*" * (len(phone) - 4) + phone[-4:]
    return "*" * len(phone)


def phone_for(user, phone: str) -> str:
    """The number as this user may see it."""
    return phone if can_view_personal_data(user) else mask_phone(phone)


def personal_data_access_record(*, user, order_ids: Iterable[int], context: str) -> None:
    """Record that `user` was shown the orders' personal data unmasked, in one INSERT."""
    now = timezone.now()
    PersonalDataAccess.objects.bulk_create(
        [PersonalDataAccess(user=user, order_id=order_id, accessed_at=now, context=context) for order_id in order_ids]
    )
