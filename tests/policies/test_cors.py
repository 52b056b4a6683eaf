"""CORS answers: origins, methods, headers, and the exact headers of a preflight answer."""

from dataclasses import dataclass

import pytest
from hypothesis import event, target
from hypothesis import strategies as st

from policies.cors import (
    PREFLIGHT_VARY,
    CorsPolicy,
    answer_preflight,
    cors_headers_errors,
    normalize_method,
    normalize_origin,
    origin_is_allowed,
    response_cors_headers,
)
from tests.properties import given_reaching, reached

APP = "https://app.example.com"


def cors(**data):
    data.setdefault("allowed_origins", [APP])
    data.setdefault("allowed_methods", ["GET", "POST"])
    return CorsPolicy.from_data(data)


def preflight(policy, origin=APP, method="GET", headers=None):
    return answer_preflight(policy, origin=origin, request_method=method, request_headers=headers)


# --- origins ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("HTTPS://App.Example.COM", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("http://app.example.com:80", "http://app.example.com"),
        ("http://app.example.com:443", "http://app.example.com:443"),
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("http://[0:0::1]", "http://[::1]"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://cla\u00df.example", "https://xn--cla-7ka.example"),
        ("capacitor://localhost", "capacitor://localhost"),
        ("null", "null"),
    ],
)
def test_normalize_origin(value, expected):
    assert normalize_origin(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "app.example.com",
        "https://",
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://app.example.com?x",
        "https://app.example.com#x",
        "https://user@app.example.com",
        "https://app.example.com:",
        "https://app.example.com:99999",
        "https://app.example.com:https",
        "https://app..example.com",
        "https://[::1",
        "https://[::1]x",
        "https://[nothex]",
        "https://app.example.com\r\nX-Evil: 1",
        "1http://app.example.com",
        "Null",
        None,
    ],
)
def test_normalize_origin_refuses_what_is_not_an_origin(value):
    assert normalize_origin(value) is None


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://app.example.com", True),
        ("https://APP.example.com", True),
        ("https://app.example.com:443", True),
        ("http://app.example.com", False),
        ("https://app.example.com:8443", False),
        ("https://evil-app.example.com", False),
        ("https://app.example.com.evil.net", False),
        ("null", False),
        ("not an origin", False),
        (None, False),
    ],
)
def test_origin_is_allowed_compares_scheme_host_and_port(origin, expected):
    assert origin_is_allowed(cors(), origin) is expected


def test_listed_default_port_matches_the_origin_without_it():
    assert origin_is_allowed(cors(allowed_origins=["https://app.example.com:443"]), APP) is True


def test_null_origin_is_allowed_when_listed():
    assert origin_is_allowed(cors(allowed_origins=["null"]), "null") is True


def test_all_origins_allows_null_and_any_origin():
    policy = cors(allowed_origins=[], allow_all_origins=True)
    assert origin_is_allowed(policy, "null") is True
    assert origin_is_allowed(policy, "https://anywhere.example") is True


def test_star_in_allowed_origins_means_all():
    policy = cors(allowed_origins=["*"])
    assert policy.allow_all_origins is True
    assert origin_is_allowed(policy, "https://anywhere.example") is True


def test_all_origins_never_allows_an_unparseable_origin():
    assert origin_is_allowed(cors(allow_all_origins=True), "https://a.example/path") is False


# --- methods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("get", "GET"),
        ("Post", "POST"),
        ("delete", "DELETE"),
        ("PATCH", "PATCH"),
        ("patch", "patch"),
        ("MKCOL", "MKCOL"),
    ],
)
def test_normalize_method_upper_cases_only_the_six_fetch_methods(value, expected):
    assert normalize_method(value) == expected


@pytest.mark.parametrize("value", ["", "GE T", "GET,POST", "G\u00e9T", None])
def test_normalize_method_refuses_non_tokens(value):
    assert normalize_method(value) is None


def test_lower_case_get_is_the_allowed_get():
    assert preflight(cors(), method="get").allowed is True


