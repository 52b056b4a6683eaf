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


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off(tmp_path):
    result = _manage(
        "check",
        env={"DEBUG": "0", "ALLOWED_HOSTS": "gate.example.com", "ACCESS_DATA_DIR": str(tmp_path)},
    )

    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off: set SECRET_KEY" in result.stderr
    assert f"or put one in {tmp_path / 'secret_key'}" in result.stderr


def test_the_key_in_the_data_folder_is_the_secret_key_when_none_is_set(tmp_path):
    (tmp_path / "secret_key").write_text("k" * 50 + "\n")
    probe = "from django.conf import settings; print(settings.SECRET_KEY)"

    result = _manage(
        "shell", "--no-imports", "-c", probe, env={"DEBUG": "0", "ACCESS_DATA_DIR": str(tmp_path)}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "k" * 50 + "\n"


def test_a_secret_key_in_the_environment_wins_over_the_data_folder(tmp_path):
    (tmp_path / "secret_key").write_text("k" * 50)
    probe = "from django.conf import settings; print(settings.SECRET_KEY)"

    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        probe,
        env={"DEBUG": "0", "ACCESS_DATA_DIR": str(tmp_path), "SECRET_KEY": "e" * 50},
    )

    assert result.stdout == "e" * 50 + "\n"


def test_each_django_log_record_is_printed_once():
    # In DEBUG Django gives its loggers a console handler of their own, besides the root's.
    probe = "import logging; logging.getLogger('django.request').warning('Not Found: /x')"

    result = _manage("shell", "--no-imports", "-c", probe, env={"DEBUG": "1"})

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Not Found: /x") == 1
    assert result.stderr.endswith(" WARNING django.request Not Found: /x\n")


def test_deploy_check_reports_nothing_with_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "DEBUG",
        env={
            "DEBUG": "0",
            "SECRET_KEY": "x" * 24 + "production-like-secret-key-for-the-check-" + "y" * 20,
            "ALLOWED_HOSTS": "gate.example.com",
            # Django 6 asks the database whether it supports JSON fields.
            "ACCESS_DATA_DIR": str(tmp_path),
        },
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("DEBUG=maybe", "DEBUG must be true or false (1/0, yes/no, on/off), not 'maybe'."),
        (
            "SECURE_SSL_REDIRECT=nope",
            "SECURE_SSL_REDIRECT must be true or false (1/0, yes/no, on/off), not 'nope'.",
        ),
        (
            "ACCESS_VERSION_CHECK_INTERVAL=abc",
            "ACCESS_VERSION_CHECK_INTERVAL must be a number, not 'abc'.",
        ),
        (
            "ACCESS_PIN_FAILURES_OVERALL=x",
            "ACCESS_PIN_FAILURES_OVERALL must be a whole number, not 'x'.",
        ),
        (
            "DATABASE_URL=nonsense",
            "DATABASE_URL names no database this project knows: 'nonsense'. Use"
            " sqlite:///path/to/db.sqlite3 or postgres://user:password@host:5432/name.",
        ),
        ("TASK_BACKEND=celery", "TASK_BACKEND must be 'immediate' or 'database', not 'celery'."),
        ("LOG_FORMAT=xml", "LOG_FORMAT must be 'plain' or 'json', not 'xml'."),
    ],
)
def test_a_bad_setting_stops_the_start_with_its_name_and_what_it_takes(tmp_path, setting, message):
    name, value = setting.split("=", 1)

    result = _manage("check", env={"DEBUG": "1", "ACCESS_DATA_DIR": str(tmp_path), name: value})

    assert result.returncode != 0
    last = result.stderr.splitlines()[-1]
    assert last == f"django.core.exceptions.ImproperlyConfigured: {message}"


@pytest.mark.parametrize(
    ("value", "debug"), [("1", True), ("yes", True), ("On", True), ("0", False), ("false", False)]
)
def test_true_and_false_are_read_in_their_usual_spellings(tmp_path, value, debug):
    probe = "from django.conf import settings; print(settings.DEBUG)"
    env = {"DEBUG": value, "ACCESS_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 50}

    result = _manage("shell", "--no-imports", "-c", probe, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{debug}\n"
