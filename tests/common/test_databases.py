"""SQLite as several gunicorn workers share it: transactions take the write lock when they begin,
wait for each other instead of failing, and readers go on while one writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import environ
import pytest
from django.db import connections, transaction
from django.db.utils import ConnectionHandler

from common.databases import SQLITE_BUSY_TIMEOUT, with_sqlite_concurrency

ALIAS = "shared_sqlite"


def _database(url: str) -> dict:
    return with_sqlite_concurrency(environ.Env.db_url_config(url))


@pytest.fixture
def shared_file(tmp_path: Path, django_db_blocker, monkeypatch) -> Iterator[Path]:
    """A file database opened with the project's settings under ALIAS, as a worker opens it."""
    # The browser tests' Playwright keeps an event loop running on this thread for the session;
    # Django then takes this synchronous test for async code and refuses to open a connection.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    path = tmp_path / "db.sqlite3"
    database = _database(f"sqlite:///{path}")
    connections[ALIAS] = ConnectionHandler({"default": database})["default"]
    with django_db_blocker.unblock():
        try:
            yield path
        finally:
            connections[ALIAS].close()
            del connections[ALIAS]


def _pragma(name: str) -> object:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


def test_a_transaction_holds_the_write_lock_from_its_start(shared_file):
    other_worker = sqlite3.connect(shared_file, timeout=0)
    # Nothing written yet: a deferred transaction would hold no lock here, and two of them
    # reading and then writing would fail one another with "database is locked".
    with (
        transaction.atomic(using=ALIAS),
        pytest.raises(sqlite3.OperationalError, match="^database is locked$"),
    ):
        other_worker.execute("BEGIN IMMEDIATE")
    other_worker.execute("BEGIN IMMEDIATE")
    other_worker.rollback()


def test_a_busy_connection_waits_for_the_writer_and_readers_use_the_write_ahead_log(shared_file):
    assert _pragma("busy_timeout") == SQLITE_BUSY_TIMEOUT * 1000
    assert _pragma("journal_mode") == "wal"
    assert _pragma("synchronous") == 1  # NORMAL: durable at each checkpoint, safe with WAL


def test_options_written_in_the_url_win():
    database = _database("sqlite:////srv/access/db.sqlite3?timeout=3&transaction_mode=DEFERRED")

    assert database["OPTIONS"] == {
        "timeout": 3,
        "transaction_mode": "DEFERRED",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }


def test_other_databases_are_left_as_the_url_says():
    url = "postgres://access@db.internal:5432/access"

    assert _database(url) == environ.Env.db_url_config(url)
