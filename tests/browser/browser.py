"""Launching Debian's Chromium through Playwright, the way the browser suite needs it."""

import json
import os
from pathlib import Path

from playwright.sync_api import BrowserContext, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every *.test name is this machine; ports stay as the URL says.
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]
# Debian's Chromium withholds SameSite=None cookies from cross-site requests unless the profile
# allows third-party cookies; credentialed CORS cannot be shown without that.
PROFILE_PREFERENCES = {"profile": {"cookie_controls_mode": 0}}
DEFAULT_TIMEOUT_MS = 10_000


def browser_is_required() -> bool:
    """In CI a browser that cannot run is a failure, elsewhere a skip."""
    return bool(os.environ.get("CI")) or os.environ.get("ACCESS_REQUIRE_BROWSER") == "1"


def launch_context(playwright: Playwright, profile_dir: Path) -> BrowserContext:
    """A fresh headless Chromium profile that accepts the suite's self-signed certificate."""
    preferences = profile_dir / "Default" / "Preferences"
    preferences.parent.mkdir(parents=True, exist_ok=True)
    preferences.write_text(json.dumps(PROFILE_PREFERENCES))
    context = playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        ignore_https_errors=True,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context
