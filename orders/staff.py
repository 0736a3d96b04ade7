"""Staff accounts: the roles a person can hold, and creating or re-keying an account in one of them."""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

# Each role is the group of the same name, created by the migrations (0002, 0006).
ROLES = ("reviewer", "supervisor", "analyst")


class StaffUserError(Exception):
    """A request the command refuses; the message says what to do instead."""


@dataclass(frozen=True)
class StaffUserResult:
    user: object
    password: str
    generated: bool
    created: bool


def _role_group(role: str) -> Group:
    if role not in ROLES:
        raise StaffUserError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
    group = Group.objects.filter(name=role).first()
    if group is None:
        raise StaffUserError(f"The group {role!r} does not exist yet: run `python manage.py migrate` first.")
    return group


def _password_for(user, password: str | None) -> tuple[str, bool]:
    """The given password, checked by the project's validators, or a generated one (about 120 bits)."""
    if not password:
        return secrets.token_urlsafe(15), True
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise StaffUserError("STAFF_USER_PASSWORD is refused: " + " ".join(error.messages)) from None
    return password, False


@transaction.atomic
def staff_user_create(*, username: str, role: str, password: str | None = None, email: str = "") -> StaffUserResult:
    """A new active staff user holding exactly one role; refuses a username already taken."""
    group = _role_group(role)
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise StaffUserError(
            f"User {username!r} already exists. To give them a new password (and this role), "
            "run the command again with --reset-password."
        )
    user = user_model(username=username, email=email, is_staff=True, is_active=True)
    user.full_clean(exclude=["password"])
    password, generated = _password_for(user, password)
    user.set_password(password)
    user.save()
    user.groups.add(group)
    return StaffUserResult(user=user, password=password, generated=generated, created=True)


@transaction.atomic
def staff_user_reset_password(*, username: str, role: str, password: str | None = None) -> StaffUserResult:
    """A new password for an existing staff user, whose role becomes `role` (other roles are removed).

    Administrators are left alone (they change their password with `changepassword`), and an account an
    administrator deactivated stays inactive: a new password is not a way back in.
    """
    group = _role_group(role)
    user = get_user_model().objects.select_for_update().filter(username=username).first()
    if user is None:
        raise StaffUserError(f"No user {username!r}; run the command without --reset-password to create them.")
    if user.is_superuser:
        raise StaffUserError(f"{username!r} is an administrator; use `python manage.py changepassword {username}`.")
    password, generated = _password_for(user, password)
    user.set_password(password)
    user.is_staff = True
    user.save(update_fields=["password", "is_staff"])
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(pk=group.pk))
    user.groups.add(group)
    return StaffUserResult(user=user, password=password, generated=generated, created=False)
