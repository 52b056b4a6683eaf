"""The access log's writer: records in batches, refusals at once, nothing left behind."""

from __future__ import annotations

import io
import logging
import weakref

import pytest

from accessproject import logging as project_logging
from accessproject.logging import BatchingStreamHandler, DropLogger, PlainFormatter


def _record(
    decision: str | None, *, level: int = logging.INFO, name: str = "access"
) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, f"{decision} GET /x", None, None)
    if decision is not None:
        record.access = {"decision": decision, "path": "/x"}
    return record


def _handler(capacity: int = 256) -> tuple[BatchingStreamHandler, io.StringIO]:
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, capacity=capacity, max_delay=3600)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler, stream


def test_passing_decisions_wait_for_the_batch():
    handler, stream = _handler()

    handler.handle(_record("allow"))
    handler.handle(_record("preflight_answered"))

    assert stream.getvalue() == ""
    handler.flush()
    assert stream.getvalue() == "allow GET /x\npreflight_answered GET /x\n"


@pytest.mark.parametrize("decision", ["deny", "unauthenticated", "misdirected", "bad_path"])
def test_a_refusal_is_written_at_once_after_what_came_before(decision):
    handler, stream = _handler()

    handler.handle(_record("allow"))
    handler.handle(_record(decision))

    assert stream.getvalue() == f"allow GET /x\n{decision} GET /x\n"


def test_a_warning_is_written_at_once():
    handler, stream = _handler()

    handler.handle(_record(None, level=logging.WARNING))

    assert stream.getvalue() == "None GET /x\n"


def test_a_full_batch_is_written():
    handler, stream = _handler(capacity=3)

    handler.handle(_record("allow"))
    handler.handle(_record("allow"))
    assert stream.getvalue() == ""
    handler.handle(_record("allow"))

    assert stream.getvalue().count("allow") == 3


def test_a_quiet_buffer_is_written_by_the_flusher(monkeypatch):
    handler, stream = _handler()
    handler.handle(_record("allow"))
    reference = weakref.ref(handler)
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            nonlocal handler
            del handler  # the handler goes away: the flusher ends

    monkeypatch.setattr(project_logging.time, "sleep", nap)
    project_logging._flush_periodically(reference, 0.25)

    assert stream.getvalue() == "allow GET /x\n"
    assert naps == [0.25, 0.25]


def test_the_console_handler_leaves_access_records_to_their_own():
    drop = DropLogger("accessproject.access")

    assert not drop.filter(_record("allow", name="accessproject.access"))
    assert drop.filter(_record("allow", name="accessproject.snapshot"))


def test_plain_formatter_writes_what_the_standard_formatter_writes():
    standard = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    record = _record("allow", name="accessproject.access")

    plain = PlainFormatter()

    assert plain.format(record) == standard.format(record)
    later = _record("deny", name="accessproject.access")
    later.created += 61  # another second: the cached stamp must not be reused
    later.msecs = 7.0
    assert plain.format(later) == standard.format(later)


def test_plain_formatter_writes_tracebacks_and_stacks_as_the_standard_formatter_does():
    standard = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, exc_info)
    record.stack_info = "Stack (most recent call last):\n  here"
    twin = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, exc_info)
    twin.stack_info = record.stack_info
    twin.created, twin.msecs = record.created, record.msecs

    assert PlainFormatter().format(record) == standard.format(twin)
