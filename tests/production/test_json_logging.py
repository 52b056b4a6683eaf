"""The JSON log formatter: one object per line, with the `extra` fields at the top level."""

import json
import logging
import os
import subprocess
import sys
from ipaddress import IPv4Address

from accessproject.logging import JsonFormatter


def _record(
    message: str = "hello %s",
    args: object = ("world",),
    *,
    name: str = "accessproject.access",
    level: int = logging.INFO,
    extra: dict[str, object] | None = None,
    exc_info: object = None,
) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, message, args, exc_info)  # type: ignore[arg-type]
    record.created = 1767225600.25  # 2026-01-01T00:00:00.250Z
    for key, value in (extra or {}).items():
        setattr(record, key, value)
    return record


def _format(record: logging.LogRecord) -> dict[str, object]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_standard_fields():
    payload = _format(_record())

    assert payload["time"] == "2026-01-01T00:00:00.250+00:00"
    assert payload["level"] == "INFO"
    assert payload["logger"] == "accessproject.access"
    assert payload["message"] == "hello world"
    assert isinstance(payload["process"], int)


def test_extra_fields_become_top_level_keys():
    payload = _format(_record(extra={"outcome": "deny", "application": "wiki", "status": 403}))

    assert payload["outcome"] == "deny"
    assert payload["application"] == "wiki"
    assert payload["status"] == 403


def test_extra_fields_through_a_real_logger():
    logger = logging.getLogger("tests.production.json")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning("refused", extra={"reason": "expired"})
    finally:
        logger.removeHandler(handler)

    payload = _format(records[0])

    assert payload["reason"] == "expired"
    assert payload["level"] == "WARNING"
    assert "args" not in payload
    assert "msg" not in payload


def test_extra_field_named_like_a_standard_field_does_not_overwrite_it():
    payload = _format(_record(extra={"time": "forged"}))

    assert payload["time"] == "2026-01-01T00:00:00.250+00:00"
    assert payload["extra_time"] == "forged"


def test_values_json_cannot_carry_are_written_as_text():
    payload = _format(_record(extra={"ip": IPv4Address("192.0.2.7")}))

    assert payload["ip"] == "192.0.2.7"


def test_non_ascii_and_newlines_stay_on_one_line():
    payload = _format(_record("línea\nsegunda", ()))

    assert payload["message"] == "línea\nsegunda"


def test_exception_is_included():
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()

    payload = _format(_record(level=logging.ERROR, exc_info=exc_info))

    assert "ValueError: boom" in str(payload["exception"])


def test_gunicorn_access_atoms_become_named_fields():
    atoms = {"h": "192.0.2.7", "m": "GET", "U": "/app", "q": "", "s": "200", "B": 2, "M": 3}
    record = _record('%(h)s "%(m)s %(U)s" %(s)s', (atoms,), name="gunicorn.access")

    payload = _format(record)

    assert payload["message"] == '192.0.2.7 "GET /app" 200'
    assert payload["remote_addr"] == "192.0.2.7"
    assert payload["method"] == "GET"
    assert payload["path"] == "/app"
    assert payload["status"] == 200
    assert payload["bytes"] == 2
    assert payload["duration_ms"] == 3


def _django_logs(log_format: str) -> subprocess.CompletedProcess[str]:
    """Configure Django in a fresh interpreter with LOG_FORMAT and log one access record."""
    script = (
        "import logging, django; django.setup(); "
        "logging.getLogger('accessproject.access').info('allowed', extra={'outcome': 'allow'})"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "DEBUG": "1", "LOG_FORMAT": log_format},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_log_format_json_writes_json_lines():
    result = _django_logs("json")

    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stderr.strip().splitlines()[-1])
    assert payload["logger"] == "accessproject.access"
    assert payload["message"] == "allowed"
    assert payload["outcome"] == "allow"


def test_settings_log_format_plain_writes_text():
    result = _django_logs("plain")

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("INFO accessproject.access allowed")


def test_settings_refuse_an_unknown_log_format():
    result = _django_logs("xml")

    assert result.returncode != 0
    assert "LOG_FORMAT must be 'plain' or 'json', not 'xml'" in result.stderr
