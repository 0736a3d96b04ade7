"""Admins of what an institution pushed with an order (device, contacts, employer, address book): read-only."""

from django.contrib import admin

from orders.admin.changelist import ReadOnlyAdmin
from orders.admin.filters import OrderNumberFilter
from orders.admin.privacy import PersonalDataAdminMixin
from orders.choices import ExportKind
from orders.models import (
    AddressBookEntry,
    Contact,
    Device,
    Employer,
)


@admin.register(Device)
class DeviceAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    list_display = ["order", "device_id", "os_kind", "os_version", "is_root", "is_simulator"]
    list_select_related = ["order"]

    def get_queryset(self, request):
        # The unknown deviceInfo keys can be megabytes a device: read only by the device's own page.
        return super().get_queryset(request).defer("extra")


@admin.register(Contact)
class ContactAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    list_display = ["order", "priority", "name", "relation", "relation_category"]
    list_select_related = ["order"]
    list_record_kind = ExportKind.CONTACTS


@admin.register(Employer)
class EmployerAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    list_display = ["order", "company_name", "province", "city"]
    list_select_related = ["order"]


@admin.register(AddressBookEntry)
class AddressBookEntryAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    """The full address book of one order (linked from the order page as `?order__id__exact=N`)."""

    list_display = ["order", "name", "phone", "is_mobile"]
    list_filter = [OrderNumberFilter, "is_mobile"]
    documented_query_parameters = ("order__id__exact",)  # the order page's link
    list_select_related = ["order"]
    exclude = ["phone_digits"]  # the phone as pushed says it all
    list_record_kind = ExportKind.ADDRESS_BOOK
