"""redirect_url validation: a table of open-redirect attempts, accepted shapes, properties."""

from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from identity.redirects import application_root, safe_redirect_url
from tests.properties import given_reaching, reached


@dataclass
class FakeCoverage:
    """Hosts some application covers (the snapshot's `applications_for_host`)."""

    hosts: set[str] = field(
        default_factory=lambda: {"app.example.com", "other.example.com", "app.localhost"}
    )

    def applications_for_host(self, host: str) -> tuple[str, ...]:
        return ("app",) if host in self.hosts else ()


COVERAGE = FakeCoverage()


# The ports the site serves in these tests: the scheme's default, and 8000 for local hosts.
SERVED_PORTS = frozenset({None, 8000})


def check(value, *, debug=False, scheme="https", fallback="/", ports=SERVED_PORTS):
    return safe_redirect_url(
        value,
        app_host="app.example.com",
        scheme=scheme,
        snapshot=COVERAGE,
        ports=ports,
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
        ("https://OTHER.example.com:8000/p", "https://other.example.com:8000/p"),
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
        ports={None},
        debug=False,
    )
    assert result == "https://app.example.com/x"


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.com:8081/x",  # another port of the application host
        "https://other.example.com:22/",  # another port of another covered host
        "https://app.example.com:1/",
    ],
)
def test_a_port_the_site_does_not_serve_falls_back(value):
    assert check(value, fallback="/home") == "/home"


def test_a_port_the_site_serves_is_kept():
    assert check("https://other.example.com:8000/x") == "https://other.example.com:8000/x"


def test_the_default_port_written_out_is_rebuilt_without_it():
    assert check("https://app.example.com:443/x", ports={None}) == "https://app.example.com/x"


def test_only_the_listed_ports_are_served():
    assert check("https://app.example.com:8000/x", ports={None}) == "/"
    assert check("https://app.example.com/x", ports={8000}) == "/"


@pytest.mark.parametrize(
    "value",
    [
        "https://cla\u00df.example.com/",  # IDNA 2003 reads class., browsers xn--cla-7ka.
        "https://app.exampl\u0435.com/",  # a Cyrillic e
        "https://\uff41pp.example.com/",  # a full-width a
    ],
)
def test_a_host_not_written_in_ascii_falls_back(value):
    assert check(value) == "/"


@pytest.mark.parametrize(
    ("domain", "root"),
    [
        ("app.example.com", "/"),
        ("app.example.com/", "/"),
        ("app.example.com/demo", "/demo"),
        ("app.example.com/api/*/v1", "/api/"),
        ("app.example.com/api/*/v1/*", "/api/"),  # up to the first `*`, not the last
        ("app.example.com/foo*/bar", "/"),
        ("*.example.com/*", "/"),
    ],
)
def test_application_root(domain, root):
    assert application_root(domain) == root


# --- properties ---------------------------------------------------------------------------------
#
# Redirect URLs are generated from their parts on hosts an application covers, then mutated in
# the ways open redirects are attempted. The expected answer follows from the parts and the
# mutation applied, never from re-running the check's own rules.

COVERED_HOSTS = sorted(COVERAGE.hosts)
PATH_SEGMENT = st.from_regex(r"[A-Za-z0-9._~-]{1,8}", fullmatch=True).filter(
    lambda segment: segment not in (".", "..")
)
QUERY = st.from_regex(r"[A-Za-z0-9=&_-]{0,12}", fullmatch=True)


@dataclass(frozen=True)
class Target:
    host: str
    port: int | None
    segments: tuple[str, ...]
    query: str
    fragment: str

    @property
    def path(self) -> str:
        return "".join("/" + segment for segment in self.segments)

    def tail(self) -> str:
        return (
            self.path
            + (f"?{self.query}" if self.query else "")
            + (f"#{self.fragment}" if self.fragment else "")
        )

    def url(self, *, host: str | None = None) -> str:
        netloc = (host or self.host) + (f":{self.port}" if self.port is not None else "")
        return f"https://{netloc}{self.tail()}"

    def expected(self) -> str:
        """What a kept URL is sent as: the host lower-cased, at least the path `/`."""
        netloc = self.host.lower() + (f":{self.port}" if self.port is not None else "")
        return f"https://{netloc}{self.path or '/'}" + self.tail()[len(self.path) :]


targets = st.builds(
    Target,
    host=st.sampled_from(COVERED_HOSTS).flatmap(lambda h: st.sampled_from([h, h.upper()])),
    port=st.sampled_from(sorted(SERVED_PORTS, key=str)),
    segments=st.lists(PATH_SEGMENT, max_size=4).map(tuple),
    query=QUERY,
    fragment=QUERY,
)


