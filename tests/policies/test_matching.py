"""Host/path patterns, specificity and the application index."""

from dataclasses import dataclass

import pytest
from hypothesis import event
from hypothesis import strategies as st

from policies.hosts import normalize_host
from policies.matching import (
    ApplicationIndex,
    HostPathPattern,
    PatternError,
    canonical_path,
    compile_pattern,
)
from tests.properties import given_reaching, reached


def covers(pattern_text, host, path):
    pattern = compile_pattern(pattern_text)
    normalized = normalize_host(host)
    assert normalized is not None
    return pattern.matches(normalized, path)


def index_of(*patterns):
    """An index whose keys are the pattern texts' positions (1, 2, ...)."""
    return ApplicationIndex(
        (compile_pattern(text), key) for key, text in enumerate(patterns, start=1)
    )


# --- compile_pattern ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical_text"),
    [
        ("example.com", "example.com"),
        ("Example.COM/Docs", "example.com/Docs"),
        ("example.com:8080/api", "example.com/api"),
        ("example.com/", "example.com"),
        ("example.com/*", "example.com"),
        ("example.com/demo/", "example.com/demo"),
        ("example.com.", "example.com"),
        ("*.example.com/api/*", "*.example.com/api/*"),
        ("App-*.Example.COM", "app-*.example.com"),
        ("bücher.example/x", "xn--bcher-kva.example/x"),
        ("cla\u00df.example/x", "xn--cla-7ka.example/x"),
        (" example.com/a ", "example.com/a"),
    ],
)
def test_compile_pattern_gives_a_canonical_text(text, canonical_text):
    assert compile_pattern(text).text == canonical_text


PLAIN_FORM = (
    "write the path in its plain form (no //, ., .., backslashes, %-escapes or trailing dots), "
    "for example "
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://example.com/app", "leave out the scheme; write it like app.example.com/path"),
        ("example.com/app?x=1", "a pattern cannot hold a query (?) or a fragment (#)"),
        ("example.com/#settings", "a pattern cannot hold a query (?) or a fragment (#)"),
        ("example.com:http/app", "the port is not a number; leave the port out"),
        ("**.example.com", "at most one * per host label; write it like *.example.com"),
        ("example.com/a**", "at most one * per path segment"),
        ("example.*", "the last label of the host cannot hold *; write it like *.example.com"),
        ("*", "the last label of the host cannot hold *; write it like *.example.com"),
        ("/demo", "the host is missing; write it like app.example.com"),
        (".", "the host is missing; write it like app.example.com"),
        ("exa mple.com", "a pattern cannot hold spaces"),
        ("ex!ample.com", "'ex!ample' is not a valid host label"),
        ("*!.example.com", "'*!' is not a valid host label"),
        ("a*!.example.com", "'a*!' is not a valid host label"),
        ("example.com//demo", PLAIN_FORM + "'/demo'"),
        ("example.com/a/../b", PLAIN_FORM + "'/b'"),
        ("example.com/a%2fb", PLAIN_FORM + "'/a/b'"),
        ("example.com/demo.", PLAIN_FORM + "'/demo'"),
        ("example.com/a\\b", PLAIN_FORM + "'/a/b'"),
        # a path with no canonical form at all suggests a plain one
        ("example.com/..", PLAIN_FORM + "'/docs'"),
        ("example.com/a\x00b", "the path holds a control character"),
        ("[::zz]/a", "'[::zz]' is not a valid IPv6 address"),
        ("[fe80::1%eth0]/a", "'[fe80::1%eth0]' is not a valid IPv6 address"),
    ],
)
def test_compile_pattern_refuses_bad_patterns_with_a_message(text, message):
    with pytest.raises(PatternError) as refused:
        compile_pattern(text)
    assert str(refused.value) == f"{text!r}: {message}"


@pytest.mark.parametrize("text", ["", "   "])
def test_compile_pattern_refuses_an_empty_pattern(text):
    with pytest.raises(PatternError) as refused:
        compile_pattern(text)
    assert str(refused.value) == "the pattern is empty; write it like app.example.com/path"