def test_lower_case_patch_is_not_patch():
    answer = preflight(cors(allowed_methods=["PATCH"]), method="patch")
    assert (answer.allowed, answer.headers, answer.reason) == (False, (), "method not allowed")


def test_unlisted_method_is_refused():
    assert preflight(cors(), method="DELETE").reason == "method not allowed"


@pytest.mark.parametrize("method", ["", None, "GE T"])
def test_empty_or_malformed_method_is_refused(method):
    answer = preflight(cors(allow_all_methods=True), method=method)
    assert (answer.allowed, answer.headers, answer.reason) == (False, (), "method not allowed")


def test_all_methods_allows_any_token_method():
    assert (
        preflight(cors(allowed_methods=[], allow_all_methods=True), method="PROPFIND").allowed
        is True
    )


# --- headers ------------------------------------------------------------------------------------


def test_requested_headers_are_compared_case_insensitively():
    answer = preflight(
        cors(allowed_headers=["X-Token", "Content-Type"]), headers="content-type,x-token"
    )
    assert answer.allowed is True


def test_requested_headers_are_trimmed_and_empty_items_ignored():
    answer = preflight(cors(allowed_headers=["x-token"]), headers=" ,X-Token , ,")
    assert dict(answer.headers)["Access-Control-Allow-Headers"] == "X-Token"


def test_an_unlisted_header_is_refused_by_name():
    answer = preflight(cors(allowed_headers=["x-token"]), headers="x-token, X-Foo")
    assert (answer.allowed, answer.headers, answer.reason) == (
        False,
        (),
        "header x-foo not allowed",
    )


def test_a_malformed_header_name_is_refused():
    answer = preflight(cors(allow_all_headers=True), headers="x-token, bad header")
    assert (answer.allowed, answer.headers) == (False, ())


def test_all_headers_allows_any_header():
    assert preflight(cors(allow_all_headers=True), headers="x-anything, x-else").allowed is True


def test_star_in_allowed_headers_means_all():
    policy = cors(allowed_headers=["*"])
    assert policy.allow_all_headers is True
    assert preflight(policy, headers="x-anything").allowed is True


# --- the answer ---------------------------------------------------------------------------------


