"""Print what a pytest JUnit report ran, and fail when it proves nothing.

A run where no test passed, or where no test of a required category passed, is a failure: a
suite that skipped its browser tests in CI has not shown that anything works in a browser, one
that skipped its sign-ins through a real OpenID Provider has not shown that OIDC works, one
that skipped nginx and Caddy has not shown that a service behind them is protected, and one
that skipped its gunicorn instances over PostgreSQL and Redis (the pass that sets
`ACCESS_REQUIRE_MULTIPROCESS=1`) has not shown that several processes enforce one configuration.
A category is the classname prefix of its tests in the report.
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET

# category -> the classname prefixes of its tests (the marker they carry says the same)
CATEGORIES = {
    "browser": ("tests.browser.",),
    "oidc": ("tests.identity.providers.", "tests.browser.test_identity_providers"),
    # nginx and Caddy with deploy/'s files in front of a service that is not Django
    "proxies": ("tests.proxies.",),
    # the wheel installed into another Django project
    "installed": ("tests.consumer.",),
    # gunicorn instances over one PostgreSQL and Redis, and faults between them
    "production": ("tests.production.",),
}
# categories required only in the pass whose environment says so
REQUIRED_BY = {"production": "ACCESS_REQUIRE_MULTIPROCESS"}


def required_categories(environment: dict[str, str]) -> list[str]:
    return [
        category
        for category in CATEGORIES
        if category not in REQUIRED_BY or environment.get(REQUIRED_BY[category]) == "1"
    ]


def main(path: str, environment: dict[str, str]) -> int:
    cases = ET.parse(path).getroot().iter("testcase")  # noqa: S314 - our own report
    passed = skipped = failed = 0
    by_category = dict.fromkeys(CATEGORIES, 0)
    for case in cases:
        outcome = {child.tag for child in case}
        if outcome & {"failure", "error"}:
            failed += 1
        elif "skipped" in outcome:
            skipped += 1
        else:
            passed += 1
            classname = case.get("classname", "")
            for category, prefixes in CATEGORIES.items():
                if classname.startswith(prefixes):
                    by_category[category] += 1
    print(f"{path}: {passed} passed, {failed} failed, {skipped} skipped")
    for category, count in by_category.items():
        print(f"{category} tests passed: {count}")
    required = required_categories(environment)
    missing = [category for category in required if by_category[category] == 0]
    if passed == 0 or missing or failed:
        print(
            f"CI requires passing tests, {', '.join(required)} tests among them"
            + (f"; none passed: {', '.join(missing)}" if missing else "")
            + ".",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], dict(os.environ)))