def test_compile_pattern_refuses_non_strings():
    with pytest.raises(PatternError) as refused:
        compile_pattern(None)  # type: ignore[arg-type]
    assert str(refused.value) == "a pattern must be a string such as app.example.com/path"


def test_pattern_error_is_a_value_error():
    assert issubclass(PatternError, ValueError)


def test_pattern_str_is_its_text():
    assert str(compile_pattern("Example.com/api")) == "example.com/api"


# --- coverage: the examples of docs/architecture.md and the Cloudflare app-paths page -----------


@pytest.mark.parametrize(
    ("pattern", "host", "path", "expected"),
    [
        # *.example.com is exactly one label, never the apex
        ("*.example.com", "alpha.example.com", "/", True),
        ("*.example.com", "example.com", "/", False),
        ("*.example.com", "foo.bar.example.com", "/", False),
        # a * inside a label
        ("*test.example.com", "test.example.com", "/", True),
        ("*test.example.com", "alphatest.example.com", "/", True),
        ("*test.example.com", "beta.test.example.com", "/", False),
        ("*test.example.com", "testing.example.com", "/", False),
        ("app-*.example.com", "app-eu.example.com", "/", True),
        ("app-*.example.com", "app.example.com", "/", False),
        # the label holds the glob's prefix and suffix without overlapping them
        ("a*a.example.com", "a.example.com", "/", False),
        ("a*a.example.com", "aa.example.com", "/", True),
        # the literal labels of a wildcard host must match too
        ("app.*.example.com", "web.eu.example.com", "/", False),
        ("app.*.example.com", "app.eu.example.net", "/", False),
        # the apex and /* cover every path
        ("example.com", "example.com", "/", True),
        ("example.com", "example.com", "/tick-1", True),
        ("example.com/*", "example.com", "/", True),
        ("example.com/*", "example.com", "/any/thing", True),
        # /alpha/* covers what is below /alpha, not /alpha itself
        ("example.com/alpha/*", "example.com", "/alpha", False),
        ("example.com/alpha/*", "example.com", "/alpha/", True),
        ("example.com/alpha/*", "example.com", "/alpha/one", True),
        ("example.com/alpha/*", "example.com", "/alphabet", False),
        # a mid-path * spans segments
        ("example.com/foo*/bar", "example.com", "/foo/bar", True),
        ("example.com/foo*/bar", "example.com", "/food/bar", True),
        ("example.com/foo*/bar", "example.com", "/food/stuff/bar", True),
        ("example.com/foo*/bar", "example.com", "/food/bar/baz", True),
        ("example.com/foo*/bar", "example.com", "/food/barn", False),
        ("example.com/foo*/bar", "example.com", "/fo/bar", False),
        # a path without * covers itself and what lies below it
        ("example.com/demo", "example.com", "/demo", True),
        ("example.com/demo", "example.com", "/demo/", True),
        ("example.com/demo", "example.com", "/demo/x", True),
        ("example.com/demo", "example.com", "/demonstration", False),
        ("example.com/demo", "example.com", "/", False),
        # a trailing / in the pattern is ignored (fails closed: /demo/ still covers /demo)
        ("example.com/demo/", "example.com", "/demo", True),
        # paths are case-sensitive, hosts are not
        ("example.com/Docs", "example.com", "/docs", False),
        ("example.com/Docs", "EXAMPLE.com", "/Docs", True),
        # the port is ignored on both sides
        ("example.com:8443/a", "example.com:8000", "/a", True),
        ("example.com", "other.com", "/", False),
    ],
)
def test_pattern_coverage(pattern, host, path, expected):
    assert covers(pattern, host, path) is expected


def test_most_specific_application_decides_alone():
    index = index_of("dashboard.com/eng", "dashboard.com/eng/exec")
    assert index.match("dashboard.com", "/eng/exec/report").key == 2
    assert index.match("dashboard.com", "/eng/team").key == 1