def test_allowed_preflight_headers_in_order():
    policy = cors(allowed_headers=["x-token", "content-type"], allow_credentials=True, max_age=600)
    answer = preflight(
        policy, origin="https://APP.example.com", method="POST", headers="X-Token,Content-Type"
    )
    assert answer.allowed is True
    assert answer.headers == (
        ("Access-Control-Allow-Origin", "https://app.example.com"),
        ("Access-Control-Allow-Methods", "POST"),
        ("Access-Control-Allow-Headers", "X-Token, Content-Type"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Max-Age", "600"),
    )


def test_the_documented_access_example():
    policy = cors(
        allowed_methods=["GET", "OPTIONS"], allowed_headers=["office"], allow_credentials=True
    )
    answer = preflight(policy, origin=APP, method="GET")
    assert answer.headers == (
        ("Access-Control-Allow-Origin", APP),
        ("Access-Control-Allow-Methods", "GET"),
        ("Access-Control-Allow-Credentials", "true"),
    )


def test_all_origins_echoes_the_origin_never_star():
    answer = preflight(cors(allow_all_origins=True), origin="https://anywhere.example")
    assert dict(answer.headers)["Access-Control-Allow-Origin"] == "https://anywhere.example"


def test_max_age_zero_is_sent():
    assert dict(preflight(cors(max_age=0)).headers)["Access-Control-Max-Age"] == "0"


def test_no_optional_headers_when_not_configured():
    assert [name for name, _ in preflight(cors()).headers] == [
        "Access-Control-Allow-Origin",
        "Access-Control-Allow-Methods",
    ]


def test_refused_origin_gets_no_headers():
    answer = preflight(cors(), origin="https://evil.example")
    assert (answer.allowed, answer.headers, answer.reason) == (False, (), "origin not allowed")


def test_missing_origin_is_refused():
    assert preflight(cors(), origin=None).reason == "origin not allowed"


def test_preflight_vary_names_the_three_request_headers():
    assert PREFLIGHT_VARY == (
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
    )


# --- actual responses ---------------------------------------------------------------------------


def test_response_headers_echo_an_allowed_origin_with_credentials():
    assert response_cors_headers(cors(allow_credentials=True), APP) == (
        ("Access-Control-Allow-Origin", APP),
        ("Access-Control-Allow-Credentials", "true"),
    )


def test_response_headers_without_credentials():
    assert response_cors_headers(cors(), APP) == (("Access-Control-Allow-Origin", APP),)


@pytest.mark.parametrize("origin", ["https://evil.example", None, "null"])
def test_response_headers_are_empty_for_a_refused_origin(origin):
    assert response_cors_headers(cors(), origin) == ()


# --- from_data ----------------------------------------------------------------------------------


def test_from_data_normalizes_every_field():
    policy = CorsPolicy.from_data(
        {
            "allowed_origins": ["HTTPS://App.Example.com:443", "null"],
            "allowed_methods": ["GET", "PATCH"],
            "allowed_headers": ["X-Token"],
            "allow_credentials": True,
            "max_age": 60,
        }
    )
    assert policy == CorsPolicy(
        allowed_origins=frozenset({APP, "null"}),
        allowed_methods=frozenset({"GET", "PATCH"}),
        allowed_headers=frozenset({"x-token"}),
        allow_credentials=True,
        max_age=60,
    )


def test_a_star_in_the_lists_means_all():
    policy = CorsPolicy.from_data(
        {"allowed_origins": ["*", APP], "allowed_methods": ["GET"], "allowed_headers": ["*"]}
    )
    assert policy == CorsPolicy(
        allowed_origins=frozenset({APP}),
        allow_all_origins=True,
        allowed_methods=frozenset({"GET"}),
        allow_all_headers=True,
    )


METHODS = "must be one of GET, POST, HEAD, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH"
CREDENTIALS = "credentials cannot be allowed for all origins; list the origins instead"
NOTHING = "allow at least one origin and one method, or leave cors_headers empty"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ([], {"__all__": ["must be an object with allowed_origins, allowed_methods, ..."]}),
        ({}, {"__all__": [NOTHING]}),
        (
            {"allowed_origins": "https://a.example", "allowed_methods": ["GET"]},
            {"allowed_origins": ["must be a list", "set allowed_origins or allow_all_origins"]},
        ),
        (
            {"allowed_origins": [APP], "allowed_methods": [1, "GE T"]},
            {"allowed_methods[0]": ["must be text"], "allowed_methods[1]": [METHODS]},
        ),
        # A lower-case method: browsers send "get" as GET, but the stored list is Access's
        # upper-case names, refused alike by validation and the compiler.
        ({"allowed_origins": [APP], "allowed_methods": ["get"]}, {"allowed_methods[0]": [METHODS]}),
        (
            {"allowed_origins": [7, "https://a.example/path"], "allowed_methods": ["GET"]},
            {
                "allowed_origins[0]": ["must be text"],
                "allowed_origins[1]": [
                    '"https://a.example/path" is not an origin: write scheme and host, like '
                    "https://app.example.com"
                ],
            },
        ),
        (
            {"allow_all_origins": "yes", "allow_all_methods": True},
            {
                "allow_all_origins": ["must be true or false"],
                "allowed_origins": ["set allowed_origins or allow_all_origins"],
            },
        ),
        (
            {"allowed_origins": [APP], "allowed_methods": ["GET"], "allowed_headers": ["a b"]},
            {"allowed_headers[0]": ['"a b" is not a header name']},
        ),
        (
            {"allowed_origins": [APP], "allowed_methods": ["GET"], "max_age": "60"},
            {"max_age": ["must be a whole number"]},
        ),
        (
            {"allowed_origins": [APP], "allowed_methods": ["GET"], "max_age": True},
            {"max_age": ["must be a whole number"]},
        ),
        (
            {"allowed_origins": [APP], "allowed_methods": ["GET"], "max_age": 86401},
            {"max_age": ["must be between -1 and 86400"]},
        ),
        (
            {"allowed_origins": [APP], "allowed_methods": ["GET"], "origins": [APP]},
            {
                "origins": [
                    "unknown field; expected one of allow_all_headers, allow_all_methods, "
                    "allow_all_origins, allow_credentials, allowed_headers, allowed_methods, "
                    "allowed_origins, max_age"
                ]
            },
        ),
        (
            {"allow_all_origins": True, "allow_all_methods": True, "allow_credentials": True},
            {"allow_credentials": [CREDENTIALS]},
        ),
        (
            {"allowed_origins": ["*"], "allowed_methods": ["GET"], "allow_credentials": True},
            {"allow_credentials": [CREDENTIALS]},
        ),
    ],
)
def test_validation_and_the_compiler_refuse_the_same_objects_with_the_same_errors(data, errors):
    assert cors_headers_errors(data) == errors
    expected = "; ".join(
        f"{'cors_headers' if path == '__all__' else 'cors_headers.' + path}: {message}"
        for path, messages in errors.items()
        for message in messages
    )
    with pytest.raises(ValueError) as refused:
        CorsPolicy.from_data(data)
    assert str(refused.value) == expected


