"""Facts about the client that network rules (IP, country) and the logs use.

Headers a client sends are not facts: `X-Forwarded-For` is believed only hop by hop from the
right while the hop that wrote it is a trusted proxy (`ACCESS_TRUSTED_PROXIES`), and the
country only comes from the header the operator names (`ACCESS_COUNTRY_HEADER`), set by their
edge. With nothing configured, the client is the TCP peer and has no known country.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from django.http import HttpRequest

from identity.conf import conf

ClientIP = IPv4Address | IPv6Address

# Values Cloudflare's CF-IPCountry uses for "unknown"; Tor ("T1") is kept: a geo rule may name it.
_UNKNOWN_COUNTRIES = frozenset({"XX", ""})


# `parse_ip` is a pure function of its text, and a server sees the same few peers (a proxy, a
# load balancer) request after request: remembered, bounded, so a flood of spellings costs memory
# of at most this many entries.
_PARSED_LIMIT = 1024
_parsed: dict[str, ClientIP | None] = {}


def parse_ip(value: str) -> ClientIP | None:
    """An address from a header or REMOTE_ADDR; tolerates `[v6]:port` and `v4:port`; else None."""
    try:
        return _parsed[value]
    except KeyError:
        pass
    address = _parse_ip(value)
    if len(_parsed) >= _PARSED_LIMIT:
        _parsed.clear()
    _parsed[value] = address
    return address


def _parse_ip(value: str) -> ClientIP | None:
    text = value.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    # An IPv4 peer seen through a dual-stack socket is still an IPv4 client.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted_proxy(address: ClientIP) -> bool:
    return any(address in network for network in conf.trusted_proxies)


def client_ip(request: HttpRequest) -> ClientIP | None:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For hop just outside our proxies."""
    return client_ip_from_meta(request.META)


def client_ip_from_meta(meta: Mapping[str, Any]) -> ClientIP | None:
    """`client_ip` from a WSGI environ or `request.META` (the gate's WSGI fast path has no
    request)."""
    address = parse_ip(str(meta.get("REMOTE_ADDR", "")))
    if address is None or not conf.trusted_proxies:
        return address
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", ""))
    hops = [hop for hop in forwarded.split(",") if hop.strip()]
    # Walk from the right: each hop was appended by the proxy before it. Stop at the first
    # address that is not one of ours: everything to its left is the client's own claim.
    while hops and _is_trusted_proxy(address):
        hop = parse_ip(hops.pop())
        if hop is None:
            break
        address = hop
    return address


def client_country(request: HttpRequest) -> str:
    """The client's ISO country code (upper case) from the trusted country header, or ""."""
    return client_country_from_meta(request.META)


def client_country_from_meta(meta: Mapping[str, Any]) -> str:
    """`client_country` from a WSGI environ or `request.META`."""
    header = conf.country_header
    if not header:
        return ""
    if conf.trusted_proxies:
        # With proxies declared, only a request that came through one of them carries a
        # country header the edge wrote.
        peer = parse_ip(str(meta.get("REMOTE_ADDR", "")))
        if peer is None or not _is_trusted_proxy(peer):
            return ""
    meta_key = "HTTP_" + header.upper().replace("-", "_")
    value = str(meta.get(meta_key, "")).strip().upper()
    if len(value) != 2 or not value.isascii() or not value.isalnum():
        return ""
    if value in _UNKNOWN_COUNTRIES:
        return ""
    return value
