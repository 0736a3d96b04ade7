"""The bearer-token base every door's authentication builds on: `Authorization: Bearer <id>.<secret>`."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from config import crypto

# Compared against when the token id is unknown, so both failures cost the same.
_DUMMY_HASH = crypto.token_hash("not-a-token")


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <id>.<secret>`: look the holder up by the public id, compare the secret's hash.

    Every failure gives the same answer, and an unknown id costs the same hash
    comparison as a known one, so a caller learns nothing about which part was
    wrong. Subclasses say where tokens live (`lookup`) and what an accepted one
    authenticates (`accept`).
    """

    keyword = b"bearer"
    invalid_message = _("Invalid or revoked API token.")
    # Integrators often try DRF's `Token <t>` or a bare token; say which scheme this API speaks.
    wrong_scheme_message = _("Unsupported authorization scheme; send the token as Authorization: Bearer <id>.<secret>.")

    def lookup(self, token_id: str) -> tuple[object, str] | None:
        """The token's holder and stored hash, or None when the id is unknown."""
        raise NotImplementedError

    def accept(self, holder) -> tuple:
        """DRF's (user, auth) for a holder whose secret matched."""
        raise NotImplementedError

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts:
            return None
        if parts[0].lower() != self.keyword:
            # `Token <t>` or a bare token is a token sent the wrong way: say so. Other schemes
            # (a proxy's Basic, say) are someone else's, left to the next authenticator.
            if parts[0].lower() == b"token" or len(parts) == 1:
                raise exceptions.AuthenticationFailed(self.wrong_scheme_message)
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(self.invalid_message)
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(self.invalid_message) from None
        token_id, _, secret = token.partition(".")
        found = self.lookup(token_id) if token_id and secret else None
        holder, stored_hash = found if found else (None, _DUMMY_HASH)
        if not crypto.token_matches(secret, stored_hash) or holder is None:
            raise exceptions.AuthenticationFailed(self.invalid_message)
        return self.accept(holder)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
