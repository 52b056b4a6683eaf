"""The Access cookies: reading every value of a repeated cookie, and setting them right."""

from dataclasses import dataclass

import pytest
from django.http import HttpResponse
from hypothesis import event
from hypothesis import strategies as st

from identity.cookies import (
    CF_APP_SESSION,
    CF_AUTHORIZATION,
    CF_BINDING,
    clear_access_cookies,
    cookie_values,
    cookies_values,
    set_app_token_cookie,
    set_binding_cookie,
    set_org_cookie,
)
from tests.properties import given_reaching, reached


@dataclass
class App:
    same_site_cookie_attribute: str = "lax"
    http_only_cookie_attribute: bool = True


def test_cookie_names_are_cloudflares():
    assert (CF_AUTHORIZATION, CF_APP_SESSION, CF_BINDING) == (
        "CF_Authorization",
        "CF_AppSession",
        "CF_Binding",
    )


# --- reading ------------------------------------------------------------------------------------


def test_every_value_of_a_repeated_cookie_is_returned_in_order():
    header = "CF_Authorization=first; other=x; CF_Authorization=second"

    assert cookie_values(header, CF_AUTHORIZATION) == ["first", "second"]


def test_a_single_value_is_returned():
    assert cookie_values("CF_Authorization=abc.def.ghi", CF_AUTHORIZATION) == ["abc.def.ghi"]


def test_names_are_case_sensitive():
    assert cookie_values("cf_authorization=x", CF_AUTHORIZATION) == []


def test_name_that_only_starts_the_same_does_not_count():
    assert cookie_values("CF_AuthorizationX=x; XCF_Authorization=y", CF_AUTHORIZATION) == []


def test_whitespace_and_quotes_are_trimmed():
    header = '  CF_Authorization = "quoted" ;CF_Authorization=  plain  '

    assert cookie_values(header, CF_AUTHORIZATION) == ["quoted", "plain"]


def test_values_may_contain_equals_signs():
    assert cookie_values("CF_Authorization=a=b==", CF_AUTHORIZATION) == ["a=b=="]


@pytest.mark.parametrize(
    "header",
    ["", ";;;", "CF_Authorization", "CF_Authorization=", "=x", "CF_Authorization=;", "\x00"],
)
def test_malformed_headers_yield_nothing(header):
    assert cookie_values(header, CF_AUTHORIZATION) == []


def test_malformed_pairs_are_skipped_and_the_rest_read():
    header = "garbage; ;=; CF_Authorization=good; x"

    assert cookie_values(header, CF_AUTHORIZATION) == ["good"]


def test_absurdly_long_header_is_not_parsed():
    assert cookie_values("CF_Authorization=x; " + "a" * 70_000, CF_AUTHORIZATION) == []


# Cookie headers built from their parts: CF_Authorization pairs among other cookies, look-alike
# names and malformed pieces, joined as browsers and proxies do. The values expected back are
# the CF_Authorization values generated, in order.

TOKEN_VALUES = st.from_regex(r"[A-Za-z0-9_=-]{1,20}(\.[A-Za-z0-9_=-]{1,20}){0,2}", fullmatch=True)
OTHER_NAMES = st.sampled_from(
    ["cf_authorization", "CF_AuthorizationX", "XCF_Authorization", "CF_AppSession", "CF_Binding"]
)
OTHER_VALUES = st.from_regex(r"[A-Za-z0-9._=-]{0,12}", fullmatch=True)
JUNK = st.sampled_from(["", " ", "garbage", "=", "=x", "CF_Authorization", "CF_Authorization="])
SEPARATORS = st.sampled_from([";", "; ", " ; ", ";  "])


@st.composite
def cookie_headers(draw) -> tuple[str, list[str]]:
    """A `Cookie` header holding at least one CF_Authorization value, and those values."""
    wanted = draw(st.lists(TOKEN_VALUES, min_size=1, max_size=3))
    pieces: list[tuple[str, str | None]] = [(CF_AUTHORIZATION, value) for value in wanted]
    pieces += [
        (name, value)
        for name, value in draw(st.lists(st.tuples(OTHER_NAMES, OTHER_VALUES), max_size=4))
    ]
    pieces += [(junk, None) for junk in draw(st.lists(JUNK, max_size=2))]
    order = draw(st.permutations(range(len(pieces))))
    rendered = []
    for index in order:
        name, value = pieces[index]
        if value is None:
            rendered.append(name)
            continue
        quoted = f'"{value}"' if name == CF_AUTHORIZATION and draw(st.booleans()) else value
        padding = draw(st.sampled_from(["", " "]))
        rendered.append(f"{padding}{name}={padding}{quoted}")
    separators = [draw(SEPARATORS) for _ in rendered[1:]]
    header = rendered[0] + "".join(
        sep + piece for sep, piece in zip(separators, rendered[1:], strict=True)
    )
    expected = [
        pieces[index][1]
        for index in order
        if pieces[index][0] == CF_AUTHORIZATION and pieces[index][1] is not None
    ]
    return header, expected


@given_reaching(cookie_headers())
def test_every_cf_authorization_value_is_read_in_order(header_and_values):
    header, expected = header_and_values
    reached("cf_authorization present")
    event(f"{len(expected)} CF_Authorization value(s)")

    assert cookie_values(header, CF_AUTHORIZATION) == expected


