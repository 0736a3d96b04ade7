"""URLs of the staff read API and its CSV exports."""

from django.urls import path

from orders.api import views

app_name = "orders-api"

urlpatterns = [
    path("api/v1/orders/", views.OrderListView.as_view(), name="order-list"),
    path("api/v1/orders/contacts.csv", views.ContactsExportView.as_view(), name="contacts-csv"),
    path("api/v1/orders/address-book.csv", views.AddressBookExportView.as_view(), name="address-book-csv"),
    path("api/v1/orders/<int:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
]
