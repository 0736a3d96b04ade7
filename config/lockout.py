"""The admin login lockout glue: django-axes' check, skipped for logins that come without a request."""

from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for logins that come with a request.

    Calls without a request (management commands, the test client's `login`)
    have no client address to lock out; axes would raise on them, so they are
    passed on to the next backend unchecked. Every login form and API login
    passes its request, so those are all covered.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