@pytest.mark.parametrize(
    ("patterns", "path", "winner"),
    [
        # a longer literal path wins
        (("example.com/a", "example.com/a/b"), "/a/b/c", 2),
        (("example.com/a/*", "example.com/a/bc"), "/a/bc", 2),
        # equal literal length: the path without * wins
        (("example.com/ab*", "example.com/ab"), "/ab/x", 2),
        # then the exact host beats the wildcard host
        (("*.example.com/ab", "app.example.com/ab"), "/ab", 2),
        # then the longer literal host
        (("*.example.com", "*.app.example.com"), "/", 2),
        # a * counts for nothing in the host's length
        (("*.*.example.com", "*.app.example.com"), "/", 2),
    ],
)
def test_specificity_order(patterns, path, winner):
    host = "x.app.example.com" if "*.app.example.com" in patterns else "app.example.com"
    if patterns[0].startswith("example.com"):
        host = "example.com"
    assert index_of(*patterns).match(host, path).key == winner


def test_equal_specificity_goes_to_the_smaller_key():
    index = ApplicationIndex(
        [(compile_pattern("example.com/a"), 9), (compile_pattern("example.com/a"), 3)]
    )
    assert index.match("example.com", "/a").key == 3


def test_match_returns_the_pattern_that_matched():
    match = index_of("example.com/api").match("example.com", "/api/v1")
    assert match.pattern.text == "example.com/api"
    assert match.non_canonical is False


def test_uncovered_path_gives_none():
    assert index_of("example.com/demo").match("example.com", "/other") is None


def test_uncovered_host_gives_none():
    assert index_of("example.com").match("other.example.com", "/") is None


def test_invalid_host_gives_none():
    assert index_of("example.com").match("exa mple.com", "/") is None


def test_wildcard_host_with_wildcard_in_an_inner_label():
    index = index_of("app.*.example.com")
    assert index.match("app.eu.example.com", "/").key == 1
    assert index.match("app.example.com", "/") is None


def test_ipv6_host_pattern():
    assert index_of("[::1]/a").match("[0::1]:8000", "/a/b").key == 1


def test_match_of_a_path_without_leading_slash_uses_the_root_pattern():
    assert index_of("example.com").match("example.com", "").key == 1


# --- keys_for_host ------------------------------------------------------------------------------


def test_keys_for_host_lists_every_key_on_the_host_most_specific_first():
    index = index_of(
        "example.com", "example.com/a/b", "*.example.com", "other.com", "example.com/a"
    )
    assert index.keys_for_host("EXAMPLE.com:8000") == (2, 5, 1)


def test_keys_for_host_includes_wildcard_hosts():
    index = index_of("*.example.com/a", "app.example.com", "app.other.com")
    assert index.keys_for_host("app.example.com") == (1, 2)


def test_keys_for_host_lists_a_key_once():
    index = ApplicationIndex(
        [(compile_pattern("example.com/a"), 1), (compile_pattern("example.com/b"), 1)]
    )
    assert index.keys_for_host("example.com") == (1,)


def test_keys_for_an_invalid_host_is_empty():
    assert index_of("example.com").keys_for_host("") == ()


# --- overlaps -----------------------------------------------------------------------------------


def test_overlaps_reports_identical_patterns():
    index = index_of("example.com/a", "example.com/a/")
    assert index.overlaps() == [
        (
            1,
            2,
            "example.com/a and example.com/a are equally specific and can cover the same "
            "request; the first one wins",
        ),
    ]


def test_overlaps_reports_equally_specific_wildcards_that_intersect():
    index = index_of("example.com/a*/x", "example.com/*a/x")
    assert [(left, right) for left, right, _ in index.overlaps()] == [(1, 2)]


def test_overlaps_reports_intersecting_wildcard_hosts():
    index = index_of("a*.example.com", "*b.example.com")
    assert [(left, right) for left, right, _ in index.overlaps()] == [(1, 2)]


def test_overlaps_ignores_wildcards_that_cannot_intersect():
    assert index_of("example.com/a*/x", "example.com/b*/x").overlaps() == []


