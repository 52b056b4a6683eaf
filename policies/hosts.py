"""Host names in the one form the gate compares them in.

A host reaches the gate in two places: the request's `Host` (matching, the login host, redirect
targets) and the host of an `Origin` (CORS). Both must read a name the same way, or an origin
listed in `cors_headers` and the host it names could disagree about which site they are. So one
function, `canonical_host_name`, says what a host name is and how it is spelled for comparison:
lower case, international names in the ASCII form browsers send (UTS #46, IDNA 2008), IPv6
literals in brackets and compressed, letters, digits, `-` and `_` in labels of 1 to 63
characters, 253 characters in all. Each caller first takes off what its own syntax adds: a
request host its port and one trailing dot (`normalize_host`); an origin its scheme and port
(`policies.cors.normalize_origin`, where a trailing dot makes another origin, and is refused).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import struct
from collections.abc import Callable

import idna

__all__ = [
    "DEFAULT_PORTS",
    "ascii_hostname",
    "canonical_host_name",
    "host_name",
    "ipv6_literal",
    "normalize_host",
    "port_number",
    "read_authority",
    "split_authority",
    "split_port",
]

# The port a URL or an origin leaves out, because it is the scheme's.
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}

# Letters, digits, hyphens and underscores (some internal names use them); one label at a time.
HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
MAX_HOST_NAME_LENGTH = 253
_PORT = re.compile(r"[0-9]{1,5}")


def ascii_hostname(name: str) -> str | None:
    """A host name (or one label) in the ASCII form browsers send, or None when it has none.

    International names are converted as browsers and mail systems do (UTS #46, IDNA 2008,
    non-transitional): `claß` becomes `xn--cla-7ka`. Python's own `idna` codec is IDNA 2003 and
    would make it `class`, another name, so a pattern or an origin written with it would cover a
    host the browser never sends, while the host it does send stayed uncovered.
    """
    if name.isascii():
        return name
    try:
        return idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except UnicodeError:  # idna.IDNAError is one
        return None


def ipv6_literal(host: str) -> str | None:
    """`[address]` in its compressed form (`[0:0::1]` is `[::1]`), all hexadecimal
    (`[::ffff:127.0.0.1]` is `[::ffff:7f00:1]`, as browsers write it), or None when it is not one.

    A zone id (`[fe80::1%eth0]`, which Python's `ipaddress` reads) is refused: it names an
    interface of one machine, and browsers never send one in a Host or an Origin."""
    if not (host.startswith("[") and host.endswith("]")):
        return None
    try:
        address = ipaddress.IPv6Address(host[1:-1])
    except ValueError:
        return None
    if address.scope_id is not None:
        return None
    return f"[{_compressed_hex(address)}]"


def _compressed_hex(address: ipaddress.IPv6Address) -> str:
    """The address in hexadecimal pieces, the first longest run of two or more zero pieces as
    `::` (RFC 5952, and the WHATWG URL serializer browsers write hosts and origins with).

    Written out here rather than read from `ipaddress`, whose spelling of an IPv4-mapped address
    changed with Python 3.13 (`::ffff:127.0.0.1`, where earlier versions and browsers write
    `::ffff:7f00:1`): stored patterns and origins are compared in this form, and a Python
    upgrade must not change what they match.
    """
    pieces = struct.unpack("!8H", address.packed)
    start, length = -1, 1  # the run to compress; a single zero piece is written as 0
    run_start = run_length = 0
    for index, piece in enumerate(pieces):
        if piece:
            run_length = 0
            continue
        if not run_length:
            run_start = index
        run_length += 1
        if run_length > length:
            start, length = run_start, run_length
    texts = [f"{piece:x}" for piece in pieces]
    if start < 0:
        return ":".join(texts)
    return ":".join(texts[:start]) + "::" + ":".join(texts[start + length :])


def canonical_host_name(name: str) -> str | None:
    """A host name, without port, in the form hosts are compared in; None when it is not one.

    Lower-cased; an IPv6 literal in brackets as `ipv6_literal` writes it; an international name
    converted whole by `ascii_hostname`, so that the ASCII labels beside an international one
    must be valid IDNA too (`a_b.bücher.example` is refused, `a_b.example` is not). A trailing
    dot is an empty label here: callers that accept one strip it first.
    """
    name = name.lower()
    if name.startswith("["):
        return ipv6_literal(name)
    if not name or len(name) > MAX_HOST_NAME_LENGTH:
        return None
    ascii_name = ascii_hostname(name)
    if ascii_name is None or len(ascii_name) > MAX_HOST_NAME_LENGTH:
        return None
    labels = ascii_name.split(".")
    # UTS #46 reads the ideographic and full-width full stops (U+3002, U+FF0E, U+FF61) as dots,
    # so a label written with one would become two labels nobody wrote: refused.
    if len(labels) != name.count(".") + 1:
        return None
    if not all(HOST_LABEL.fullmatch(label) for label in labels):
        return None
    return ascii_name


def host_name(text: str) -> str | None:
    """A host name as a request or a URL writes it (no port): `canonical_host_name`, with one
    trailing dot allowed (`example.com.` is the same DNS name)."""
    return canonical_host_name(text.removesuffix("."))


def split_authority(text: str) -> tuple[str, str | None] | None:
    """`host[:port]` as the host (an IPv6 literal with its brackets) and the port as written
    (None when there is none); None when they cannot be told apart (`[::1`, `[::1]x`).

    Neither part is checked here: a host with another `:` leaves it in the port, which is then
    not a number.
    """
    if text.startswith("["):  # an IPv6 literal: "[::1]:8000"
        end = text.find("]")
        rest = text[end + 1 :]
        if end == -1 or (rest and not rest.startswith(":")):
            return None
        return text[: end + 1], rest[1:] if rest else None
    host, colon, port = text.partition(":")
    return host, port if colon else None


def port_number(text: str) -> int | None:
    """A port as written (1 to 5 digits, at most 65535), or None when it is not one."""
    if not _PORT.fullmatch(text):
        return None
    port = int(text)
    return port if port <= 65535 else None


def read_authority(
    text: str, *, scheme: str, read_host: Callable[[str], str | None] = host_name
) -> tuple[str, int | None] | None:
    """`host[:port]` as the host `read_host` reads and the port as a number, None when there is
    none or it is the scheme's default (a browser never writes it); None when either part is
    not one. Port 0 is a number here: callers that reach hosts refuse it."""
    parts = split_authority(text)
    if parts is None:
        return None
    host_text, port_text = parts
    host = read_host(host_text)
    if host is None:
        return None
    if port_text is None:
        return host, None
    port = port_number(port_text)
    if port is None:
        return None
    return host, None if port == DEFAULT_PORTS.get(scheme) else port


def split_port(host: str) -> str | None:
    """`host[:port]` without its port, or None when the port is not digits. The number is not
    bounded: the gate compares hosts without their ports."""
    parts = split_authority(host)
    if parts is None or (parts[1] is not None and not _PORT.fullmatch(parts[1])):
        return None
    return parts[0]


def normalize_host(host: str) -> str | None:
    """A request host in the form patterns are compared with, or None when it is not a host name.

    Strips surrounding space, the port and one trailing dot (`example.com.` is the same DNS name),
    then reads the rest with `canonical_host_name`. IPv6 literals keep their brackets.
    """
    if not isinstance(host, str):
        return None
    return _normalize_host(host)


# A site serves few host names, so caching keeps this off the hot path; the bound keeps a client
# that sends many made-up Host headers from growing it.
@functools.lru_cache(maxsize=4096)
def _normalize_host(host: str) -> str | None:
    value = split_port(host.strip().lower())
    return None if value is None else host_name(value)
