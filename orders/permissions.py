"""Every permission of the orders app, spelled once: the codenames (for Meta and queries) and `orders.<codename>`."""

from django.utils.translation import gettext_lazy as _

APP_LABEL = "orders"

# The custom permissions of Order (its Meta.permissions, with their labels).
VIEW_PERSONAL_DATA_CODENAME = "view_personal_data"
REVIEW_ORDER_CODENAME = "review_order"
ASSIGN_ORDER_CODENAME = "assign_order"
EXPORT_ORDER_CODENAME = "export_order"
ORDER_PERMISSIONS = [
    (VIEW_PERSONAL_DATA_CODENAME, _("Can see personal data unmasked")),
    (REVIEW_ORDER_CODENAME, _("Can claim and decide orders")),
    (ASSIGN_ORDER_CODENAME, _("Can assign orders to reviewers")),
    (EXPORT_ORDER_CODENAME, _("Can export orders as CSV")),
]
# Django's default model permissions the code checks.
VIEW_ORDER_CODENAME = "view_order"
DELETE_STAFF_API_TOKEN_CODENAME = "delete_staffapitoken"


def qualified(codename: str) -> str:
    """`orders.<codename>`, the form `user.has_perm` takes."""
    return f"{APP_LABEL}.{codename}"


VIEW_PERSONAL_DATA = qualified(VIEW_PERSONAL_DATA_CODENAME)
REVIEW_ORDER = qualified(REVIEW_ORDER_CODENAME)
ASSIGN_ORDER = qualified(ASSIGN_ORDER_CODENAME)
EXPORT_ORDER = qualified(EXPORT_ORDER_CODENAME)
VIEW_ORDER = qualified(VIEW_ORDER_CODENAME)
DELETE_STAFF_API_TOKEN = qualified(DELETE_STAFF_API_TOKEN_CODENAME)
