"""gunicorn.conf.py reads every knob from the environment."""

import os
import runpy
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"

GUNICORN_VARIABLES = (
    "HOST",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "FORWARDED_ALLOW_IPS",
    "ACCESS_TRUSTED_PROXIES",
    "LOG_FORMAT",
)


@pytest.fixture
def load_config(monkeypatch):
    for name in GUNICORN_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def load(**variables: str) -> dict[str, object]:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONFIG))

    return load


def test_defaults(load_config):
    config = load_config()

    cores = len(os.sched_getaffinity(0))
    assert config["workers"] == 2 * cores + 1
    assert config["bind"] == ["0.0.0.0:8000"]
    assert config["preload_app"] is False
    assert config["forwarded_allow_ips"] == "127.0.0.1"
    assert config["accesslog"] == "-"
    assert config["timeout"] == 30
    assert config["wsgi_app"] == "accessproject.wsgi:application"
    assert "logconfig_dict" not in config


def test_workers_port_and_host_from_the_environment(load_config):
    config = load_config(WEB_CONCURRENCY="3", PORT="9001", HOST="127.0.0.1", GUNICORN_TIMEOUT="12")

    assert config["workers"] == 3
    assert config["bind"] == ["127.0.0.1:9001"]
    assert config["timeout"] == 12


def test_forwarded_allow_ips_follows_the_trusted_proxies(load_config):
    config = load_config(ACCESS_TRUSTED_PROXIES="10.0.0.0/8,192.0.2.1")

    assert config["forwarded_allow_ips"] == "10.0.0.0/8,192.0.2.1"


def test_forwarded_allow_ips_set_explicitly_wins(load_config):
    config = load_config(ACCESS_TRUSTED_PROXIES="10.0.0.0/8", FORWARDED_ALLOW_IPS="10.1.2.3")

    assert config["forwarded_allow_ips"] == "10.1.2.3"


def test_json_log_format_configures_gunicorn_loggers(load_config):
    config = load_config(LOG_FORMAT="json")

    logconfig = config["logconfig_dict"]
    assert logconfig["formatters"]["json"] == {"()": "accessproject.logging.JsonFormatter"}
    assert set(logconfig["loggers"]) == {"gunicorn.error", "gunicorn.access"}


def test_a_non_numeric_worker_count_stops_with_a_clear_message(load_config):
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be an integer, not 'many'"):
        load_config(WEB_CONCURRENCY="many")
