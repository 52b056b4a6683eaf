"""Print what a pytest JUnit report ran, and fail when it proves nothing.

A run where no test passed, or where no browser test passed, is a failure: a suite that skipped
its browser tests in CI has not shown that anything works in a browser.
"""

import sys
import xml.etree.ElementTree as ET


def main(path: str) -> int:
    cases = ET.parse(path).getroot().iter("testcase")  # noqa: S314 - our own report
    passed = browser = skipped = failed = 0
    for case in cases:
        outcome = {child.tag for child in case}
        if outcome & {"failure", "error"}:
            failed += 1
        elif "skipped" in outcome:
            skipped += 1
        else:
            passed += 1
            if case.get("classname", "").startswith("tests.browser."):
                browser += 1
    print(f"{path}: {passed} passed, {failed} failed, {skipped} skipped")
    print(f"browser tests passed: {browser}")
    if passed == 0 or browser == 0 or failed:
        print("CI requires passing tests, browser tests among them.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
