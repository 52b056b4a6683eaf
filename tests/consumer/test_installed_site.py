"""A second Django project, the shop, protects its own view with accessproject installed from
the wheel: the system checks, the sign-in, and what its view receives."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.consumer.conftest import ADA, MALLORY, ORDERS_APPLICATION, SHOP_HOST, Shop
from tests.httpbrowser import HttpBrowser

PACKAGES = ("accessproject", "common", "policies", "identity")


def test_the_shop_imports_accessproject_from_its_wheel(shop_files: Shop):
    files = f"{{name: importlib.import_module(name).__file__ for name in {PACKAGES!r}}}"
    script = (
        "import json, importlib, importlib.metadata; "
        f"print(json.dumps({files})); "
        "print(importlib.metadata.version('accessproject'))"
    )
    result = shop_files.manage("shell", "-c", script)

    assert result.returncode == 0, result.stderr
    files_line, version = result.stdout.strip().splitlines()[-2:]
    site_packages = str(shop_files.package.site_packages())
    assert all(path.startswith(site_packages) for path in json.loads(files_line).values())
    assert version == "0.1.0"
    # Templates and migrations come with it.
    installed = shop_files.package.site_packages()
    assert (installed / "identity" / "templates" / "identity" / "login.html").is_file()
    assert (installed / "identity" / "migrations" / "0001_initial.py").is_file()


def test_the_documented_settings_pass_the_system_checks(shop_files: Shop):
    result = shop_files.manage("check", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("mistake", "check_ids"),
    [
        ("gate-after-authentication", ["identity.E004"]),
        # The optional user middleware then reads a request.access nobody sets.
        ("no-gate", ["identity.E003", "identity.E006"]),
        ("no-access-urls", ["identity.E005"]),
    ],
)
def test_a_misinstalled_gate_fails_the_system_checks(shop_files: Shop, mistake, check_ids):
    result = shop_files.manage("check", extra_env={"SHOP_MISTAKE": mistake})

    assert result.returncode != 0
    assert re.findall(r"\((identity\.[EW]\d+)\)", result.stderr) == check_ids


def test_the_shop_home_is_not_protected(shop: Shop):
    response = HttpBrowser().request("GET", shop.url("/"))

    assert response.status == 200
    assert response.body == b"Welcome to the shop.\n"


def test_the_orders_send_a_stranger_to_the_login_page(shop: Shop):
    response = HttpBrowser().request("GET", shop.url("/orders/"))

    assert response.status == 302
    assert response.header("Cache-Control") == "no-store"
    location = urlsplit(response.header("Location") or "")
    assert (location.hostname, location.port) == (SHOP_HOST, shop.port)
    assert location.path == f"/cdn-cgi/access/login/{SHOP_HOST}:{shop.port}"
    assert parse_qs(location.query)["redirect_url"] == ["/orders/"]


def _sign_in(shop: Shop, person: tuple[str, str, str]) -> tuple[HttpBrowser, object]:
    browser = HttpBrowser()
    login = browser.navigate(shop.url("/orders/?page=2"))
    assert login.status == 200, login.text
    assert urlsplit(login.url).path.startswith("/cdn-cgi/access/login/")
    username, _email, password = person
    landed = browser.submit(login, {"username": username, "password": password}, step="password")
    return browser, landed


def test_signing_in_reaches_the_shop_view_with_request_access(shop: Shop):
    browser, landed = _sign_in(shop, ADA)

    assert landed.status == 200, landed.text
    assert landed.url == shop.url("/orders/?page=2")
    body = json.loads(landed.body)
    assert body["view"] == "orders"
    assert body["access"]["application"] == ORDERS_APPLICATION
    assert body["access"]["email"] == ADA[1]
    assert body["access"]["policy"] == "People at example.com"
    assert body["email_header"] == ADA[1]
    assert body["assertion_header"] == browser.jars[SHOP_HOST]["CF_Authorization"]
    # The optional backend: the person is the shop's own Django user.
    assert body["user"] == ADA[0]
    assert landed.header("Cache-Control") == "private"


def test_a_client_cannot_send_its_own_identity_headers(shop: Shop):
    browser, _landed = _sign_in(shop, ADA)

    response = browser.request(
        "GET",
        shop.url("/orders/"),
        headers={"Cf-Access-Authenticated-User-Email": "boss@example.com"},
    )

    assert json.loads(response.body)["email_header"] == ADA[1]


def test_a_person_the_policy_refuses_gets_the_deny_page(shop: Shop):
    _browser, landed = _sign_in(shop, MALLORY)

    assert landed.status == 403
    assert "That account does not have access." in landed.text
    assert "Protected by accessproject" in landed.text  # the page layout, from the wheel
