"""A first deployment from a fresh clone, under gunicorn with two workers: production serves no
demo and creates nobody, and the log says each thing once (no per-worker `.env` complaint)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import checkout_copy
from tests.production.servers import Instance

pytestmark = pytest.mark.multiprocess

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "first-deploy-" + "k" * 50,
    "ALLOWED_HOSTS": "access.example.com,127.0.0.1",  # 127.0.0.1: the health check
    "SECURE_SSL_REDIRECT": "0",  # the proxy redirects; the test speaks plain HTTP to gunicorn
}
DEVELOPMENT = {"DEBUG": "1"}
HOST = {"0": "access.example.com", "1": "localhost"}


def _environment(settings: dict[str, str], data: Path) -> dict[str, str]:
    """A shell with none of the suite's own settings, then the deployment's."""
    mine = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "CACHE_URL", "DJANGO_", "ACCESS_", "LOG_")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(mine)}
    return {
        **inherited,
        **settings,
        "ACCESS_DATA_DIR": str(data),
        "DATABASE_URL": f"sqlite:///{data / 'db.sqlite3'}",
        "WEB_CONCURRENCY": "2",
    }


def _manage(checkout: Path, environment: dict[str, str], *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def deployed(tmp_path, request):
    """A fresh clone, migrated and served by gunicorn with two workers; its log once stopped."""
    settings = request.param
    checkout = checkout_copy(tmp_path / "checkout")
    assert not (checkout / ".env").exists()
    (tmp_path / "data").mkdir()
    environment = _environment(settings, tmp_path / "data")
    _manage(checkout, environment, "migrate", "--noinput")
    instance = Instance("first-deploy", environment, tmp_path, project_dir=checkout).start()
    host = HOST[settings["DEBUG"]]
    try:
        answers = {
            path: instance.request("GET", path, host=host)
            for path in ("/demo/", "/demo/echo/x", "/admin/", "/no-such-page")
        }
        answers["bad host"] = instance.request("GET", "/healthz", host="evil.example.net")
    finally:
        instance.stop()
    return checkout, environment, answers, instance.log_path.read_text(errors="replace")


@pytest.mark.parametrize("deployed", [PRODUCTION], indirect=True, ids=["production"])
def test_production_serves_no_demo_and_creates_nobody(deployed):
    checkout, environment, answers, log = deployed

    assert answers["/demo/"].status == 404
    assert answers["/demo/echo/x"].status == 404
    assert answers["/admin/"].status == 302
    assert answers["/admin/"].headers["location"] == "/admin/login/?next=/admin/"
    counts = _manage(
        checkout,
        environment,
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; from django.contrib.auth.models import User; "
        "from policies.models import Application; "
        "print(User.objects.count(), Application.objects.count(), settings.ACCESS_DEMO, "
        "'demo' in settings.INSTALLED_APPS)",
    )
    assert counts.splitlines()[-1] == "0 0 False False"
    unknown = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unknown.returncode != 0
    assert "Unknown command: 'seed_demo'" in unknown.stderr


@pytest.mark.parametrize(
    "deployed", [PRODUCTION, DEVELOPMENT], indirect=True, ids=["production", "development"]
)
def test_two_workers_say_each_thing_once(deployed):
    _checkout, _environment, answers, log = deployed
    lines = log.splitlines()

    assert answers["/no-such-page"].status == 404
    assert answers["bad host"].status == 400
    assert len([line for line in lines if "Booting worker" in line]) == 2
    assert len([line for line in lines if "Not Found: /no-such-page" in line]) == 1
    assert len([line for line in lines if "Invalid HTTP_HOST header" in line]) == 1
    assert [line for line in lines if re.search(r"\.env|doesn't exist", line)] == []
    assert [line for line in lines if "Traceback" in line] == []


def test_an_instance_that_never_answers_is_not_left_running(tmp_path):
    # 127.0.0.1 is not an allowed host here: every health check gets 400.
    settings = {**PRODUCTION, "ALLOWED_HOSTS": "access.example.com"}
    instance = Instance("never-ready", _environment(settings, tmp_path), tmp_path)

    with pytest.raises(RuntimeError, match="did not answer /healthz"):
        instance.start(timeout=5)

    assert instance._process is not None
    assert instance._process.poll() is not None