def test_overlaps_ignores_different_hosts():
    assert index_of("a.example.com", "b.example.com").overlaps() == []


def test_overlaps_ignores_different_specificity():
    assert index_of("example.com/a", "example.com/a/b", "*.example.com").overlaps() == []


def test_overlaps_ignores_patterns_of_one_key():
    index = ApplicationIndex(
        [(compile_pattern("example.com/a"), 1), (compile_pattern("example.com/a/"), 1)]
    )
    assert index.overlaps() == []


@pytest.mark.parametrize(
    ("left", "right", "overlap"),
    [
        # paths: a request both cover is reported, one neither shares is not
        ("example.com/a*", "example.com/*a", True),  # /aa
        ("example.com/ab*", "example.com/*ba", True),  # /abba
        ("example.com/a*c", "example.com/ab*", True),  # /abc
        ("example.com/*a", "example.com/*b", True),  # /a/b: /*a covers what lies below /a
        ("example.com/x*y", "example.com/x*z", True),  # /xy/z
        ("example.com/ab/*", "example.com/a*/c", True),  # /ab/c
        ("example.com/a*b", "example.com/b*a", False),
        ("example.com/a*", "example.com/b*", False),
        ("example.com/a", "example.com/b", False),
        ("x.example.com/a*", "y.example.com/a*", False),
        # hosts: each label's globs must meet
        ("ab*.example.com", "*ba.example.com", True),  # abba.example.com
        ("*.a.example.com", "a.*.example.com", True),  # a.a.example.com
        ("a*.example.com", "b*.example.com", False),
        ("*a.example.com", "*b.example.com", False),
        ("a*b.example.com", "ba*.example.com", False),
        ("*.x.com", "*.y.com", False),
        # both the hosts and the paths must meet
        ("a*.example.com/p*", "*b.example.com/*p", True),  # ab.example.com/pp
        ("a*.example.com/p", "*b.example.com/q", False),
    ],
)
def test_overlaps_of_two_equally_specific_patterns(left, right, overlap):
    left_pattern, right_pattern = compile_pattern(left), compile_pattern(right)
    assert left_pattern.specificity == right_pattern.specificity
    expected = [
        (
            1,
            2,
            f"{left} and {right} are equally specific and can cover the same request; "
            "the first one wins",
        )
    ]

    overlaps = ApplicationIndex([(left_pattern, 1), (right_pattern, 2)]).overlaps()

    assert overlaps == (expected if overlap else [])


def test_overlaps_name_the_smaller_key_first():
    index = ApplicationIndex(
        [(compile_pattern("example.com/*a"), 7), (compile_pattern("example.com/a*"), 4)]
    )
    assert index.overlaps() == [
        (
            4,
            7,
            "example.com/a* and example.com/*a are equally specific and can cover the same "
            "request; the first one wins",
        ),
    ]


def test_overlaps_report_every_pair_of_keys_once():
    index = ApplicationIndex(
        (compile_pattern(text), key)
        for text, key in [
            ("example.com/a", 1),
            ("example.com/a/", 1),
            ("example.com/a", 2),
            ("example.com/a/", 2),
            ("example.com/a", 3),
        ]
    )
    assert [pair[:2] for pair in index.overlaps()] == [(1, 2), (1, 3), (2, 3)]


# --- the index does not scan every application --------------------------------------------------


def test_index_tries_few_patterns_among_ten_thousand(monkeypatch):
    entries = [(compile_pattern(f"app{n}.example.com/api/*"), n) for n in range(10_000)]
    entries += [(compile_pattern(f"*.zone{n}.example.com/x*"), 20_000 + n) for n in range(100)]
    index = ApplicationIndex(entries)
    calls = []
    original_path = HostPathPattern.matches_path
    original_host = HostPathPattern.matches_host
    monkeypatch.setattr(
        HostPathPattern,
        "matches_path",
        lambda self, path: calls.append(self) or original_path(self, path),
    )
    monkeypatch.setattr(
        HostPathPattern,
        "matches_host",
        lambda self, host: calls.append(self) or original_host(self, host),
    )
    assert index.match("app5000.example.com", "/api/v1").key == 5000
    assert index.match("a.zone7.example.com", "/xyz").key == 20_007
    assert len(calls) <= 4


