"""A deployment for the multi-process tests: a fresh PostgreSQL database, a Redis database, and
gunicorn instances over them, as several hosts behind a load balancer would run.

These tests need PostgreSQL and Redis (`DATABASE_URL=postgres://...`, `CACHE_URL=redis://...`, as
in `.ci/run`'s LTS pass) and skip with that reason otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.production import actions
from tests.production.servers import PROJECT_DIR, Instance, run_action, start_action

SKIP_REASON = (
    "multi-process tests need PostgreSQL and Redis: set DATABASE_URL=postgres://... and "
    "CACHE_URL=redis://... (.ci/run's LTS pass does)"
)
# A Redis database of its own: the suite's autouse fixture flushes the one in CACHE_URL. Set
# MULTIPROCESS_REDIS_DB when several people run these tests on one Redis at once.
MULTIPROCESS_REDIS_DB = int(os.environ.get("MULTIPROCESS_REDIS_DB", "15"))


@dataclass(frozen=True)
class Deployment:
    environment: dict[str, str]
    seeded: dict[str, Any]
    log_dir: Path
    database_url: str

    def action(self, *arguments: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(run_action(self.environment, *arguments))
        return result

    def start_action(self, *arguments: str) -> subprocess.Popen[str]:
        return start_action(self.environment, *arguments)

    def instance(self, name: str, **overrides: str) -> Instance:
        return Instance(name, {**self.environment, **overrides}, self.log_dir)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _urls() -> tuple[str, str]:
    database_url = os.environ.get("DATABASE_URL", "")
    cache_url = os.environ.get("CACHE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.skip(SKIP_REASON)
    if not cache_url.startswith(("redis://", "rediss://")):
        pytest.skip(SKIP_REASON)
    return database_url, cache_url


def _manage(environment: dict[str, str], *arguments: str) -> None:
    completed = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_DIR,
        env={**os.environ, **environment},
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(arguments)} failed:\n{completed.stderr}")


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A fresh database `accessproject_mp_<random>` (dropped afterwards), migrated and seeded."""
    import psycopg
    import redis

    server_url, cache_url = _urls()
    name = f"accessproject_mp_{secrets.token_hex(4)}"
    maintenance_url = _with_path(server_url, "/postgres")
    database_url = _with_path(server_url, f"/{name}")
    redis_url = _with_path(cache_url, f"/{MULTIPROCESS_REDIS_DB}")
    data_dir = tmp_path_factory.mktemp("multiprocess")
    environment = {
        "DJANGO_SETTINGS_MODULE": "accessproject.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": f"{actions.HOST},127.0.0.1",
        "ACCESS_DEMO": "1",
        "ACCESS_DATA_DIR": str(data_dir),
        "ACCESS_TEAM_DOMAIN": "",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "CACHE_URL": redis_url,
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",
        # Every request checks the configuration versions: a change is seen by the next request
        # after its commit, on every worker (how soon a version check comes is make bench's).
        "ACCESS_VERSION_CHECK_INTERVAL": "0",
    }
    with psycopg.connect(maintenance_url, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    cache = redis.Redis.from_url(redis_url)
    cache.flushdb()
    try:
        _manage(environment, "migrate", "--noinput")
        _manage(environment, "collectstatic", "--noinput")
        seeded: dict[str, Any] = json.loads(run_action(environment, "seed"))
        yield Deployment(environment, seeded, data_dir, database_url)
    finally:
        cache.flushdb()
        cache.close()
        with psycopg.connect(maintenance_url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def instance_a(deployment: Deployment) -> Iterator[Instance]:
    instance = deployment.instance("a").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def instance_b(deployment: Deployment) -> Iterator[Instance]:
    instance = deployment.instance("b").start()
    yield instance
    instance.stop()


@pytest.fixture
def application(deployment: Deployment, request: pytest.FixtureRequest) -> dict[str, Any]:
    """An application of its own for one test: `/demo/echo/<test name>`, people at example.com."""
    slug = request.node.name.replace("_", "-")[:60]
    created: dict[str, Any] = deployment.action("new-application", slug)
    return created
