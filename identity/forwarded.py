"""The request a proxy asks about, read from the headers of its forward-auth request.

nginx's `auth_request`, Caddy's `forward_auth` and Traefik's `forwardAuth` ask the project about
a request it never sees: they copy its headers (cookies, `Origin`, service-token headers) and
describe the rest in `X-Forwarded-Host`, `-Proto`, `-Method` and `-Uri` (nginx's documented
names: `X-Original-Method`, `X-Original-URI`). Anyone can send those headers, so they are read
only on a request whose TCP peer is one of `ACCESS_TRUSTED_PROXIES`, and every value must be
exactly one well-formed value: missing, repeated, or two spellings that disagree is a refusal,
never a guess. The host is taken as the host name the browser used, only when written in
canonical form (`identity.hosts`) and accepted by `ALLOWED_HOSTS`: it is what matches
applications, what the login URL names and what the authorized hop later redeems a code on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from django.utils.encoding import escape_uri_path, iri_to_uri, repercent_broken_unicode

from common.http import is_token
from identity.clients import parse_ip
from identity.conf import conf
from identity.hosts import Authority, canonical_authority, is_allowed_host

# Every spelling of each value, by WSGI key; the first is the name the refusals use.
HOST_KEYS = ("HTTP_X_FORWARDED_HOST",)
PROTO_KEYS = ("HTTP_X_FORWARDED_PROTO",)
METHOD_KEYS = ("HTTP_X_FORWARDED_METHOD", "HTTP_X_ORIGINAL_METHOD")
URI_KEYS = ("HTTP_X_FORWARDED_URI", "HTTP_X_ORIGINAL_URI")
FORWARDED_KEYS = (*HOST_KEYS, *PROTO_KEYS, *METHOD_KEYS, *URI_KEYS)

SCHEMES = frozenset({"http", "https"})
# A method is an RFC 9110 token; no method anyone uses is longer.
_MAX_METHOD = 32
# An origin-form request target as a client sends it: printable ASCII, no space, no fragment.
_URI = re.compile(r"/[\x21-\x7e\x80-\xff]*")
_MAX_URI = 8192


class ForwardedRefusal(Exception):
    """The forward-auth request cannot be believed or read: answer `status` with `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class ForwardedRequest:
    """The original request, as the gate decides it."""

    scheme: str
    authority: Authority
    method: str
    path: str  # as Django's `path_info` would read it: percent-decoded, UTF-8
    query: str  # as sent

    @property
    def host(self) -> str:
        return str(self.authority)

    @property
    def full_path(self) -> str:
        """Path and query as `HttpRequest.get_full_path_info()` writes them (the redirect target
        of a sign-in)."""
        path = escape_uri_path(self.path)
        return f"{path}?{iri_to_uri(self.query)}" if self.query else path


def peer_is_trusted(meta: Mapping[str, Any]) -> bool:
    """Whether the TCP peer of this request is one of `ACCESS_TRUSTED_PROXIES`."""
    peer = parse_ip(str(meta.get("REMOTE_ADDR", "")))
    return peer is not None and any(peer in network for network in conf.trusted_proxies)


def read_forwarded(meta: Mapping[str, Any]) -> ForwardedRequest:
    """The request the proxy asks about, or `ForwardedRefusal`."""
    if not peer_is_trusted(meta):
        raise ForwardedRefusal(
            403, "Forbidden: forward-auth answers only the proxies in ACCESS_TRUSTED_PROXIES."
        )
    scheme = _one(meta, PROTO_KEYS)
    if scheme not in SCHEMES:
        raise ForwardedRefusal(400, "Bad request: X-Forwarded-Proto must be http or https.")
    authority = canonical_authority(_one(meta, HOST_KEYS), scheme=scheme)
    if authority is None:
        raise ForwardedRefusal(
            400, "Bad request: X-Forwarded-Host is not a host name in canonical form."
        )
    if not is_allowed_host(authority):
        raise ForwardedRefusal(400, "Bad request: X-Forwarded-Host is not in ALLOWED_HOSTS.")
    method = _one(meta, METHOD_KEYS)
    if len(method) > _MAX_METHOD or not is_token(method):
        raise ForwardedRefusal(400, "Bad request: X-Forwarded-Method is not a method.")
    path, query = _path_and_query(_one(meta, URI_KEYS))
    return ForwardedRequest(
        scheme=scheme, authority=authority, method=method, path=path, query=query
    )


def _one(meta: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """The one value of a header that may be spelled several ways."""
    values = {meta[key] for key in keys if key in meta}
    name = _header_name(keys[0])
    if not values:
        raise ForwardedRefusal(400, f"Bad request: {name} is missing.")
    if len(values) > 1:
        spellings = " and ".join(_header_name(key) for key in keys)
        raise ForwardedRefusal(400, f"Bad request: {spellings} disagree.")
    (value,) = values
    if not isinstance(value, str) or not value:
        raise ForwardedRefusal(400, f"Bad request: {name} is empty.")
    return value


def _header_name(key: str) -> str:
    name = key.removeprefix("HTTP_").replace("_", "-").title()
    return name.replace("-Uri", "-URI")


def _path_and_query(uri: str) -> tuple[str, str]:
    """The path as Django would decode it (the WSGI server percent-decodes it to bytes, Django
    reads them as UTF-8, re-escaping what is not), and the query as sent."""
    if len(uri) > _MAX_URI or not _URI.fullmatch(uri) or "#" in uri:
        raise ForwardedRefusal(400, "Bad request: X-Forwarded-URI is not a path.")
    raw_path, _, query = uri.partition("?")
    try:
        raw = raw_path.encode("latin-1")  # WSGI header values are bytes read as latin-1
    except UnicodeEncodeError:
        raise ForwardedRefusal(400, "Bad request: X-Forwarded-URI is not a path.") from None
    return repercent_broken_unicode(unquote_to_bytes(raw)).decode(), query