# --- properties ---------------------------------------------------------------------------------

HOSTS = ["example.com", "a.example.com", "ba.example.com", "x.a.example.com", "other.org"]
HOST_PATTERNS = [
    "example.com",
    "a.example.com",
    "*.example.com",
    "*a.example.com",
    "b*.example.com",
    "*.a.example.com",
    "other.org",
]
PATTERN_SEGMENTS = ["a", "b", "ab", "*", "a*", "*b"]
PATH_SEGMENTS = ["a", "b", "ab", "ba", "", ".", "..", "%2e", "%2f", "a."]

pattern_texts = st.builds(
    lambda host, segments: host + "".join("/" + segment for segment in segments),
    st.sampled_from(HOST_PATTERNS),
    st.lists(st.sampled_from(PATTERN_SEGMENTS), max_size=3),
)
request_paths = st.builds(
    lambda segments, separators: (
        "".join(
            separator + segment for separator, segment in zip(separators, segments, strict=False)
        )
        or "/"
    ),
    st.lists(st.sampled_from(PATH_SEGMENTS), max_size=5),
    st.lists(st.sampled_from(["/", "/", "/", "\\"]), min_size=5, max_size=5),
)
canonical_request_paths = st.lists(st.sampled_from(["a", "b", "ab", "ba"]), max_size=4).map(
    lambda segments: "/" + "/".join(segments)
)


def brute_force_best(entries, host, path):
    normalized = normalize_host(host)
    found = [
        (pattern.specificity, key, pattern)
        for pattern, key in entries
        if pattern.matches(normalized, path)
    ]
    return min(found, key=lambda entry: (entry[0], entry[1])) if found else None


def brute_force_match(entries, host, path):
    literal = brute_force_best(entries, host, path)
    canonical = canonical_path(path)
    if canonical == path:
        return None if literal is None else (literal[1], False)
    found = [literal] + (
        [brute_force_best(entries, host, canonical)] if canonical is not None else []
    )
    found = [entry for entry in found if entry is not None]
    if not found:
        return None
    best = min(found, key=lambda entry: (entry[0], entry[1]))
    return best[1], True


# Patterns are also generated as shapes (host labels and path segments, some of them globs), so
# that a request the pattern covers can be built from the shape itself: most examples then ask
# about a request some pattern covers, which random paths almost never are.

GLOB_LETTERS = st.text(alphabet="ab", max_size=1)
MIDDLES = st.text(alphabet="ab", min_size=1, max_size=3)


@dataclass(frozen=True)
class Glob:
    prefix: str
    suffix: str

    def __str__(self) -> str:
        return f"{self.prefix}*{self.suffix}"

    @property
    def literal(self) -> int:
        return len(self.prefix) + len(self.suffix)


@dataclass(frozen=True)
class Shape:
    labels: tuple[str | Glob, ...]
    segments: tuple[str | Glob, ...]

    @property
    def text(self) -> str:
        return ".".join(map(str, self.labels)) + "".join(f"/{segment}" for segment in self.segments)

    @property
    def path_is_wildcard(self) -> bool:
        return any(isinstance(segment, Glob) for segment in self.segments)


globs = st.builds(Glob, GLOB_LETTERS, GLOB_LETTERS)
shapes = st.builds(
    Shape,
    st.tuples(
        st.one_of(st.sampled_from(["a", "ba", "x"]), globs),
        st.sampled_from([("example", "com"), ("a", "example", "com")]),
    ).map(lambda drawn: (drawn[0], *drawn[1])),
    st.lists(st.one_of(st.sampled_from(["a", "b", "ab"]), globs), max_size=3).map(tuple),
)


