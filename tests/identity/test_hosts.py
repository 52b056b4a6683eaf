"""Hosts in one canonical spelling, on served ports (identity.hosts)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from identity.hosts import Authority, canonical_authority, is_served, parse_authority, served_ports


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app.example.com", Authority("app.example.com")),
        ("app.example.com:8443", Authority("app.example.com", 8443)),
        ("APP.Example.COM", Authority("app.example.com")),
        ("app.example.com.", Authority("app.example.com")),
        ("app.example.com:443", Authority("app.example.com")),
        ("app.example.com:08443", Authority("app.example.com", 8443)),
        ("[::1]:8000", Authority("[::1]", 8000)),
        ("[0:0::1]", Authority("[::1]")),
        ("127.0.0.1:8000", Authority("127.0.0.1", 8000)),
    ],
)
def test_an_authority_is_read_as_a_browser_reaches_it(text, expected):
    assert parse_authority(text, scheme="https") == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "app.example.com:",
        "app.example.com:0",
        "app.example.com:65536",
        "app.example.com:80a",
        "app.example.com:+80",
        "app..example.com",
        "-app.example.com",
        "[::1]8000",
        "[::1",
        "[zz]",
        "cla\u00df.example.com",  # IDNA 2003 reads class., browsers xn--cla-7ka.
        "\u03c2.example.com",  # a final sigma: IDNA 2003 reads xn--4xa., browsers xn--3xa.
        "app.exampl\u0435.com",
        "app.example.com/x",
        "user@app.example.com",
        "app.example.com\t",
    ],
)
def test_what_is_not_a_host_name_is_refused(text):
    assert parse_authority(text, scheme="https") is None
    assert canonical_authority(text, scheme="https") is None


@pytest.mark.parametrize(
    "text",
    [
        "APP.example.com",
        "app.example.com.",
        "app.example.com:443",
        "app.example.com:08443",
        "[0:0::1]",
        " app.example.com",
    ],
)
def test_another_spelling_of_a_host_is_not_canonical(text):
    assert canonical_authority(text, scheme="https") is None


def test_the_default_port_depends_on_the_scheme():
    assert parse_authority("app.example.com:80", scheme="http") == Authority("app.example.com")
    assert parse_authority("app.example.com:80", scheme="https") == Authority("app.example.com", 80)
    assert canonical_authority("app.example.com:80", scheme="http") is None
    assert canonical_authority("app.example.com:80", scheme="https") == Authority(
        "app.example.com", 80
    )


def test_an_authority_is_written_without_a_default_port():
    assert str(Authority("app.example.com")) == "app.example.com"
    assert str(Authority("[::1]", 8000)) == "[::1]:8000"


def test_served_ports_are_the_requests_own_and_the_configured_ones(settings):
    settings.ACCESS_APPLICATION_PORTS = ["8443", "9000"]
    request = Authority("access.example.com")

    assert served_ports(request) == {None, 8443, 9000}
    assert is_served(Authority("app.example.com", 9000), request_authority=request)
    assert not is_served(Authority("app.example.com", 8081), request_authority=request)
    assert not is_served(Authority("app.example.com"), request_authority=Authority("a", 8000))


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_HOSTS = st.lists(_LABEL, min_size=2, max_size=4).map(".".join)
_PORTS = st.none() | st.integers(min_value=1, max_value=65535).filter(lambda port: port != 443)


def _respell(host: str, port: int | None, how: str, data: st.DataObject) -> str:
    """The same authority written another way, as an attacker's link would write it."""
    tail = "" if port is None else f":{port}"
    if how == "upper":
        letters = [index for index, character in enumerate(host) if character.isalpha()]
        assume(letters)
        index = data.draw(st.sampled_from(letters))
        return host[:index] + host[index].upper() + host[index + 1 :] + tail
    if how == "trailing dot":
        return f"{host}.{tail}"
    if how == "default port":
        return f"{host}:443"
    if how == "leading zero":
        return f"{host}:0{port or 443}"
    if how == "sharp s":
        return host.replace("ss", "\u00df", 1) if "ss" in host else f"\u00df{host}"
    return f" {host}{tail}"


@given(host=_HOSTS, port=_PORTS)
def test_a_canonical_authority_reads_back_as_itself(host, port):
    text = host if port is None else f"{host}:{port}"

    assert str(canonical_authority(text, scheme="https")) == text


@given(
    host=_HOSTS,
    port=_PORTS,
    how=st.sampled_from(
        ["upper", "trailing dot", "default port", "leading zero", "sharp s", "space"]
    ),
    data=st.data(),
)
def test_every_other_spelling_of_an_authority_is_refused(host, port, how, data):
    spelled = _respell(host, port, how, data)

    assert canonical_authority(spelled, scheme="https") is None
