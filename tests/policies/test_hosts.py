"""Host names: the one reading that request hosts and the hosts of origins share."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.hosts import parse_authority
from policies.cors import cors_headers_errors, normalize_origin
from policies.hosts import (
    canonical_host_name,
    ipv6_literal,
    normalize_host,
    port_number,
    split_authority,
)
from tests.properties import given_reaching, reached


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com:8443", "example.com"),
        ("example.com.", "example.com"),
        ("example.com.:80", "example.com"),
        ("app.localhost", "app.localhost"),
        ("127.0.0.1:8000", "127.0.0.1"),
        ("[::1]:8000", "[::1]"),
        ("[0:0::1]", "[::1]"),
        ("bücher.example", "xn--bcher-kva.example"),
        # As browsers convert them (UTS #46), never as Python's IDNA 2003 codec does.
        ("cla\u00df.example", "xn--cla-7ka.example"),
        ("\u03c2.example", "xn--3xa.example"),
        ("under_score.example.com", "under_score.example.com"),
    ],
)
def test_normalize_host_gives_the_compared_form(host, expected):
    assert normalize_host(host) == expected


@pytest.mark.parametrize(
    "host",
    [
        "",
        ".",
        "example.com:port",
        "example.com:",
        "exa mple.com",
        "a..b",
        "-a.example.com",
        "user@example.com",
        "[::1",
        "[nothex]",
        "::1",
        "*.example.com",
        "a" * 64 + ".com",
    ],
)
def test_normalize_host_refuses_what_is_not_a_host(host):
    assert normalize_host(host) is None


# --- request hosts and origins agree -------------------------------------------------------------


def host_of_origin(host):
    """The host `normalize_origin` reads in `https://<host>`, or None when it refuses it."""
    origin = normalize_origin(f"https://{host}")
    return None if origin is None else origin.removeprefix("https://")


# Each row: a host as written (no port, no trailing dot) and its compared form (None: refused).
HOSTS = [
    ("Example.COM", "example.com"),
    ("under_score.example.com", "under_score.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("BÜCHER.example", "xn--bcher-kva.example"),
    ("cla\u00df.example", "xn--cla-7ka.example"),
    ("\u03c2.example", "xn--3xa.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("例え.jp", "xn--r8jz45g.jp"),
    # UTS #46 reads these full stops as dots: a label nobody split is refused, not split.
    ("例え\u3002jp", None),
    ("example\uff0ecom", None),
    ("bücher\uff61example", None),
    # Beside an international label, an ASCII label must be valid IDNA as well.
    ("a_b.bücher.example", None),
    ("ab--c.bücher.example", None),
    ("xn--zz.bücher.example", None),
    ("bücher..example", None),
    ("[::1]", "[::1]"),
    ("[0:0::1]", "[::1]"),
    # An IPv4-mapped address in hexadecimal, as browsers write it, on every Python version
    # (3.13's `ipaddress` would write `::ffff:127.0.0.1`).
    ("[::FFFF:127.0.0.1]", "[::ffff:7f00:1]"),
    ("[::ffff:7f00:1]", "[::ffff:7f00:1]"),
    ("[0:0:0:0:0:ffff:c000:201]", "[::ffff:c000:201]"),
    ("[2001:DB8::1]", "[2001:db8::1]"),
    ("[nothex]", None),
    # A zone id names an interface of one machine: no browser sends one in a Host or an Origin.
    ("[fe80::1%eth0]", None),
    ("[fe80::1%25eth0]", None),
    ("[::1%1]", None),
    ("[::1", None),
    ("[]", None),
    ("127.0.0.1", "127.0.0.1"),
    ("", None),
    ("-a.example.com", None),
    ("a-.example.com", None),
    ("a..b", None),
    (".example.com", None),
    ("exa mple.com", None),
    ("*.example.com", None),
    ("a" * 63 + ".com", "a" * 63 + ".com"),
    ("a" * 64 + ".com", None),
    (".".join(["a" * 63] * 4)[:253], ".".join(["a" * 63] * 4)[:253]),
    (".".join(["a" * 63] * 4)[:251] + ".ab.c", None),  # 255 characters
    ("ü" * 60 + "." + "ü" * 60 + "." + "ü" * 60 + ".example", None),  # too long once encoded
]


# Pieces drawn mostly from 0, so that runs of zeros of every length and place are common.
IPV6_PIECES = st.lists(
    st.one_of(st.just(0), st.just(0xFFFF), st.integers(0, 0xFFFF)), min_size=8, max_size=8
)


@given(IPV6_PIECES)
def test_an_ipv6_literal_is_written_in_hexadecimal_with_the_first_longest_zero_run_compressed(
    pieces,
):
    address = ipaddress.IPv6Address(sum(piece << (16 * (7 - i)) for i, piece in enumerate(pieces)))

    literal = ipv6_literal(f"[{address.exploded}]")

    assert literal is not None
    assert ipaddress.IPv6Address(literal[1:-1]) == address
    written = literal[1:-1]
    assert "." not in written
    assert ":::" not in written
    assert written.count("::") <= 1
    # RFC 5952 and the WHATWG URL serializer: no leading zeros, a lone zero piece stays "0",
    # and "::" stands for the first of the longest runs of two or more zero pieces.
    runs = [
        (start, length)
        for start in range(8)
        for length in range(2, 9 - start)
        if not any(pieces[start : start + length])
    ]
    if not runs:
        assert written == ":".join(f"{piece:x}" for piece in pieces)
    else:
        start, length = min(runs, key=lambda run: (-run[1], run[0]))
        head = ":".join(f"{piece:x}" for piece in pieces[:start])
        tail = ":".join(f"{piece:x}" for piece in pieces[start + length :])
        assert written == f"{head}::{tail}"


def test_an_allowed_origin_with_a_zone_id_is_refused():
    origin = "https://[fe80::1%25eth0]"

    assert cors_headers_errors({"allowed_origins": [origin], "allowed_methods": ["GET"]}) == {
        "allowed_origins[0]": [
            f'"{origin}" is not an origin: write scheme and host, like https://app.example.com'
        ]
    }


@pytest.mark.parametrize(("host", "expected"), HOSTS)
def test_request_hosts_and_origins_read_a_host_alike(host, expected):
    assert canonical_host_name(host) == expected
    assert normalize_host(host) == expected
    assert host_of_origin(host) == expected


@pytest.mark.parametrize(
    ("host", "expected"), [row for row in HOSTS if row[1] is not None and row[0][0] != "["]
)
def test_a_trailing_dot_is_the_same_request_host_and_another_origin(host, expected):
    assert normalize_host(f"{host}.") == expected
    assert normalize_host(f"{host}.:8443") == expected
    assert host_of_origin(f"{host}.") is None


LABELS = st.sampled_from(
    ["app", "APP", "a_b", "ab--c", "-a", "a-", "xn--bcher-kva", "xn--zz", "bücher", "BÜCHER"]
    + ["cla\u00df", "\u03c2", "例え", "a\u3002b", "a\uff0eb", "", "a" * 63, "a" * 64, "*"]
)
HOST_NAMES = st.one_of(
    st.lists(LABELS, min_size=1, max_size=5).map(".".join),
    st.sampled_from(["[::1]", "[0:0::1]", "[::ffff:1.2.3.4]", "[nothex]", "[::1", "[]"]),
    # No `:` outside the literals above: a host written with a port is another question
    # (`0:0` is the host `0` to a request, and no host name at all).
    st.text(alphabet="aZ0._-[]ü\u3002", max_size=12),
)


@given_reaching(HOST_NAMES)
def test_every_host_name_reads_the_same_as_request_host_and_as_origin_host(host):
    expected = canonical_host_name(host)
    reached("accepted" if expected is not None else "refused")

    assert host_of_origin(host) == expected
    if not host.endswith("."):
        assert normalize_host(host) == expected


# --- authorities: host and port ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", ("example.com", None)),
        ("example.com:8443", ("example.com", "8443")),
        ("example.com:", ("example.com", "")),
        ("[::1]", ("[::1]", None)),
        ("[::1]:8000", ("[::1]", "8000")),
        ("[::1]:", ("[::1]", "")),
        ("a:1:2", ("a", "1:2")),
        ("::1", ("", ":1")),
        ("[::1", None),
        ("[::1]x", None),
        ("[::1]8000", None),
    ],
)
def test_an_authority_splits_into_host_and_port_as_written(text, expected):
    assert split_authority(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("80", 80), ("0443", 443), ("0", 0), ("65535", 65535), ("65536", None), ("99999", None)]
    + [("", None), ("123456", None), ("8a", None), ("-1", None), ("+1", None), ("١٢", None)],
)
def test_a_port_is_at_most_five_digits_and_65535(text, expected):
    assert port_number(text) == expected


@pytest.mark.parametrize(("host", "expected"), HOSTS)
def test_request_hosts_origins_and_authorities_read_a_host_with_a_port_alike(host, expected):
    """The login flow's `parse_authority` takes ASCII only: browsers send nothing else."""
    assert normalize_host(f"{host}:8443") == expected
    assert host_of_origin(f"{host}:8443") == (None if expected is None else f"{expected}:8443")
    authority = parse_authority(f"{host}:8443", scheme="https")
    if expected is None or not host.isascii():
        assert authority is None
    else:
        assert (authority.host, authority.port) == (expected, 8443)


@pytest.mark.parametrize("text", ["a:1:2", "example.com:65536", "[::1]:80:80", "example.com:"])
def test_an_authority_has_one_port_at_most(text):
    assert parse_authority(text, scheme="https") is None
    assert host_of_origin(text) is None


def test_port_0_reaches_nothing_the_login_flow_could_send_a_browser_to():
    assert parse_authority("example.com:0", scheme="https") is None
