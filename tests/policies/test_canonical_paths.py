"""Canonical paths: a request cannot reach a protected view while escaping its pattern."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.matching import ApplicationIndex, canonical_path, compile_pattern

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


@given(st.text())
def test_canonical_path_is_idempotent(path):
    canonical = canonical_path(path)
    if canonical is not None:
        assert canonical_path(canonical) == canonical


@given(st.text(alphabet="/\\.%25aef2c %0x", max_size=30))
def test_canonical_path_output_is_clean(path):
    canonical = canonical_path(path)
    if canonical is None:
        return
    assert canonical.startswith("/")
    assert "//" not in canonical
    assert "/./" not in canonical
    assert "/../" not in canonical
    assert not canonical.endswith(("/.", "/.."))
    assert "\\" not in canonical
    assert re.search("%[0-9A-Fa-f]{2}", canonical) is None
