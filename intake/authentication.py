"""Institution authentication for the REST door: `Authorization: Bearer <id>.<secret>`."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.permissions import BasePermission

from config.bearer import BearerTokenAuthentication
from orders.institutions import institution_for_api_token
from orders.models import Institution


class InstitutionTokenAuthentication(BearerTokenAuthentication):
    """An institution's API token (the REST push door): the current one, or the previous one during its overlap."""

    def lookup(self, token_id):
        return institution_for_api_token(token_id)

    def accept(self, institution):
        return institution, None


NOT_PROVIDED_MESSAGE = _("Authentication credentials were not provided: send Authorization: Bearer <id>.<secret>.")


class IsActiveInstitution(BasePermission):
    """A disabled institution is known but refused (403), unlike a bad token (401)."""

    message = _("This institution is disabled; contact the platform to re-enable it.")
    code = "institution_disabled"

    def has_permission(self, request, view):
        return isinstance(request.user, Institution) and request.user.is_active


class InstitutionTokenScheme(OpenApiAuthenticationExtension):
    """Documents the bearer scheme in the OpenAPI schema."""

    target_class = InstitutionTokenAuthentication
    name = "institutionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The institution's API token, `<id>.<secret>`, from `create_institution`.",
        }