# --- properties ---------------------------------------------------------------------------------
#
# Origins are generated from their parts (scheme, host, port) and spelled as a browser or an
# administrator might (scheme and host case, an explicit default port). Two origins are the same
# exactly when their parts are: the expectations below compare parts, never strings.

DEFAULT_PORTS = {"http": 80, "https": 443}
LABELS = ["app", "api", "example", "other", "a-b", "xn--bcher-kva", "x1"]


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int | None

    @property
    def parts(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port or DEFAULT_PORTS[self.scheme])


hosts = st.one_of(
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=3).map(
        lambda labels: ".".join([*labels, "test"])
    ),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda address: f"[{address.compressed}]"),
)
origin_parts = st.builds(
    Origin,
    scheme=st.sampled_from(["https", "http"]),
    host=hosts,
    port=st.one_of(st.none(), st.integers(1, 65535)),
)


def spelled(origin: Origin, data: st.DataObject) -> str:
    """`origin` as a client may write it: any case, the default port written out or not."""
    scheme = data.draw(st.sampled_from([origin.scheme, origin.scheme.upper()]))
    host = data.draw(st.sampled_from([origin.host, origin.host.upper()]))
    port = origin.port
    if port is None and data.draw(st.booleans()):
        port = DEFAULT_PORTS[origin.scheme]
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def one_part_changed(origin: Origin, data: st.DataObject) -> Origin:
    part = data.draw(st.sampled_from(["scheme", "host", "port"]))
    if part == "scheme":
        scheme = "http" if origin.scheme == "https" else "https"
        return Origin(scheme, origin.host, origin.port)
    if part == "host":
        return Origin(
            origin.scheme, data.draw(hosts.filter(lambda h: h != origin.host)), origin.port
        )
    effective = origin.parts[2]
    return Origin(
        origin.scheme,
        origin.host,
        data.draw(st.integers(1, 65535).filter(lambda p: p != effective)),
    )


# Shapes that are not a serialized origin, whatever the parts: each is refused.
NOT_AN_ORIGIN = [
    lambda text: text + "/",
    lambda text: text + "/path",
    lambda text: text + "?q",
    lambda text: text + "#f",
    lambda text: text.replace("://", "://user@"),
    lambda text: " " + text,
    lambda text: text + "\n",
    lambda text: text.replace("://", ":/"),
]


