"""URLs of the staff read API and its CSV exports."""

from django.urls import path

from orders import api

app_name = "orders-api"

urlpatterns = [
    path("api/v1/orders/", api.OrderListView.as_view(), name="order-list"),
    path("api/v1/orders/contacts.csv", api.ContactsExportView.as_view(), name="contacts-csv"),
    path("api/v1/orders/address-book.csv", api.AddressBookExportView.as_view(), name="address-book-csv"),
    path("api/v1/orders/<int:pk>/", api.OrderDetailView.as_view(), name="order-detail"),
]
