"""gunicorn started with gunicorn.conf.py and LOG_FORMAT=json writes its own records as JSON."""

import json
import os
import time

import pytest

from tests.production.servers import Instance

pytestmark = pytest.mark.multiprocess


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_gunicorn_access_records_are_json_with_named_fields(tmp_path):
    environment = {
        **os.environ,
        "DEBUG": "1",
        "ACCESS_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://json-logs",
        "WEB_CONCURRENCY": "1",
        "LOG_FORMAT": "json",
    }
    instance = Instance("json-logs", environment, tmp_path).start()
    try:
        assert instance.request("GET", "/healthz", host="127.0.0.1").status == 200
        deadline = time.monotonic() + 10
        while True:
            access = [
                record
                for record in _json_lines(instance.log())
                if record.get("logger") == "gunicorn.access"
            ]
            if access or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        instance.stop()

    assert access, instance.log()
    assert access[-1]["path"] == "/healthz"
    assert access[-1]["method"] == "GET"
    assert access[-1]["status"] == 200
    assert access[-1]["remote_addr"] == "127.0.0.1"
    assert any(record.get("logger") == "gunicorn.error" for record in _json_lines(instance.log()))
