"""Chromium signs in through each proxy and lands on the service's page (a real browser: its
cookies, redirects and fetch metadata, not the suite's HTTP client)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.flows import submit_password
from tests.proxies.conftest import ADA, LOGIN_HOST, MALLORY, SERVICE_HOST, Deployment

pytestmark = pytest.mark.browser


def _login_url(deployment: Deployment) -> re.Pattern[str]:
    return re.compile(re.escape(deployment.url("/cdn-cgi/access/login/", host=LOGIN_HOST)))


def test_chromium_signs_in_through_the_proxy_and_lands_on_the_service(
    page: Page, deployment: Deployment
):
    url = deployment.url(f"/pages/{uuid.uuid4().hex}?tab=1")

    page.goto(url)
    expect(page).to_have_url(_login_url(deployment))
    submit_password(page, ADA)
    expect(page).to_have_url(url)

    body = json.loads(page.locator("body").inner_text())
    assert body["service"] == "wiki"
    headers = {name.lower(): value for name, value in body["headers"]}
    assert headers["cf-access-authenticated-user-email"] == ADA.email
    cookies = {c["name"]: c for c in page.context.cookies(deployment.url("/"))}
    assert headers["cf-access-jwt-assertion"] == cookies["CF_Authorization"]["value"]
    assert cookies["CF_Authorization"]["domain"] == SERVICE_HOST
    assert cookies["CF_Authorization"]["httpOnly"] is True


def test_chromium_shows_the_deny_page_to_a_person_the_policies_refuse(
    page: Page, deployment: Deployment
):
    path = f"/pages/{uuid.uuid4().hex}"

    page.goto(deployment.url(path))
    expect(page).to_have_url(_login_url(deployment))
    submit_password(page, MALLORY)

    expect(page.get_by_role("alert")).to_have_text("That account does not have access.")
    assert deployment.upstream.requests_to(path) == []
