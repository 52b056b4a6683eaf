"""A new user's first hour: `make run` in a fresh checkout, then `manage.py` with nothing set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.processes import checkout_copy, free_port

# What a new user's shell has: none of the variables the suite or a deployment sets.
# MAKEFLAGS and friends: a `make test VENV=...` around the suite would pass its variables on.
_THEIRS = (
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "CACHE_URL",
    "DJANGO_",
    "ACCESS_",
    "VIRTUAL_ENV",
    "MAKE",
    "MFLAGS",
    "PIP_",
)

pytestmark = pytest.mark.multiprocess


def _their_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_THEIRS)}


def _manage(checkout: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    python = checkout / ".venv" / "bin" / "python"
    return subprocess.run(
        [str(python if python.exists() else sys.executable), "manage.py", *arguments],
        cwd=checkout,
        env=_their_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _serve_until_healthy(checkout: Path, port: int, log: Path) -> None:
    """`make run` until the server answers /healthz, then stop it (and what it started)."""
    with log.open("w") as output:
        make = subprocess.Popen(
            ["make", "run", f"PYTHON={sys.executable}", f"PORT={port}"],
            cwd=checkout,
            env=_their_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 600  # a fresh virtualenv installs everything
        while time.monotonic() < deadline:
            assert make.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"make run never answered /healthz:\n{log.read_text()}")
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)


def test_manage_py_works_after_a_fresh_make_run_with_nothing_set(tmp_path: Path) -> None:
    checkout = checkout_copy(tmp_path / "checkout")

    before = _manage(checkout, "check")
    assert before.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in before.stderr
    assert "run `make run` once" in before.stderr
    assert "not found" not in before.stderr  # no complaint about the .env nobody wrote yet

    _serve_until_healthy(checkout, free_port(), tmp_path / "make-run.log")

    after = _manage(checkout, "check")
    assert after.returncode == 0, after.stderr
    assert after.stdout == "System check identified no issues (0 silenced).\n"
    assert after.stderr == ""
    migrated = _manage(checkout, "migrate", "--check")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    # `make run` installed what running needs, not the test tools of the dev extra.
    venv_python = str(checkout / ".venv" / "bin" / "python")
    for module, installed in [("django", True), ("gunicorn", True), ("pytest", False)]:
        found = subprocess.run([venv_python, "-c", f"import {module}"], check=False)
        assert (found.returncode == 0) is installed, module
