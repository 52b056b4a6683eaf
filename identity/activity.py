"""Activity counters: gate decisions counted in memory, added to the database in batches.

The gate calls `record_decision` once per decision (`identity.middleware.log_decision`): one
append to a queue in memory, no lock, no I/O (`make bench` measures it). Every
`ACCESS_ACTIVITY_FLUSH_SECONDS` (10) the first decision past the deadline hands the counts to a
thread that adds them to `ActivityCount` rows (one per 5-minute bucket, dimension and value) and
deletes rows older than `ACCESS_ACTIVITY_RETENTION_DAYS`, as the access log's handler batches
its lines (`accessproject.logging.BatchingStreamHandler`). Counts not yet flushed when a process
stops are lost: the dashboard is a picture of activity, not an audit. Sign-ins and refused
sign-ins are already one `AuthEvent` each; the dashboard reads those.

Distinct values are bounded per process between flushes (`MOST_KEYS`): past that, new values of
a dimension count as "(other)", so a scan of random paths cannot grow memory or the table.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from identity.conf import conf

logger = logging.getLogger("accessproject.identity")

BUCKET = timedelta(minutes=5)
MOST_KEYS = 5000
COMPACT_AT = 50_000  # facts waiting before the request that finds them adds them up
OTHER = "(other)"
# Decisions that let the request through (the same as the access log's).
PASSING = frozenset({"allow", "preflight_answered", "preflight_to_view"})
DIMENSIONS = ("decision", "application", "refused_path", "origin", "refused_address")
_MAX_VALUE = 300


class ActivityCounters:
    """The counts of one process since its last flush.

    A decision is one `deque.append` of its facts (atomic, no lock), so the request pays next to
    nothing; the facts are added up into counts when they are flushed, or on the request that
    finds `COMPACT_AT` of them waiting.
    """

    def __init__(self) -> None:
        self._pending: deque[tuple[float, str, str, str, str | None, str]] = deque()
        self._counts: Counter[tuple[int, str, str]] = Counter()
        self._lock = threading.Lock()
        self._next_flush = 0.0  # time.time() of the next flush; 0: not scheduled yet

    def record(
        self, *, decision: str, application: str, path: str, origin: str | None, ip: str
    ) -> None:
        """Count one gate decision (see the module's docstring for what is kept)."""
        pending, moment = self._pending, time.time()
        pending.append((moment, decision, application, path, origin, ip))
        if len(pending) >= COMPACT_AT:
            self._compact()
        if moment >= self._next_flush:
            self._next_flush = float("inf")  # one flush at a time
            self._schedule()

    def _compact(self) -> None:
        """Add the waiting facts up into the counts."""
        pending, seconds = self._pending, BUCKET.total_seconds()
        with self._lock:
            counts = self._counts
            while pending:
                try:
                    moment, decision, application, path, origin, ip = pending.popleft()
                except IndexError:  # emptied by another thread meanwhile
                    break
                bucket = int(moment // seconds)
                self._add(counts, bucket, "decision", decision)
                if application:
                    self._add(counts, bucket, "application", application)
                if origin:
                    self._add(counts, bucket, "origin", origin)
                if decision not in PASSING:
                    self._add(counts, bucket, "refused_path", path)
                    if ip:
                        self._add(counts, bucket, "refused_address", ip)

    def _add(
        self, counts: Counter[tuple[int, str, str]], bucket: int, dimension: str, value: str
    ) -> None:
        key = (bucket, dimension, value[:_MAX_VALUE])
        if key not in counts and len(counts) >= MOST_KEYS:
            key = (bucket, dimension, OTHER)
        counts[key] += 1

    def _schedule(self) -> None:
        try:
            interval = conf.activity_flush_seconds
        except Exception:  # a misconfigured setting: `check` reports it; never fail a request
            interval = 0
        if interval == 0:
            return  # stays unscheduled: only `flush_activity` writes
        thread = threading.Thread(target=self._flush_later, args=(interval,), daemon=True)
        try:
            thread.start()
        except RuntimeError:  # no thread to be had now: the next decision tries again
            self._next_flush = 0.0

    def _flush_later(self, interval: int) -> None:
        time.sleep(interval)
        try:
            self.flush()
        except Exception:
            logger.exception("activity counts not written; kept for the next flush")
        finally:
            close_old_connections()
            connection.close()
            with self._lock:
                self._next_flush = 0.0

    def take(self) -> Counter[tuple[int, str, str]]:
        """The counts so far, forgetting them here."""
        self._compact()
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts

    def flush(self) -> int:
        """Add the counts so far to the database and apply the retention; returns the rows
        written. On a database error the counts are put back for the next flush."""
        counts = self.take()
        try:
            written = _write(counts)
        except Exception:
            with self._lock:
                self._counts.update(counts)
            raise
        _apply_retention()
        return written

    def forget(self) -> None:
        """Drop every count and schedule (tests start from nothing)."""
        with self._lock:
            self._pending.clear()
            self._counts.clear()
            self._next_flush = 0.0


counters = ActivityCounters()


def record_decision(
    *, decision: str, application: str, path: str, origin: str | None, ip: str
) -> None:
    """Count one gate decision in this process's counters."""
    counters.record(decision=decision, application=application, path=path, origin=origin, ip=ip)


def flush_activity() -> int:
    """Write this process's counts now (tests, and `manage.py` commands before they exit)."""
    return counters.flush()


def bucket_start(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * BUCKET.total_seconds(), tz=UTC)


def _write(counts: Counter[tuple[int, str, str]]) -> int:
    from identity.models import ActivityCount

    for (bucket, dimension, value), count in counts.items():
        start = bucket_start(bucket)
        rows = ActivityCount.objects.filter(bucket=start, dimension=dimension, value=value)
        if rows.update(count=F("count") + count):
            continue
        try:
            with transaction.atomic():
                ActivityCount.objects.create(
                    bucket=start, dimension=dimension, value=value, count=count
                )
        except IntegrityError:  # another process created it first
            rows.update(count=F("count") + count)
    return len(counts)


def _apply_retention() -> None:
    from identity.models import ActivityCount

    cutoff = timezone.now() - timedelta(days=conf.activity_retention_days)
    ActivityCount.objects.filter(bucket__lt=cutoff).delete()
