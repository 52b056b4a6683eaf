"""A required test that skips fails the run, and `.ci/count_tests.py` fails a pass without them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A test whose deployment needs PostgreSQL and Redis: over SQLite it skips.
PRODUCTION_TEST = (
    "tests/production/test_multiprocess.py::"
    "test_both_instances_let_a_valid_token_through_and_send_others_to_sign_in"
)


def _run_pytest(
    tmp_path: Path, **environment: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    report = tmp_path / "junit.xml"
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ACCESS_REQUIRE_", "DATABASE_URL", "CACHE_URL", "PYTEST_"))
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            PRODUCTION_TEST,
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={report}",
        ],
        cwd=ROOT,
        env={
            **inherited,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CACHE_URL": "locmemcache://",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed, report


def _count(report: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, ".ci/count_tests.py", str(report)],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_skipped_production_test_fails_when_multiprocess_tests_are_required(tmp_path):
    completed, report = _run_pytest(tmp_path, ACCESS_REQUIRE_MULTIPROCESS="1")

    assert completed.returncode == 1, completed.stdout
    assert (
        "required (ACCESS_REQUIRE_MULTIPROCESS=1) but skipped: multi-process tests need "
        "PostgreSQL and Redis"
    ) in completed.stdout
    assert "1 error" in completed.stdout
    counted = _count(report, ACCESS_REQUIRE_MULTIPROCESS="1")
    assert counted.returncode == 1
    assert "0 passed, 1 failed, 0 skipped" in counted.stdout


def test_elsewhere_a_production_test_without_postgresql_skips(tmp_path):
    completed, report = _run_pytest(tmp_path)

    assert completed.returncode == 0, completed.stdout
    assert "1 skipped" in completed.stdout
    assert "required" not in completed.stdout


def _report(tmp_path: Path, *classnames: str, skipped: tuple[str, ...] = ()) -> Path:
    cases = [f'<testcase classname="{name}" name="t"/>' for name in classnames]
    cases += [f'<testcase classname="{name}" name="s"><skipped/></testcase>' for name in skipped]
    path = tmp_path / "report.xml"
    path.write_text(f"<testsuites><testsuite>{''.join(cases)}</testsuite></testsuites>")
    return path


ALWAYS_REQUIRED = (
    "tests.browser.test_no_session",
    "tests.identity.providers.test_oidc",
    "tests.proxies.test_forward_auth_proxies",
    "tests.consumer.test_installed_site",
)


@pytest.mark.parametrize("required", ["1", ""])
def test_count_tests_requires_a_passed_production_test_in_the_pass_that_requires_them(
    tmp_path, required
):
    report = _report(tmp_path, *ALWAYS_REQUIRED, skipped=("tests.production.test_faults",))

    counted = _count(report, ACCESS_REQUIRE_MULTIPROCESS=required)

    assert "production tests passed: 0" in counted.stdout
    if required:
        assert counted.returncode == 1
        assert "none passed: production" in counted.stderr
    else:
        assert counted.returncode == 0, counted.stderr


def test_count_tests_passes_a_pass_where_every_required_category_passed(tmp_path):
    report = _report(tmp_path, *ALWAYS_REQUIRED, "tests.production.test_faults")

    counted = _count(report, ACCESS_REQUIRE_MULTIPROCESS="1")

    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.splitlines()[1:] == [
        "browser tests passed: 1",
        "oidc tests passed: 1",
        "proxies tests passed: 1",
        "installed tests passed: 1",
        "production tests passed: 1",
    ]


@pytest.mark.parametrize("missing", range(len(ALWAYS_REQUIRED)))
def test_count_tests_fails_a_pass_missing_any_always_required_category(tmp_path, missing):
    present = [name for index, name in enumerate(ALWAYS_REQUIRED) if index != missing]
    report = _report(tmp_path, *present)

    counted = _count(report)

    assert counted.returncode == 1
    assert "none passed: " in counted.stderr
