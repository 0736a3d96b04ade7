"""Where decisions may be sent: https anywhere public; http and private addresses only if allowed.

A feedback URL is typed by an administrator but its host name is resolved by
whoever runs the institution's DNS, so the address is checked again before every
attempt and the connection goes to the very address that was checked: a name
that later resolves to 10.0.0.5 or 127.0.0.1 (DNS rebinding) never reaches an
internal service. `settings.FEEDBACK_ALLOWED_HOSTS` lists the exceptions.
"""

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class DestinationRefusedError(Exception):
    """The URL or the address it resolves to may not be contacted; nothing was sent."""


@dataclass(frozen=True)
class Destination:
    """A URL split for sending: the host name for the Host header and TLS, the checked address to connect to."""

    scheme: str
    host: str
    port: int
    target: str  # path and query, as the request line carries them
    address: str


@dataclass(frozen=True)
class Allowed:
    names: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> "Allowed":
        names, networks = set(), []
        for entry in (item.strip().lower() for item in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def admits(self, host: str, address: Address | None = None) -> bool:
        if host.lower().rstrip(".") in self.names:
            return True
        return address is not None and any(address in network for network in self.networks)


def allowed_hosts() -> Allowed:
    return Allowed.parse(settings.FEEDBACK_ALLOWED_HOSTS)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (getaddrinfo, TCP)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _literal(host: str) -> Address | None:
    try:
        return _plain(ipaddress.ip_address(host))
    except ValueError:
        return None


def _plain(address: Address) -> Address:
    # ::ffff:10.0.0.5 is 10.0.0.5 to the kernel: check the IPv4 address it carries.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def is_restricted(address: Address) -> bool:
    """Private, loopback, link-local, reserved, shared (CGNAT), multicast or unspecified: not the public internet."""
    return not address.is_global or address.is_multicast


def feedback_url_problem(url: str, allowed: Allowed | None = None) -> str | None:
    """What is wrong with a feedback URL before any name is resolved, or None (the admin's and the command's check)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("This is not a valid URL.")
    allowed = allowed or allowed_hosts()
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        return _("The feedback URL must be an https URL.")
    if parts.username or parts.password:
        return _("The feedback URL cannot carry a user name or password.")
    if port == 0:
        return _("This is not a valid URL.")
    literal = _literal(host)
    if parts.scheme == "http" and not allowed.admits(host, literal):
        return _("The feedback URL must be an https URL (plain http only for hosts in FEEDBACK_ALLOWED_HOSTS).")
    if literal is not None and is_restricted(literal) and not allowed.admits(host, literal):
        return _("This address is private; only hosts in FEEDBACK_ALLOWED_HOSTS may be.")
    return None


def destination_check(url: str, *, resolver: Resolver = system_resolver, allowed: Allowed | None = None) -> Destination:
    """Resolve `url`'s host now and return where to connect; DestinationRefusedError if any rule refuses it.

    Every resolved address must be admissible (a name answering one public and
    one private address is refused), and the first is the one connected to.
    """
    allowed = allowed or allowed_hosts()
    if problem := feedback_url_problem(url, allowed):
        raise DestinationRefusedError(problem)
    parts = urlsplit(url)
    host = parts.hostname.lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [_plain(ipaddress.ip_address(item.split("%", 1)[0])) for item in resolver(host, port)]
    except (OSError, UnicodeError) as error:
        raise socket.gaierror(str(error)) from error
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    for address in addresses:
        if is_restricted(address) and not allowed.admits(host, address):
            raise DestinationRefusedError(
                _("%(host)s resolves to %(address)s, a private address not in FEEDBACK_ALLOWED_HOSTS.")
                % {"host": host, "address": address}
            )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme=parts.scheme, host=host, port=port, target=target, address=str(addresses[0]))
