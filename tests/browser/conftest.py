"""Fixtures of the browser suite: certificate and the two HTTPS servers (Chromium itself is
tests/browser/chromium.py's, shared with tests/proxies).

Session-scoped: one certificate, one calling site and one project server (database prepared
before gunicorn starts, so every worker serves the final configuration from its first request);
the App Launcher's tests start a second one, with the launcher on, only when they run.
Function-scoped: a fresh Chromium profile per test, so no cookie leaks between scenarios.
"""

import json
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.certificates import CertificateFiles, make_self_signed_certificate
from tests.browser.scenario_config import (
    CREATE_PASSWORD_USER,
    access_configuration,
    launcher_configuration,
)
from tests.browser.servers import (
    ALL_HOSTS,
    CallingSite,
    ProjectServer,
    running_calling_site,
    running_project,
)

BROWSER_DIR = "tests/browser/"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder drives Chromium: mark it, so `-m "not browser"` leaves them out."""
    for item in items:
        if BROWSER_DIR in item.nodeid:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed scenario shows the end of the server's log (tracebacks, access decisions)."""
    report: pytest.TestReport = yield
    if report.failed:
        for name, server in getattr(item, "funcargs", {}).items():
            if isinstance(server, ProjectServer):
                report.sections.append((f"{name} server log (tail)", server.error_log_tail()))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many browser tests ran, so CI shows they were not silently skipped."""
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        reports = terminalreporter.stats.get(outcome, [])
        counts[outcome] = len(
            {
                report.nodeid
                for report in reports
                if BROWSER_DIR in getattr(report, "nodeid", "")
                and getattr(report, "when", "call") in {"call", "setup"}
            }
        )
    if any(counts.values()):
        summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items() if count)
        terminalreporter.write_line(f"browser tests: {summary}")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return make_self_signed_certificate(ALL_HOSTS, tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def calling_site(certificate: CertificateFiles) -> Iterator[CallingSite]:
    with running_calling_site(certificate) as site:
        yield site


@pytest.fixture(scope="session")
def project(
    tmp_path_factory: pytest.TempPathFactory,
    certificate: CertificateFiles,
    calling_site: CallingSite,
) -> Iterator[ProjectServer]:
    """The project under gunicorn over HTTPS, on its own database, mail outbox and logs.

    The scenarios' configuration is applied before gunicorn starts, so no worker ever serves
    an older one.
    """
    run_dir = tmp_path_factory.mktemp("project")
    prepare: list[tuple[str, ...]] = [
        ("migrate", "--noinput"),
        ("collectstatic", "--noinput"),  # the API's docs pages load their scripts from it
        ("shell", "-c", CREATE_PASSWORD_USER),
        _applying(run_dir, access_configuration(calling_site.origin())),
    ]
    with running_project(run_dir, certificate, prepare=prepare) as server:
        yield server


@pytest.fixture(scope="session")
def launcher_project(
    tmp_path_factory: pytest.TempPathFactory, certificate: CertificateFiles
) -> Iterator[ProjectServer]:
    """The project with the App Launcher on (`ACCESS_APP_LAUNCHER`), on the applications of
    `launcher_configuration`: its own server, since on `project` the login host's `/` is the
    short page the other tests check. Nobody signs in there with a password."""
    run_dir = tmp_path_factory.mktemp("launcher-project")
    prepare = [("migrate", "--noinput"), _applying(run_dir, launcher_configuration())]
    with running_project(
        run_dir, certificate, prepare=prepare, env_overrides={"ACCESS_APP_LAUNCHER": "1"}
    ) as server:
        yield server


def _applying(run_dir: Path, configuration: dict[str, Any]) -> tuple[str, ...]:
    """The management command that applies `configuration`, written to a file in run_dir."""
    config_file = run_dir / "access.json"
    config_file.write_text(json.dumps(configuration, indent=2))
    return ("access_apply", str(config_file))
