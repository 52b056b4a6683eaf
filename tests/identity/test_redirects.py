"""redirect_url validation: a table of open-redirect attempts, accepted shapes, properties."""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.redirects import application_root, safe_redirect_url


@dataclass
class FakeCoverage:
    """Hosts some application covers (the snapshot's `applications_for_host`)."""

    hosts: set[str] = field(
        default_factory=lambda: {"app.example.com", "other.example.com", "app.localhost"}
    )

    def applications_for_host(self, host: str) -> tuple[str, ...]:
        return ("app",) if host in self.hosts else ()


COVERAGE = FakeCoverage()


def check(value, *, debug=False, scheme="https", fallback="/"):
    return safe_redirect_url(
        value,
        app_host="app.example.com",
        scheme=scheme,
        snapshot=COVERAGE,
        debug=debug,
        fallback=fallback,
    )


@pytest.mark.parametrize(
    "value",
    [
        "/",
        "/demo",
        "/demo/page?x=1&y=2#top",
        "/search?q=a%20b",
        "/@evil.example",
        "/a/b/../c",
        "/path%2Fwith-encoded-slash-inside",
    ],
)
def test_relative_paths_are_kept(value):
    assert check(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://app.example.com/x?y=1#z", "https://app.example.com/x?y=1#z"),
        ("https://other.example.com/", "https://other.example.com/"),
        ("https://other.example.com", "https://other.example.com/"),
        ("https://OTHER.example.com:8443/p", "https://other.example.com:8443/p"),
        ("https://other.example.com./p", "https://other.example.com/p"),
    ],
)
def test_absolute_https_urls_on_covered_hosts_are_accepted(value, expected):
    assert check(value) == expected


OPEN_REDIRECT_ATTEMPTS = [
    None,
    "",
    "//evil.example",
    "//evil.example/path",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/%2f%2fevil.example",
    "/%2F%2Fevil.example",
    "%2f%2fevil.example",
    "/%5cevil.example",
    "/%255c%255cevil.example",
    "/%25252f%25252fevil.example",
    "/path\\with\\backslashes",
    "/ok%5cpath",
    "/\t/evil.example",
    "/\n/evil.example",
    "/%09/evil.example",
    "/%0d%0aSet-Cookie:x=1",
    "/%00",
    "/a\x00b",
    "/a\x7fb",
    "/a%7fb",
    "/a%c2%85b",
    " /leading-space",
    "/trailing-space ",
    "/bad%ffutf8",
    "https://evil.example/",
    "https://evil.example",
    "https://app.example.com.evil.example/",
    "https://evil.example\\@app.example.com/",
    "https://app.example.com@evil.example/",
    "https://user:pass@app.example.com/",
    "https://app.example.com%2f@evil.example/",
    "https://app%2eexample.com/",
    "https://app.example.com:99999/",
    "https://app.example.com:port/",
    "https:///app.example.com/",
    "https:app.example.com/x",
    "http://app.example.com/",
    "HTTPS://evil.example/",
    "ftp://app.example.com/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "relative/path",
    "?next=/x",
    "#fragment",
    ".evil.example",
    "https://[::1]/",
    "https://app.example.com//evil.example",
    "https://app.example.com/%2f%2fevil.example",
    "/" + "a" * 2048,
]


@pytest.mark.parametrize("value", OPEN_REDIRECT_ATTEMPTS)
def test_open_redirect_attempts_fall_back_to_the_application_root(value):
    assert check(value, fallback="/root/") == "/root/"


def test_http_is_refused_for_local_hosts_without_debug():
    assert check("http://app.localhost:8000/x", scheme="http") == "/"


def test_http_is_accepted_for_covered_local_hosts_in_debug():
    assert check("http://app.localhost:8000/x", debug=True, scheme="http") == (
        "http://app.localhost:8000/x"
    )


def test_http_is_refused_in_debug_when_the_application_is_served_over_https():
    assert check("http://app.localhost:8000/x", debug=True, scheme="https") == "/"


def test_http_is_refused_in_debug_for_a_public_host():
    assert check("http://app.example.com/x", debug=True, scheme="http") == "/"


def test_http_is_refused_in_debug_for_an_uncovered_local_host():
    assert check("http://nothing.localhost/", debug=True, scheme="http") == "/"


def test_the_application_host_itself_is_accepted_without_coverage():
    result = safe_redirect_url(
        "https://app.example.com/x",
        app_host="app.example.com:443",
        scheme="https",
        snapshot=FakeCoverage(hosts=set()),
        debug=False,
    )
    assert result == "https://app.example.com/x"


@pytest.mark.parametrize(
    ("domain", "root"),
    [
        ("app.example.com", "/"),
        ("app.example.com/", "/"),
        ("app.example.com/demo", "/demo"),
        ("app.example.com/api/*/v1", "/api/"),
        ("app.example.com/foo*/bar", "/"),
        ("*.example.com/*", "/"),
    ],
)
def test_application_root(domain, root):
    assert application_root(domain) == root


@given(st.text(max_size=80))
def test_any_input_gives_a_relative_path_or_a_covered_https_url(value):
    result = check(value)
    if result.startswith("/"):
        assert not result.startswith(("//", "/\\"))
        assert "\\" not in result
        assert not any(ord(character) < 0x20 for character in result)
    else:
        parts = urlsplit(result)
        assert parts.scheme == "https"
        assert parts.hostname in COVERAGE.hosts
        assert "@" not in parts.netloc


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40))
def test_a_value_after_a_double_slash_never_leaves_the_host(tail):
    assert check("//" + tail) == "/"
    assert check("/\\" + tail) == "/"
