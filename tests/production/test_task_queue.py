"""The production queue for PIN emails: gunicorn with `TASK_BACKEND=database`, then `db_worker`.

A deployment of its own (SQLite in a temporary directory, emails written to files), so it runs
on every pass; the web process only queues the task, and the email goes out when a separate
`manage.py db_worker` process works the queue, as docs/deployment.md sets it up.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.production import actions
from tests.production.servers import PROJECT_DIR, Answer, Instance, run_action

pytestmark = pytest.mark.multiprocess

NAVIGATION = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


def _manage(environment: dict[str, str], *arguments: str) -> str:
    completed = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_DIR,
        env=environment,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout + completed.stderr


class Visitor:
    """A person's browser on one host: keeps its cookies, reads the forms it is shown."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, fields: dict[str, str] | None = None) -> Answer:
        parts = urlsplit(url)
        headers = dict(NAVIGATION)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = self.instance.request(
            method, path, host=parts.netloc or actions.HOST, headers=headers, body=body
        )
        for header in answer.set_cookies:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer


def _hidden_fields(page: bytes) -> dict[str, str]:
    """The hidden inputs of the page's first form."""
    form = page.decode().split("</form>", 1)[0]
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    return {name: html.unescape(value) for name, value in found}


@pytest.fixture
def queued_deployment(tmp_path: Path) -> Iterator[tuple[dict[str, str], Instance, Path]]:
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "accessproject.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": f"{actions.HOST},127.0.0.1",
        "ACCESS_DEMO": "1",
        "ACCESS_DATA_DIR": str(tmp_path),
        "ACCESS_TEAM_DOMAIN": "",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://queue",
        "EMAIL_URL": f"filemail:///{mail_dir}",
        "TASK_BACKEND": "database",
        "WEB_CONCURRENCY": "1",
    }
    _manage(environment, "migrate", "--noinput")
    _manage(environment, "collectstatic", "--noinput")
    instance = Instance("queue", environment, tmp_path).start()
    try:
        yield environment, instance, mail_dir
    finally:
        instance.stop()


def test_the_web_process_queues_the_pin_and_db_worker_sends_it(queued_deployment) -> None:
    environment, instance, mail_dir = queued_deployment
    created = json.loads(run_action(environment, "new-application", "queue"))
    visitor = Visitor(instance)

    gate = visitor.request("GET", f"http://{actions.HOST}{created['path']}")
    assert gate.status == 302
    login_url = gate.headers["location"]
    page = visitor.request("GET", login_url)
    assert page.status == 200
    fields = _hidden_fields(page.body)
    sent = visitor.request(
        "POST", login_url, {**fields, "step": "send_pin", "email": "ann@example.com"}
    )
    assert sent.status == 200
    assert b"A code is on its way to <strong>" in sent.body
    assert list(mail_dir.iterdir()) == []  # queued, not sent by the web process

    worked = _manage(environment, "db_worker", "--batch", "--no-startup-delay", "--no-reload")

    assert "identity.flows.pin.issue_pin" in worked
    [message] = [path.read_text() for path in mail_dir.iterdir()]
    assert "To: ann@example.com" in message
    code = re.search(r"^\s*(\d{6})\s*$", message, re.MULTILINE)
    assert code is not None, message
    verified = visitor.request(
        "POST",
        login_url,
        {
            **_hidden_fields(sent.body),
            "step": "verify_pin",
            "email": "ann@example.com",
            "code": code.group(1),
        },
    )
    assert verified.status == 302
    assert "/cdn-cgi/access/authorized" in verified.headers["location"]
