"""Institution authentication for the REST door: `Authorization: Bearer <id>.<secret>`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from intake import crypto
from intake.models import Institution

_INVALID = "Invalid or revoked API token."
# Compared against when the token id is unknown, so both failures cost the same.
_DUMMY_HASH = crypto.token_hash("not-a-token")


class InstitutionTokenAuthentication(BaseAuthentication):
    """Looks the institution up by the token's public id, then compares the secret's hash.

    Every failure gives the same answer, so a caller learns nothing about which
    part was wrong.
    """

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_INVALID)
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_INVALID) from None
        token_id, _, secret = token.partition(".")
        institution = Institution.objects.filter(api_token_id=token_id).first() if token_id and secret else None
        stored_hash = institution.api_token_hash if institution else _DUMMY_HASH
        if not crypto.token_matches(secret, stored_hash) or institution is None:
            raise exceptions.AuthenticationFailed(_INVALID)
        return institution, None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class IsActiveInstitution(BasePermission):
    """A disabled institution is known but refused (403), unlike a bad token (401)."""

    message = "This institution is disabled; contact the platform to re-enable it."
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