@given_reaching(targets)
def test_an_https_url_on_a_covered_host_is_kept_as_it_was_checked(target_url):
    reached("covered url")
    event(f"port: {target_url.port is not None}, query: {bool(target_url.query)}")

    assert check(target_url.url()) == target_url.expected()


# 443 is https's own port, written out: the same place as no port at all, so it is served.
UNSERVED_PORTS = st.integers(1, 65535).filter(lambda port: port not in SERVED_PORTS | {443})


def test_https_s_own_port_written_out_is_served():
    assert check("https://app.example.com:443/x", fallback="/home") == "https://app.example.com/x"


@given_reaching(targets, UNSERVED_PORTS)
def test_a_url_on_a_port_the_site_does_not_serve_falls_back(target_url, port):
    reached("unserved port")

    assert check(replace(target_url, port=port).url(), fallback="/home") == "/home"


@given_reaching(targets)
def test_a_relative_path_is_kept_exactly(target_url):
    value = target_url.tail() if target_url.path else "/" + target_url.tail()
    reached("relative path")

    assert check(value) == value


def _insert(text: str, data: st.DataObject, inserted: str) -> str:
    position = data.draw(st.integers(0, len(text)))
    return text[:position] + inserted + text[position:]


# Each way of turning a safe target into an open redirect; every one falls back to the root.
MUTATIONS = {
    "userinfo before the host": lambda t, d: t.url(host=f"evil.example@{t.host}"),
    "covered host as userinfo": lambda t, d: t.url(host=f"{t.host}@evil.example"),
    "uncovered host": lambda t, d: t.url(host=f"{t.host}.evil.example"),
    "look-alike host": lambda t, d: t.url(host=t.host.replace(".", "-", 1)),
    "plain http": lambda t, d: t.url().replace("https://", "http://", 1),
    "protocol-relative": lambda t, d: "//" + t.url().removeprefix("https://"),
    "backslash authority": lambda t, d: "/\\" + t.url().removeprefix("https://"),
    "encoded double slash": lambda t, d: "/%2f%2f" + t.url().removeprefix("https://"),
    "double slash path": lambda t, d: f"https://{t.host}//evil.example{t.tail()}",
    "script scheme": lambda t, d: (
        d.draw(st.sampled_from(["javascript", "JaVaScRiPt", "data"])) + ":" + t.tail()
    ),
    "control character": lambda t, d: _insert(
        t.url(), d, d.draw(st.sampled_from(["\t", "\n", "\r", "\x00", "\x7f", " "]))
    ),
    "encoded control character": lambda t, d: (
        t.url() + d.draw(st.sampled_from(["%09", "%0a", "%0d%0a", "%00", "%7f"]))
    ),
    "backslash in the path": lambda t, d: _insert(t.url(), d, "\\") if t.path else t.url() + "/\\x",
    "too long": lambda t, d: t.url() + "/" + "a" * 2048,
}


@given_reaching(targets, st.sampled_from(sorted(MUTATIONS)), st.data())
def test_every_open_redirect_mutation_falls_back_to_the_root(target_url, mutation, data):
    value = MUTATIONS[mutation](target_url, data)
    reached(mutation)

    assert check(value, fallback="/root/") == "/root/"


_MUTATED_OR_RANDOM = st.one_of(
    st.tuples(targets, st.sampled_from(sorted(MUTATIONS)), st.data()).map(
        lambda drawn: MUTATIONS[drawn[1]](drawn[0], drawn[2])
    ),
    st.text(max_size=80),
)


# Three draws in four are URLs that should pass, the rest mutated or random text.
@given_reaching(
    st.integers(0, 3).flatmap(lambda n: targets.map(Target.url) if n else _MUTATED_OR_RANDOM)
)
def test_any_input_gives_a_relative_path_or_a_covered_https_url(value):
    result = check(value)
    if result.startswith("/"):
        assert not result.startswith(("//", "/\\"))
        assert "\\" not in result
        assert not any(ord(character) < 0x20 for character in result)
        return
    reached("absolute url")
    parts = urlsplit(result)
    assert parts.scheme == "https"
    assert parts.hostname in COVERAGE.hosts
    assert "@" not in parts.netloc
    assert check(result) == result  # what is sent passes the check again, unchanged


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40))
def test_a_value_after_a_double_slash_never_leaves_the_host(tail):
    assert check("//" + tail) == "/"
    assert check("/\\" + tail) == "/"
