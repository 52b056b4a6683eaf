"""gunicorn settings for accessproject: `gunicorn -c gunicorn.conf.py`.

Every knob comes from the environment, so one file serves production, CI and `make bench`
(docs/deployment.md lists the variables).
"""

import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, not {value!r}") from None


def _default_workers() -> int:
    # The cores this process may run on (a container's CPU set), not every core of the host.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 * (cores or 1) + 1


wsgi_app = "accessproject.wsgi:application"

bind = [f"{os.environ.get('HOST', '0.0.0.0')}:{_env_int('PORT', 8000)}"]  # noqa: S104
workers = _env_int("WEB_CONCURRENCY", _default_workers())
threads = _env_int("GUNICORN_THREADS", 1)
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Longer than a load balancer's idle timeout would be pointless; shorter makes it reconnect.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# Each worker builds its own snapshot and opens its own database and cache connections: loading
# the application in the master would share sockets across forks and a snapshot no worker refreshes.
preload_app = False

# X-Forwarded-Proto and friends are believed only from these addresses: the proxies that terminate
# TLS in front of gunicorn. Keep in line with ACCESS_TRUSTED_PROXIES (the gate's client-IP rule).
forwarded_allow_ips = os.environ.get(
    "FORWARDED_ALLOW_IPS", os.environ.get("ACCESS_TRUSTED_PROXIES", "127.0.0.1")
)

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'

if os.environ.get("LOG_FORMAT", "plain") == "json":
    # gunicorn's own records (startup, worker restarts, one per request) in the same JSON shape as
    # Django's, so one log pipeline parses both.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "accessproject.logging.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "gunicorn.error": {
                "handlers": ["console"],
                "level": loglevel.upper(),
                "propagate": False,
            },
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
