"""URLs of the staff API: reads, CSV exports, and the review actions."""

from django.urls import path

from orders.api import review, views

app_name = "orders-api"

urlpatterns = [
    path("api/v1/orders/", views.OrderListView.as_view(), name="order-list"),
    path("api/v1/orders/contacts.csv", views.ContactsExportView.as_view(), name="contacts-csv"),
    path("api/v1/orders/address-book.csv", views.AddressBookExportView.as_view(), name="address-book-csv"),
    path("api/v1/orders/<int:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("api/v1/orders/<int:pk>/claim/", review.OrderClaimView.as_view(), name="order-claim"),
    path("api/v1/orders/<int:pk>/decision/", review.OrderDecisionView.as_view(), name="order-decision"),
    path("api/v1/review/next/", review.ReviewNextView.as_view(), name="review-next"),
]
