"""What accessproject adds to the database settings read from `DATABASE_URL`."""

from typing import Any

SQLITE_ENGINE = "django.db.backends.sqlite3"

# How long a SQLite connection waits for another's write to finish before it gives up, in seconds.
SQLITE_BUSY_TIMEOUT = 20


def with_sqlite_concurrency(database: dict[str, Any]) -> dict[str, Any]:
    """`database` ready for several gunicorn workers sharing one SQLite file; others unchanged.

    A transaction that reads and then writes (a logout revoking every session of a sign-in) begins
    deferred by default: it holds no lock until its first write. When two of those overlap, SQLite
    cannot let either wait for the other and answers the second "database is locked" at once,
    whatever the busy timeout. Beginning every transaction IMMEDIATE takes the write lock first, so
    the second one waits its turn instead. Write-ahead logging lets the gate's version checks and
    other reads go on while one worker writes. Options set in the URL win.
    """
    if database.get("ENGINE") != SQLITE_ENGINE:
        return database
    options = database.setdefault("OPTIONS", {})
    options.setdefault("transaction_mode", "IMMEDIATE")
    options.setdefault("timeout", SQLITE_BUSY_TIMEOUT)
    options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
    return database
