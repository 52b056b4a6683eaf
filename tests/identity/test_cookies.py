"""The Access cookies: reading every value of a repeated cookie, and setting them right."""

from dataclasses import dataclass

import pytest
from django.http import HttpResponse
from hypothesis import given
from hypothesis import strategies as st

from identity.cookies import (
    CF_APP_SESSION,
    CF_AUTHORIZATION,
    CF_BINDING,
    clear_access_cookies,
    cookie_values,
    set_app_token_cookie,
    set_binding_cookie,
    set_org_cookie,
)


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


@given(st.text(max_size=500))
def test_any_header_is_read_without_error(header):
    values = cookie_values(header, CF_AUTHORIZATION)

    assert all(isinstance(value, str) and value for value in values)


# --- setting ------------------------------------------------------------------------------------


def _cookie(response, name=CF_AUTHORIZATION):
    return response.cookies[name]


@pytest.mark.parametrize(
    ("attribute", "expected"), [("none", "None"), ("lax", "Lax"), ("strict", "Strict")]
)
def test_app_cookie_uses_the_applications_same_site(attribute, expected):
    response = HttpResponse()

    set_app_token_cookie(response, token="t", application=App(attribute), secure=True, max_age=60)

    assert _cookie(response)["samesite"] == expected


def test_app_cookie_uses_the_applications_http_only():
    response = HttpResponse()

    set_app_token_cookie(
        response,
        token="t",
        application=App(http_only_cookie_attribute=False),
        secure=True,
        max_age=60,
    )

    assert _cookie(response)["httponly"] == ""


def test_app_cookie_attributes(settings):
    settings.DEBUG = True
    response = HttpResponse()

    set_app_token_cookie(response, token="tok", application=App(), secure=True, max_age=3600)

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

    set_app_token_cookie(response, token="t", application=App(), secure=False, max_age=60)

    assert _cookie(response)["secure"] == ""


def test_app_cookie_with_same_site_none_is_always_secure(settings):
    settings.DEBUG = True
    response = HttpResponse()

    set_app_token_cookie(response, token="t", application=App("none"), secure=False, max_age=60)

    assert _cookie(response)["secure"] is True


def test_every_cookie_is_secure_when_debug_is_off(settings):
    settings.DEBUG = False
    response = HttpResponse()

    set_app_token_cookie(response, token="t", application=App(), secure=False, max_age=60)

    assert _cookie(response)["secure"] is True


def test_org_cookie_is_http_only_lax(settings):
    settings.DEBUG = True
    response = HttpResponse()

    set_org_cookie(response, token="org", secure=True, max_age=86400)

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
        secure=True,
        max_age=60,
    )

    cookie = _cookie(response, CF_BINDING)
    assert (cookie.value, cookie["httponly"], cookie["samesite"]) == ("bind", True, "Strict")


def test_clear_expires_every_access_cookie(settings):
    settings.DEBUG = True
    response = HttpResponse()

    clear_access_cookies(response)

    for name in (CF_AUTHORIZATION, CF_BINDING, CF_APP_SESSION):
        cookie = _cookie(response, name)
        assert (cookie.value, cookie["max-age"], cookie["path"]) == ("", 0, "/")
