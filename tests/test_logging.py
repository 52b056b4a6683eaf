"""The background log handler: requests queue records, a thread writes them."""

import io
import logging
import threading

from accessproject.logging import BackgroundStreamHandler, JsonFormatter


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("accessproject.access", logging.INFO, __file__, 1, message, (), None)


def test_records_are_written_by_another_thread_with_the_configured_formatter():
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    writers = []
    original_emit = handler.writer.emit
    handler.writer.emit = lambda record: (
        writers.append(threading.current_thread()),
        original_emit(record),
    )

    handler.handle(_record("first"))
    handler.handle(_record("second"))
    handler.flush()

    assert stream.getvalue() == "INFO first\nINFO second\n"
    assert len(writers) == 2
    assert threading.current_thread() not in writers
    handler.close()


def test_json_lines_keep_the_access_record():
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    record = _record("allow GET")
    record.access = {"decision": "allow", "who": "alice@example.com"}

    handler.handle(record)
    handler.close()

    assert '"access":{"decision":"allow","who":"alice@example.com"}' in stream.getvalue()


def test_closing_twice_is_harmless():
    handler = BackgroundStreamHandler(io.StringIO())

    handler.close()
    handler.close()
