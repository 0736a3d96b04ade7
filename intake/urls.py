"""URLs of the intake doors."""

from django.urls import path

from intake import views

urlpatterns = [
    path("api/v1/user-additional/", views.PushView.as_view(), name="push"),
]
