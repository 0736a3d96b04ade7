"""Admin pieces shared by every app."""


class ReadOnlyAdminMixin:
    """For records nobody may add, edit or delete from the admin (pushed data, audit and log rows)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
