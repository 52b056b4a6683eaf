"""Canonical paths: a request cannot reach a protected view while escaping its pattern."""

import re

import pytest
from hypothesis import event
from hypothesis import strategies as st

from policies.matching import ApplicationIndex, canonical_path, compile_pattern
from tests.properties import given_reaching, reached

DEMO, ADMIN = 1, 2


@pytest.fixture
def index():
    return ApplicationIndex(
        [
            (compile_pattern("example.com/demo"), DEMO),
            (compile_pattern("example.com/admin/*"), ADMIN),
        ]
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "/"),
        ("", "/"),
        ("demo", "/demo"),
        ("/demo/x", "/demo/x"),
        ("/demo/", "/demo/"),
        ("//demo", "/demo"),
        ("/demo//x", "/demo/x"),
        ("/./demo", "/demo"),
        ("/demo/.", "/demo/"),
        ("/x/../demo", "/demo"),
        ("/demo/x/..", "/demo/"),
        ("/%2e%2e/", None),
        ("/x/%2e%2e/demo", "/demo"),
        ("/x/%252e%252e/demo", "/demo"),
        ("/admin%2fx", "/admin/x"),
        ("/admin%5cx", "/admin/x"),
        ("/admin\\x", "/admin/x"),
        ("/demo./x", "/demo/x"),
        ("/demo. . /x", "/demo/x"),
        ("/x/.. /demo", "/demo"),
        ("/x/.../demo", "/demo"),
        ("/x/ /demo", "/x/demo"),
        ("/..", None),
        ("/demo/../..", None),
        ("/demo\x00", None),
        ("/demo%00", None),
        ("/demo\n", None),
        ("/demo\x7f", None),
        ("/%252541", "/A"),
        ("/%25252541", None),
        ("/%ff", None),
        ("/caf%C3%A9", "/café"),
        ("/%zz", "/%zz"),
    ],
)
def test_canonical_path(path, expected):
    assert canonical_path(path) == expected


def test_canonical_path_of_a_non_string_is_none():
    assert canonical_path(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("//admin/x", ADMIN),
        ("/./admin/x", ADMIN),
        ("/demo/../admin/x", ADMIN),
        ("/x/%2e%2e/admin/x", ADMIN),
        ("/admin%2fx", ADMIN),
        ("/admin%5cx", ADMIN),
        ("/admin\\x", ADMIN),
        ("/admin./x", ADMIN),
        ("/admin/..", ADMIN),
        ("/admin\x00/x", None),
        ("/demo%00", None),
        ("/demo./", DEMO),
        ("/demo.", DEMO),
        ("//demo", DEMO),
        ("/demo//x", DEMO),
        ("/x/.. /demo", DEMO),
        ("/x/%252e%252e/demo", DEMO),
        ("/%2e%2e/demo", None),
    ],
)
def test_escape_attempts_are_caught_and_flagged(index, path, key):
    match = index.match("example.com", path)
    if key is None:
        assert match is None
    else:
        assert (match.key, match.non_canonical) == (key, True)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/demo", DEMO),
        ("/demo/", DEMO),
        ("/demo/x", DEMO),
        ("/admin/", ADMIN),
        ("/admin/x/", ADMIN),
    ],
)
def test_canonical_paths_are_not_flagged(index, path, key):
    match = index.match("example.com", path)
    assert (match.key, match.non_canonical) == (key, False)


@pytest.mark.parametrize("path", ["/demonstration", "/admin", "/admin.html", "/x/../public"])
def test_paths_outside_every_pattern_are_not_touched(index, path):
    assert index.match("example.com", path) is None


# Paths built from segments a client may send to escape a pattern: dots, empty segments,
# backslashes, percent-encodings (once and twice), trailing dots and spaces, after a few plain
# segments so that most of them have a canonical form to check.

SEGMENTS = [
    "a",
    "b",
    "ab",
    ".",
    "..",
    "",
    "%2e",
    "%2e%2e",
    "%2f",
    "%5c",
    "a.",
    "a ",
    "%252e",
    "%41",
]
paths = st.builds(
    lambda lead, prefix, tail: lead + "/".join(prefix) + "".join(sep + seg for sep, seg in tail),
    st.sampled_from(["/", "/", "", "\\"]),
    st.lists(st.sampled_from(["a", "b", "demo", "admin"]), min_size=1, max_size=3),
    st.lists(
        st.tuples(st.sampled_from(["/", "/", "\\", "//"]), st.sampled_from(SEGMENTS)), max_size=5
    ),
)


@given_reaching(st.one_of(paths, paths, paths, st.text(max_size=30)))
def test_canonical_path_is_idempotent(path):
    canonical = canonical_path(path)
    if canonical is None:
        return
    reached("has a canonical form")
    assert canonical_path(canonical) == canonical


@given_reaching(paths)
def test_canonical_path_output_is_clean(path):
    canonical = canonical_path(path)
    if canonical is None:
        return
    reached("has a canonical form")
    event("changed" if canonical != path else "already canonical")
    assert canonical.startswith("/")
    assert "//" not in canonical
    assert "/./" not in canonical
    assert "/../" not in canonical
    assert not canonical.endswith(("/.", "/.."))
    assert "\\" not in canonical
    assert re.search("%[0-9A-Fa-f]{2}", canonical) is None
