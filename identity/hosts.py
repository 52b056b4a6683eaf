"""Hosts as the sign-in flow uses them: one canonical spelling, on a port the site serves.

Django accepts a host in many spellings (upper case, a trailing dot, an explicit default port,
a port with leading zeros), and browsers read some spellings differently from Python: Python's
IDNA 2003 codec maps `claß.example.com` to `class.example.com`, while a browser (UTS #46) goes
to `xn--cla-7ka.example.com`, another host. A URL the login flow builds from the spelling a
request used would send a fresh authorization code wherever that spelling leads. So the flow
takes a host from a request only when it is already written canonically and on a port the site
serves, and builds every URL from that canonical form (`Authority.__str__`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.http.request import validate_host

from identity.conf import conf
from policies.hosts import read_authority

# What a host and port may be written with at all; anything else (spaces, `@`, `/`, letters
# outside ASCII) is refused before any reading.
_AUTHORITY_TEXT = re.compile(r"[A-Za-z0-9._:\[\]-]+")


def request_scheme(request: HttpRequest) -> str:
    """The scheme the request came over, as Django reads it (the server's, or the trusted proxy's
    `SECURE_PROXY_SSL_HEADER`); https when the server did not say."""
    return request.scheme or "https"


@dataclass(frozen=True, slots=True)
class Authority:
    """A host and port in canonical form: ASCII, lower case, no trailing dot, IPv6 in brackets,
    and no port when it is the scheme's default (a browser never writes it)."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"


def parse_authority(text: str, *, scheme: str) -> Authority | None:
    """`host[:port]` read as a browser would reach it, or None when it is not a host name.

    Non-ASCII text is refused rather than converted: browsers send hosts in ASCII, and Python's
    conversion of international names is not the one browsers use.
    """
    if not isinstance(text, str) or not _AUTHORITY_TEXT.fullmatch(text):
        return None
    read = read_authority(text, scheme=scheme)
    if read is None or read[1] == 0:  # port 0 reaches nothing
        return None
    return Authority(*read)


def canonical_authority(text: str, *, scheme: str) -> Authority | None:
    """`text` as an `Authority` only when it is already written in the canonical form."""
    authority = parse_authority(text, scheme=scheme)
    if authority is None or str(authority) != text:
        return None
    return authority


def is_allowed_host(authority: Authority) -> bool:
    """Whether `ALLOWED_HOSTS` accepts this host, as `HttpRequest.get_host()` would judge it
    (with DEBUG and an empty list, the loopback names Django then allows)."""
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    return validate_host(authority.host, allowed_hosts)


def served_ports(request_authority: Authority) -> frozenset[int | None]:
    """The ports an application host may be sent to from a request that arrived on this one.

    The project serves its hosts from one place, so an application is reached on the port the
    current request came in on (`None`: the scheme's default), plus the ports listed in
    `ACCESS_APPLICATION_PORTS` for deployments whose proxy serves some hosts on others.
    """
    return frozenset({request_authority.port, *conf.application_ports})


def is_served(authority: Authority, *, request_authority: Authority) -> bool:
    """Whether `authority`'s port is one the site serves, seen from `request_authority`."""
    return authority.port in served_ports(request_authority)
