"""A real OpenID Provider for the tests: the npm package `oidc-provider`, on loopback.

`oidc_provider_dir()` installs the pinned version from the npm registry into the tests' cache
folder (`tests.npm.installed_npm_package`), once per version.
`OpenIdProvider` starts `op.mjs` there with the clients and users a test gives, reads the
issuer it prints, drives its own sign-in pages the way a person's browser would (`sign_in`),
switches how it misbehaves (`misbehave`) and stops it.

Without node or npm the tests skip, except where they are required (`CI` or
`ACCESS_REQUIRE_OIDC_PROVIDER=1`): there they fail, so a CI run cannot pass without them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from html import unescape
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from tests.npm import installed_npm_package

OIDC_PROVIDER_VERSION = "9.13.3"
SCRIPT = Path(__file__).with_name("op.mjs")
START_TIMEOUT = 30


def required() -> bool:
    """Whether a missing OpenID Provider fails the run instead of skipping."""
    return bool(os.environ.get("CI")) or os.environ.get("ACCESS_REQUIRE_OIDC_PROVIDER") == "1"


def unavailable(reason: str) -> NoReturn:
    if required():
        pytest.fail(f"the OpenID Provider cannot run: {reason}", pytrace=False)
    pytest.skip(f"the OpenID Provider cannot run: {reason}")


def oidc_provider_dir() -> Path:
    """A directory whose node_modules holds oidc-provider (installed there once)."""
    directory = installed_npm_package(
        "oidc-provider",
        OIDC_PROVIDER_VERSION,
        unavailable=unavailable,
        package_fields={"type": "module"},
    )
    # ES modules resolve imports next to the script: it runs from the cache directory.
    shutil.copyfile(SCRIPT, directory / SCRIPT.name)
    return directory


class OpenIdProvider:
    """One running oidc-provider with the given clients and users."""

    def __init__(
        self,
        *,
        clients: list[Mapping[str, Any]],
        users: Mapping[str, Mapping[str, Any]],
        pkce_optional: bool = False,
    ) -> None:
        directory = oidc_provider_dir()
        self.process = subprocess.Popen(  # noqa: S603
            [shutil.which("node") or "node", SCRIPT.name],
            cwd=directory,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NODE_ENV": "test"},
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(
            json.dumps({"clients": clients, "users": users, "pkce_optional": pkce_optional})
        )
        self.process.stdin.close()
        line = self.process.stdout.readline()
        if not line:
            error = self.process.stderr.read() if self.process.stderr else ""
            self.process.wait(timeout=5)
            raise RuntimeError(f"the OpenID Provider did not start: {error[-2000:]}")
        self.issuer: str = json.loads(line)["issuer"]

    # --- control ------------------------------------------------------------------------------

    def misbehave(self, name: str = "normal", *, delay_ms: int = 0) -> None:
        """Answer as `name` says from now on (see op.mjs); "normal" behaves again."""
        response = requests.post(
            f"{self.issuer}/__control", json={"name": name, "delay_ms": delay_ms}, timeout=5
        )
        response.raise_for_status()

    def requests_seen(self, endpoint: str) -> list[dict[str, Any]]:
        """What the provider was asked at `auth` (the query) or `token`, oldest first."""
        found = requests.get(f"{self.issuer}/__requests", timeout=5).json()
        return [item for item in found if item["endpoint"] == endpoint]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    # --- a person at the provider's pages -----------------------------------------------------

    def sign_in(self, authorize_url: str, *, login: str, abort: bool = False) -> dict[str, str]:
        """Sign in as `login` on the provider's own page, starting at `authorize_url` (what the
        login page redirected to); returns the query of the redirect back to the client."""
        assert authorize_url.startswith(self.issuer + "/"), authorize_url
        browser = requests.Session()
        response = browser.get(authorize_url, allow_redirects=False, timeout=10)
        for _ in range(10):
            location = response.headers.get("Location", "")
            if response.status_code in (302, 303) and not location.startswith(self.issuer):
                if location.startswith("/"):
                    location = urljoin(self.issuer, location)
                    response = browser.get(location, allow_redirects=False, timeout=10)
                    continue
                return {
                    key: values[0] for key, values in parse_qs(urlsplit(location).query).items()
                }
            if response.status_code in (302, 303):
                response = browser.get(
                    urljoin(self.issuer, location), allow_redirects=False, timeout=10
                )
                continue
            page = response.text
            if abort:
                cancel = re.search(r'href="([^"]*/abort)"', page)
                assert cancel, page
                response = browser.get(
                    urljoin(self.issuer, unescape(cancel.group(1))),
                    allow_redirects=False,
                    timeout=10,
                )
                continue
            action = re.search(r'<form[^>]*action="([^"]+)"', page)
            assert action, page
            fields = {"prompt": "login", "login": login, "password": "any"}
            if 'value="consent"' in page:
                fields = {"prompt": "consent"}
            response = browser.post(
                urljoin(self.issuer, unescape(action.group(1))),
                data=fields,
                allow_redirects=False,
                timeout=10,
            )
        raise AssertionError("the provider never sent the browser back")
