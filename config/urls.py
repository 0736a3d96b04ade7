"""The project's URL map."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz

urlpatterns = [
    path("", include("intake.urls")),
    path("", include("orders.api.urls")),
    path("admin/", admin.site.urls),
    # The admin's language switcher posts here (Django's set_language view).
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path(
        "api/docs/",
        # The split view serves its init script from a URL, not inline, so the CSP can forbid inline scripts.
        SpectacularSwaggerSplitView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
]

admin.site.site_header = _("Lending-risk review")
admin.site.site_title = _("Lending-risk review")
# No "View site" link: the admin is the site (the root is only the institutions' API).
admin.site.site_url = None

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