# Random text around a real pair: text alone almost never holds `CF_Authorization=`, and a check
# over the values of a header that has none (`all([])`) passes whatever the reader does.
ANY_TEXT = st.text(max_size=200)


@given_reaching(ANY_TEXT, TOKEN_VALUES, ANY_TEXT, SEPARATORS)
def test_any_header_is_read_without_error(before, value, after, separator):
    header = f"{before}{separator}{CF_AUTHORIZATION}={value}{separator}{after}"

    values = cookie_values(header, CF_AUTHORIZATION)

    assert isinstance(values, list)
    assert all(isinstance(each, str) and each for each in values)
    if value in values:
        reached("the spliced value is read")


# --- setting ------------------------------------------------------------------------------------


def _cookie(response, name=CF_AUTHORIZATION):
    return response.cookies[name]


@pytest.mark.parametrize(
    ("attribute", "expected"), [("none", "None"), ("lax", "Lax"), ("strict", "Strict")]
)
def test_app_cookie_uses_the_applications_same_site(attribute, expected):
    response = HttpResponse()

    set_app_token_cookie(
        response, token="t", application=App(attribute), scheme="https", max_age=60
    )

    assert _cookie(response)["samesite"] == expected


def test_app_cookie_uses_the_applications_http_only():
    response = HttpResponse()

    set_app_token_cookie(
        response,
        token="t",
        application=App(http_only_cookie_attribute=False),
        scheme="https",
        max_age=60,
    )

    assert _cookie(response)["httponly"] == ""


def test_app_cookie_attributes(settings):
    settings.DEBUG = True
    response = HttpResponse()

    set_app_token_cookie(response, token="tok", application=App(), scheme="https", max_age=3600)

    cookie = _cookie(response)
    assert (cookie.value, cookie["max-age"], cookie["path"], cookie["domain"]) == (
        "tok",
        3600,
        "/",
        "",
    )
    assert (cookie["httponly"], cookie["secure"]) == (True, True)


def test_app_cookie_on_plain_http_in_debug_is_not_secure(settings):
    settings.DEBUG = True
    response = HttpResponse()

    set_app_token_cookie(response, token="t", application=App(), scheme="http", max_age=60)

    assert _cookie(response)["secure"] == ""


def test_app_cookie_with_same_site_none_is_always_secure(settings):
    settings.DEBUG = True
    response = HttpResponse()

    set_app_token_cookie(response, token="t", application=App("none"), scheme="http", max_age=60)

    assert _cookie(response)["secure"] is True


def test_every_cookie_is_secure_when_debug_is_off(settings):
    settings.DEBUG = False
    response = HttpResponse()

    set_app_token_cookie(response, token="t", application=App(), scheme="http", max_age=60)

    assert _cookie(response)["secure"] is True


def test_org_cookie_is_http_only_lax(settings):
    settings.DEBUG = True
    response = HttpResponse()

    set_org_cookie(response, token="org", scheme="https", max_age=86400)

    cookie = _cookie(response)
    assert (cookie.value, cookie["httponly"], cookie["samesite"], cookie["secure"]) == (
        "org",
        True,
        "Lax",
        True,
    )
    assert (cookie["max-age"], cookie["path"]) == (86400, "/")


def test_binding_cookie_is_http_only_with_the_applications_same_site(settings):
    settings.DEBUG = True
    response = HttpResponse()

    set_binding_cookie(
        response,
        value="bind",
        application=App("strict", http_only_cookie_attribute=False),
        scheme="https",
        max_age=60,
    )

    cookie = _cookie(response, CF_BINDING)
    assert (cookie.value, cookie["httponly"], cookie["samesite"]) == ("bind", True, "Strict")
    assert (cookie["max-age"], cookie["path"], cookie["secure"]) == (60, "/", True)


def test_binding_cookie_over_http_in_debug_is_not_secure(settings):
    settings.DEBUG = True
    response = HttpResponse()

    set_binding_cookie(response, value="bind", application=App(), scheme="http", max_age=60)

    assert _cookie(response, CF_BINDING)["secure"] == ""


def test_clear_expires_every_access_cookie(settings):
    settings.DEBUG = True
    response = HttpResponse()

    clear_access_cookies(response, scheme="http")

    for name in (CF_AUTHORIZATION, CF_BINDING, CF_APP_SESSION):
        cookie = _cookie(response, name)
        assert (cookie.value, cookie["max-age"], cookie["path"]) == ("", 0, "/")
        # over plain HTTP in DEBUG (the default), a Secure cookie would not reach the browser
        assert cookie["secure"] == ""


def test_clear_over_https_expires_secure_cookies(settings):
    settings.DEBUG = True
    response = HttpResponse()

    clear_access_cookies(response, scheme="https")

    for name in (CF_AUTHORIZATION, CF_BINDING, CF_APP_SESSION):
        assert _cookie(response, name)["secure"] is True


def test_both_gate_cookies_are_read_in_one_pass_each_in_the_order_sent():
    header = 'CF_Binding=b1; CF_Authorization=t1; x=y; CF_Authorization="t2"; =z; CF_Binding'

    assert cookies_values(header, (CF_AUTHORIZATION, CF_BINDING)) == (["t1", "t2"], ["b1"])
    assert cookies_values("", (CF_AUTHORIZATION, CF_BINDING)) == ([], [])
    assert cookies_values("CF_Authorization=x; " + "a" * 70_000, (CF_AUTHORIZATION,)) == ([],)
