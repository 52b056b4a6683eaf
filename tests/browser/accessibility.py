"""axe-core in Chromium: `assert_accessible(page)` checks the page as it is now, light and dark.

axe-core comes from the npm registry, installed by the tests into their cache folder
(`tests.npm`), pinned. The page loads it from its own origin: a route of the browser context
answers `/__axe-core__/axe.min.js` on any host from that file, so the pages' CSP
(`script-src 'self'`) is tested as shipped, never loosened for the check.

To check another page, bring the browser to it and call `assert_accessible(page)`, or add one
entry to `PAGES` in tests/browser/test_accessibility.py.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, NoReturn
from weakref import WeakSet

import pytest
from playwright.sync_api import BrowserContext, Page, Route

from tests.browser.browser import browser_is_required
from tests.npm import installed_npm_package

AXE_CORE_VERSION = "4.14.1"
AXE_PATH = "/__axe-core__/axe.min.js"
# What is checked: WCAG 2.0, 2.1 and 2.2, levels A and AA (contrast, names, labels, structure).
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCHEMES = ("light", "dark")


def _unavailable(reason: str) -> NoReturn:
    if browser_is_required():
        pytest.fail(f"axe-core cannot run: {reason}", pytrace=False)
    pytest.skip(f"axe-core cannot run: {reason}")


@cache
def axe_script() -> Path:
    """axe.min.js of the pinned axe-core (installed once)."""
    directory = installed_npm_package("axe-core", AXE_CORE_VERSION, unavailable=_unavailable)
    return directory / "node_modules" / "axe-core" / "axe.min.js"


def _serve_axe(route: Route) -> None:
    route.fulfill(path=str(axe_script()), content_type="application/javascript")


_routed: WeakSet[BrowserContext] = WeakSet()


def _load_axe(page: Page) -> None:
    if page.evaluate("typeof window.axe") == "object":
        return
    if page.context not in _routed:
        page.context.route(f"**{AXE_PATH}", _serve_axe)
        _routed.add(page.context)
    page.add_script_tag(url=AXE_PATH)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds on the page as it is now (WCAG 2.2 A and AA rules)."""
    _load_axe(page)
    results: dict[str, Any] = page.evaluate(
        """(tags) => axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        WCAG_AA_TAGS,
    )
    return list(results["violations"])


def _described(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {json.dumps(node['target'])}: {node['failureSummary']}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    """No axe-core violation on the page as it is now, in the light and in the dark scheme."""
    found = {}
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        violations = axe_violations(page)
        if violations:
            found[scheme] = violations
    assert not found, f"axe-core on {page.url}:\n" + "\n".join(
        f"{scheme}:\n{_described(violations)}" for scheme, violations in found.items()
    )
