"""The site boots, its settings hold their promises."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db
def test_admin_login_page_loads(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off():
    result = _manage("check", env={"DEBUG": "0", "ALLOWED_HOSTS": "gate.example.com"})

    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_deploy_check_reports_nothing_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "DEBUG",
        env={
            "DEBUG": "0",
            "SECRET_KEY": "x" * 24 + "production-like-secret-key-for-the-check-" + "y" * 20,
            "ALLOWED_HOSTS": "gate.example.com",
        },
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
