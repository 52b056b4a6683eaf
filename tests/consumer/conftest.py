"""The shop: a second Django project that installs accessproject from its wheel.

Session-scoped: the wheel, its virtualenv, and the shop served by gunicorn from that virtualenv
over plain HTTP on loopback, with its database prepared first (migrations, the applications,
two people with passwords).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.consumer.installed import InstalledPackage, build_wheel, install
from tests.processes import gunicorn_bind, listening_socket, port_of, stop, wait_for_http

SITE = Path(__file__).resolve().parent / "site"
SHOP_HOST = "shop.localhost"
MANAGE_TIMEOUT = 120
# The people of the shop: one the policy allows, one it refuses (both Django users).
ADA = ("ada", "ada@example.com", "correct horse battery staple")
MALLORY = ("mallory", "mallory@elsewhere.test", "another long passphrase")
ORDERS_APPLICATION = "Orders"


@dataclass(frozen=True)
class Shop:
    """The installed shop: how to run its manage.py, and where it is served."""

    package: InstalledPackage
    directory: Path
    env: dict[str, str]
    port: int = 0

    def manage(
        self, *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.package.python), "manage.py", *args],
            cwd=self.directory,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=MANAGE_TIMEOUT,
            check=False,
        )

    def url(self, path: str) -> str:
        return f"http://{SHOP_HOST}:{self.port}{path}"


def _configuration() -> dict[str, object]:
    return {
        "applications": [
            {
                "name": ORDERS_APPLICATION,
                "domain": f"{SHOP_HOST}/orders",
                "policies": [
                    {
                        "name": "People at example.com",
                        "decision": "allow",
                        "precedence": 1,
                        "include": [{"email_domain": {"domain": "example.com"}}],
                    }
                ],
            }
        ]
    }


def _create_users() -> str:
    lines = ["from django.contrib.auth import get_user_model", "User = get_user_model()"]
    lines += [f"User.objects.create_user({u!r}, {e!r}, {p!r})" for u, e, p in (ADA, MALLORY)]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def installed_package(tmp_path_factory: pytest.TempPathFactory) -> InstalledPackage:
    build = tmp_path_factory.mktemp("wheel")
    return install(build_wheel(build), tmp_path_factory.mktemp("shop-venv") / "venv")


@pytest.fixture(scope="session")
def shop_files(
    installed_package: InstalledPackage, tmp_path_factory: pytest.TempPathFactory
) -> Shop:
    """The shop's files and environment, its database migrated and configured."""
    run_dir = tmp_path_factory.mktemp("shop")
    directory = run_dir / "site"
    shutil.copytree(SITE, directory, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": SHOP_HOST,
        "SHOP_DATABASE": str(run_dir / "db.sqlite3"),
        "PYTHONUNBUFFERED": "1",
    }
    shop = Shop(package=installed_package, directory=directory, env=env)
    config = run_dir / "access.json"
    config.write_text(json.dumps(_configuration()))
    for command in (
        ("migrate", "--noinput"),
        ("access_apply", str(config)),
        ("shell", "-c", _create_users()),
    ):
        result = shop.manage(*command)
        if result.returncode != 0:
            pytest.fail(f"manage.py {command[0]}: {result.stdout}{result.stderr}", pytrace=False)
    return shop


@pytest.fixture(scope="session")
def shop(shop_files: Shop) -> Iterator[Shop]:
    """The shop under gunicorn, from its own virtualenv."""
    listener = listening_socket()
    port = port_of(listener)
    log = shop_files.directory.parent / "gunicorn.log"
    with listener:
        process = subprocess.Popen(
            [
                str(shop_files.package.python),
                "-m",
                "gunicorn",
                "shop.wsgi:application",
                gunicorn_bind(listener),
                "--workers=1",
                f"--error-logfile={log}",
                "--capture-output",
                "--no-control-socket",
            ],
            cwd=shop_files.directory,
            env=shop_files.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(listener.fileno(),),
        )
    try:
        wait_for_http(port, process, log)
        yield Shop(shop_files.package, shop_files.directory, shop_files.env, port)
    finally:
        stop(process)