def instantiated(shape: Shape, data: st.DataObject) -> tuple[str, str]:
    """A request (host, path) the shape covers: each glob filled with a drawn middle."""

    def fill(part: str | Glob) -> str:
        return part if isinstance(part, str) else part.prefix + data.draw(MIDDLES) + part.suffix

    host = ".".join(fill(label) for label in shape.labels)
    segments = [fill(segment) for segment in shape.segments]
    if not shape.path_is_wildcard:  # a literal path covers everything below it
        segments += data.draw(st.lists(st.sampled_from(["a", "b", "x"]), max_size=2))
    return host, "/" + "/".join(segments)


def equally_specific(shape: Shape, host: str, path: str, data: st.DataObject) -> Shape:
    """Another shape as specific as `shape` that covers the same request: each glob keeps its
    number of literal characters, taken from the other end of the request's label or segment."""

    def moved(part: str | Glob, text: str) -> str | Glob:
        if isinstance(part, str):
            return part
        keep = data.draw(st.integers(0, part.literal))
        return Glob(
            text[:keep], text[len(text) - (part.literal - keep) :] if keep < part.literal else ""
        )

    labels = tuple(
        moved(label, text) for label, text in zip(shape.labels, host.split("."), strict=True)
    )
    request_segments = path.split("/")[1:]
    segments = tuple(
        moved(segment, text)
        for segment, text in zip(shape.segments, request_segments, strict=False)
    )
    return Shape(labels, segments)


@given_reaching(st.lists(shapes, min_size=1, max_size=6), st.data())
def test_index_agrees_with_checking_every_pattern(drawn_shapes, data):
    texts = [shape.text for shape in drawn_shapes]
    entries = [(compile_pattern(text), key) for key, text in enumerate(texts)]
    if data.draw(st.sampled_from(["covered", "covered", "covered", "random"])) == "covered":
        host, path = instantiated(data.draw(st.sampled_from(drawn_shapes)), data)
        path = data.draw(st.sampled_from([path, path, path + "/", "/." + path]))
    else:
        host, path = data.draw(st.sampled_from(HOSTS)), data.draw(request_paths)

    match = ApplicationIndex(entries).match(host, path)
    expected = brute_force_match(entries, host, path)
    if expected is None:
        assert match is None
        return
    reached("some pattern covers the request")
    event(f"non-canonical: {expected[1]}")
    assert match is not None
    assert (match.key, match.non_canonical) == expected


@given_reaching(st.lists(shapes, min_size=1, max_size=6), st.data())
def test_host_case_never_changes_a_match(drawn_shapes, data):
    index = ApplicationIndex(
        (compile_pattern(shape.text), key) for key, shape in enumerate(drawn_shapes)
    )
    host, path = instantiated(data.draw(st.sampled_from(drawn_shapes)), data)
    match = index.match(host, path)
    reached("covered")

    assert match is not None
    assert index.match(host.upper(), path) == match


@given_reaching(shapes, st.data())
def test_injected_dot_or_slash_segments_keep_matching(shape, data):
    pattern = compile_pattern(shape.text)
    host, path = instantiated(shape, data)
    slashes = [position for position, character in enumerate(path) if character == "/"]
    position = data.draw(st.sampled_from(slashes))
    injection = data.draw(st.sampled_from(["./", "/", ".//", "a/../"]))
    injected = path[: position + 1] + injection + path[position + 1 :]
    reached(f"injected {injection!r}")

    match = ApplicationIndex([(pattern, 1)]).match(host, injected)

    assert match is not None
    assert (match.key, match.non_canonical) == (1, True)


@given_reaching(shapes, st.data())
def test_overlaps_finds_every_tie_that_a_request_exposes(shape, data):
    host, path = instantiated(shape, data)
    other = equally_specific(shape, host, path, data)
    left, right = compile_pattern(shape.text), compile_pattern(other.text)
    assert left.specificity == right.specificity
    assert left.matches(host, path)
    assert right.matches(host, path)
    reached("tie")
    event("the same pattern twice" if left.text == right.text else "two patterns")

    assert [pair[:2] for pair in ApplicationIndex([(left, 1), (right, 2)]).overlaps()] == [(1, 2)]
