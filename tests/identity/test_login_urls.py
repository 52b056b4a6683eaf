"""The login URL the gate sends a browser to, and the state that binds the flow to it."""

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from identity.login_urls import (
    authorized_url,
    build_login_url,
    login_host_for,
    logout_url,
    new_app_session_state,
    state_hash_for,
)

AUD = "a" * 64


@dataclass
class App:
    aud: str = AUD


def test_state_is_a_random_url_safe_value_and_its_sha256():
    value, state_hash = new_app_session_state()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
    assert state_hash == hashlib.sha256(value.encode()).hexdigest()


def test_each_state_is_new():
    assert new_app_session_state()[0] != new_app_session_state()[0]


def test_state_hash_for_is_sha256_hex():
    assert state_hash_for("abc") == hashlib.sha256(b"abc").hexdigest()


def test_login_url_without_team_domain_stays_on_the_application_host(settings):
    settings.ACCESS_TEAM_DOMAIN = ""
    url = build_login_url(
        application=App(),
        app_host="app.localhost:8000",
        scheme="http",
        redirect_url="/demo/a b?x=1&y=2",
        state_hash="f" * 64,
    )
    assert url == (
        "http://app.localhost:8000/cdn-cgi/access/login/app.localhost:8000"
        f"?kid={AUD}&redirect_url=%2Fdemo%2Fa+b%3Fx%3D1%26y%3D2&state={'f' * 64}"
    )


def test_login_url_with_team_domain_goes_to_the_login_host(settings):
    settings.ACCESS_TEAM_DOMAIN = "access.example.com"
    url = build_login_url(
        application=App(),
        app_host="app.example.com",
        scheme="https",
        redirect_url="/",
        state_hash="0" * 64,
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "access.example.com",
        "/cdn-cgi/access/login/app.example.com",
    )
    assert parse_qs(parts.query) == {"kid": [AUD], "redirect_url": ["/"], "state": ["0" * 64]}


def test_login_page_url_for_scripts_carries_no_state(settings):
    settings.ACCESS_TEAM_DOMAIN = "access.example.com"

    url = build_login_url(
        application=App(),
        app_host="app.example.com",
        scheme="https",
        redirect_url="/x",
        state_hash=None,
    )

    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == (
        "access.example.com",
        "/cdn-cgi/access/login/app.example.com",
    )
    assert parse_qs(parts.query) == {"kid": [AUD], "redirect_url": ["/x"]}


def test_login_host_is_lowercased_application_host_without_team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = ""
    assert login_host_for("App.Example.com:8443") == "app.example.com:8443"


def test_authorized_url_encodes_the_code():
    assert authorized_url(scheme="https", app_host="app.example.com", code="a+b/c") == (
        "https://app.example.com/cdn-cgi/access/authorized?code=a%2Bb%2Fc"
    )


def test_logout_url():
    assert logout_url(scheme="https", host="access.example.com") == (
        "https://access.example.com/cdn-cgi/access/logout"
    )
