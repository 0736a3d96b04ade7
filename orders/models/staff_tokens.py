"""Staff users' personal API tokens, stored as a public id and a hash."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import TokenScope


def default_scopes() -> list[str]:
    return [TokenScope.READ.value]


class StaffApiToken(models.Model):
    """A staff user's personal API token for scripts (read API and exports), stored as a hash.

    The token is `<token_id>.<secret>`: `token_id` is public and looked up, the
    secret is only ever compared with `token_hash`, so the database cannot give
    a token back. It acts with its user's permissions, no more.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=64, help_text=_("What the token is for, e.g. the script's name."))
    token_id = models.CharField(_("token id"), max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # `read` (lists, details, exports) always; `review` lets scripts claim and decide (the review API).
    scopes = models.JSONField(_("scopes"), default=default_scopes, db_default=["read"], editable=False)

    class Meta:
        verbose_name = _("staff API token")
        verbose_name_plural = _("staff API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_id})"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or ())
