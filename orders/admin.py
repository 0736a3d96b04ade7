"""Admin for orders and everything pushed with them (read-only: institutions' data is never edited)."""

from django.contrib import admin

from orders.models import AddressBookEntry, Contact, Device, Employer, Order


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["order_no", "institution", "received_at", "loan_amount_fen", "review_status"]
    list_select_related = ["institution"]
    search_fields = ["order_no"]


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ["order", "device_id", "os_kind", "is_root", "is_simulator"]
    list_select_related = ["order"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["order", "priority", "name", "relation_category"]
    list_select_related = ["order"]


@admin.register(Employer)
class EmployerAdmin(ReadOnlyAdmin):
    list_display = ["order", "company_name", "province", "city"]
    list_select_related = ["order"]


@admin.register(AddressBookEntry)
class AddressBookEntryAdmin(ReadOnlyAdmin):
    list_display = ["order", "name", "phone", "is_mobile"]
    list_select_related = ["order"]
    show_full_result_count = False