@given_reaching(st.lists(origin_parts, min_size=1, max_size=3), st.data())
def test_an_origin_is_allowed_exactly_when_its_parts_are_listed(listed, data):
    policy = CorsPolicy.from_data(
        {
            "allowed_origins": [spelled(origin, data) for origin in listed],
            "allowed_methods": ["GET"],
        }
    )
    kind = data.draw(st.sampled_from(["listed", "one part changed", "not an origin"]))
    chosen = data.draw(st.sampled_from(listed))
    origin = chosen if kind == "listed" else one_part_changed(chosen, data)
    text = spelled(origin, data)
    if kind == "not an origin":
        text = data.draw(st.sampled_from(NOT_AN_ORIGIN))(text)
        expected = False
    else:
        expected = origin.parts in {listed_origin.parts for listed_origin in listed}
    event(f"{kind}: {'allowed' if expected else 'refused'}")
    reached("compared")

    assert origin_is_allowed(policy, text) is expected
    assert bool(response_cors_headers(policy, text)) is expected


@given_reaching(origin_parts, st.data())
def test_a_spelled_origin_normalizes_to_its_parts_and_stays_there(origin, data):
    normalized = normalize_origin(spelled(origin, data))
    reached("normalized")

    scheme, host, port = origin.parts
    default = port == DEFAULT_PORTS[scheme]
    assert normalized == f"{scheme}://{host.lower()}" + ("" if default else f":{port}")
    assert normalized is not None
    assert normalize_origin(normalized) == normalized


METHODS = st.one_of(
    st.sampled_from(["GET", "get", "PATCH", "PROPFIND"]),
    st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True),
)
HEADER_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}", fullmatch=True)
HEADER_LISTS = st.lists(HEADER_NAMES, max_size=4).map(", ".join)


@given_reaching(origin_parts, METHODS, HEADER_LISTS, st.data())
def test_an_allowed_preflight_answer_echoes_what_was_asked_and_nothing_else(
    origin, method, headers, data
):
    policy = cors(
        allowed_origins=[], allow_all_origins=True, allow_all_methods=True, allow_all_headers=True
    )
    text = spelled(origin, data)
    answer = preflight(policy, origin=text, method=method, headers=headers)
    if not answer.allowed:
        assert answer.headers == ()
        return
    reached("allowed")
    target(float(len(headers)), label="requested header list length")

    sent = dict(answer.headers)
    # The origin in its one spelling, never the request's other one, never "*".
    assert sent["Access-Control-Allow-Origin"] == normalize_origin(text)
    assert sent["Access-Control-Allow-Methods"] == normalize_method(method)
    assert sent.get("Access-Control-Allow-Headers", "") == headers
    for _name, value in answer.headers:
        assert "\r" not in value
        assert "\n" not in value


@given_reaching(origin_parts, st.data(), st.sampled_from(NOT_AN_ORIGIN))
def test_a_preflight_from_what_is_not_an_origin_gets_no_header_at_all(origin, data, mangle):
    policy = cors(
        allowed_origins=[], allow_all_origins=True, allow_all_methods=True, allow_all_headers=True
    )
    text = mangle(spelled(origin, data))
    reached("refused")

    answer = preflight(policy, origin=text, method="GET")

    assert (answer.allowed, answer.headers) == (False, ())


# --- every reason a preflight answer gives, exactly ---------------------------------------------


@pytest.mark.parametrize(
    ("origin", "method", "headers", "reason"),
    [
        (APP, "GET", None, "preflight allowed"),
        (APP, "post", "X-Trace", "header x-trace not allowed"),
        (None, "GET", None, "origin not allowed"),
        ("https://evil.example.com", "GET", None, "origin not allowed"),
        (APP, None, None, "method not allowed"),
        (APP, "", None, "method not allowed"),
        (APP, "DELETE", None, "method not allowed"),
        (APP, "GET", "X-Ok, bad header", "malformed Access-Control-Request-Headers"),
        (APP, "GET", "(x)", "malformed Access-Control-Request-Headers"),
        # Only spaces and tabs are trimmed around a name: a form feed is part of it.
        (APP, "GET", "X-Ok,\x0cX-Ok", "malformed Access-Control-Request-Headers"),
    ],
)
def test_each_preflight_answer_gives_its_reason(origin, method, headers, reason):
    answer = preflight(cors(), origin=origin, method=method, headers=headers)
    assert answer.reason == reason
    assert answer.allowed is (reason == "preflight allowed")
    if not answer.allowed:
        assert answer.headers == ()
