"""`manage.py create_staff_user USERNAME --role reviewer|supervisor|analyst`: a staff account in one role."""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orders.staff import ROLES, StaffUserError, staff_user_create, staff_user_reset_password

PASSWORD_VARIABLE = "STAFF_USER_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create a staff user holding one role (reviewer, supervisor or analyst). The password comes from "
        f"{PASSWORD_VARIABLE}; without it one is generated and printed once as password=... "
        "An existing username is refused unless --reset-password is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES, help="The group the user joins.")
        parser.add_argument("--email", default="", help="The user's e-mail address (optional).")
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="The user exists: give them a new password and make --role their only role.",
        )

    def handle(self, *args, username, role, email, reset_password, **options):
        # An environment variable, not an option, so the password stays out of shell history and `ps`.
        password = os.environ.get(PASSWORD_VARIABLE) or None
        try:
            if reset_password:
                result = staff_user_reset_password(username=username, role=role, password=password)
            else:
                result = staff_user_create(username=username, role=role, password=password, email=email)
        except StaffUserError as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        done = "created" if result.created else "new password for"
        self.stdout.write(f"{done} {role} {result.user.username} (staff; group {role})")
        if not result.user.is_active:
            self.stderr.write(f"{username} is inactive: activate the account in the admin before they can log in.")
        if result.generated:
            self.stdout.write(f"password={result.password}")
        else:
            self.stdout.write(f"password from {PASSWORD_VARIABLE}")
