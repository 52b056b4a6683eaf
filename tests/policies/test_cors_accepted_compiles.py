"""Every `cors_headers` object validation accepts compiles into the snapshot.

Validation (`cors_headers_errors`) guards every way in (admin, API, configuration file) and the
compiler (`CorsPolicy.from_data`) builds what the gate enforces. A stored object the compiler
refused would leave the snapshot unbuildable and every gated request answering 503, so what
one accepts the other must compile. The objects are built from the fields' structure: origins
from scheme, host and port (and the spellings around them), methods in and out of the list,
header names and non-names, flags, and max_age on and past its bounds.
"""

from __future__ import annotations

from typing import TypeVar

from hypothesis import settings
from hypothesis import strategies as st

from policies.cors import CORS_METHODS, MAX_AGE_RANGE, CorsPolicy, cors_headers_errors
from tests.properties import given_reaching, reached

T = TypeVar("T")


def _mostly(good: st.SearchStrategy[T], bad: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """`good` nineteen times in twenty, `bad` otherwise: most objects pass validation and reach the
    compiler, the rest probe the spellings either side of the line."""
    return st.integers(0, 19).flatmap(lambda draw: bad if draw == 0 else good)


_hosts = st.sampled_from(
    [
        "app.example.com",
        "APP.Example.com",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "xn--bcher-kva.example",
    ]
)
_good_origins = st.one_of(
    st.builds(
        lambda scheme, host, port: f"{scheme}://{host}{port}",
        st.sampled_from(["https", "http", "HTTPS"]),
        _hosts,
        st.sampled_from(["", ":443", ":8443"]),
    ),
    st.sampled_from(["*", "null"]),
)
_bad_origins = st.sampled_from(
    ["https://app.example.com/", " https://app.example.com", "", "https://a.example.com:99999"]
)
_origins = _mostly(_good_origins, _bad_origins)
_good_methods = st.sampled_from(CORS_METHODS)
_methods = _mostly(_good_methods, st.sampled_from(["get", "*", "BREW", "GET ", ""]))
_good_headers = st.sampled_from(["Content-Type", "x-requested-with", "Authorization", "*"])
_headers = _mostly(_good_headers, st.sampled_from(["a b", "x:y"]))
_low, _high = MAX_AGE_RANGE
_cors = st.fixed_dictionaries(
    {
        "allowed_origins": st.lists(_origins, min_size=1, max_size=2),
        "allowed_methods": st.lists(_methods, min_size=1, max_size=2),
    },
    optional={
        "allow_all_origins": st.booleans(),
        "allow_all_methods": st.booleans(),
        "allowed_headers": st.lists(_headers, max_size=2),
        "allow_all_headers": st.booleans(),
        "allow_credentials": st.booleans(),
        "max_age": _mostly(
            st.sampled_from([_low, 0, 600, _high]), st.sampled_from([_low - 1, _high + 1])
        ),
    },
)


@given_reaching(data=_cors, minimum=0.3)
@settings(max_examples=300, deadline=None)
def test_every_cors_object_validation_accepts_compiles(data):
    if cors_headers_errors(data):
        return
    reached("accepted by validation")
    policy = CorsPolicy.from_data(data)
    assert policy.allow_all_origins or policy.allowed_origins
    assert policy.allow_all_methods or policy.allowed_methods
