"""Settings for accessproject, read from the environment (and a `.env` file) with django-environ.

Every variable is listed in README.md's configuration table. With `DEBUG` off the secure defaults
hold and `manage.py check --deploy` reports nothing.
"""

from importlib.util import find_spec
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from common.databases import with_sqlite_concurrency

BASE_DIR = Path(__file__).resolve().parent.parent


class _Env(environ.Env):
    """django-environ, strict: a value that is not what its variable needs stops the start with
    the variable's name, its value and what it takes (django-environ reads `DEBUG=maybe` as off
    and `ACCESS_VERSION_CHECK_INTERVAL=abc` as an error about an empty string)."""

    TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
    FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})
    EXPECTED = {
        bool: "true or false (1/0, yes/no, on/off)",
        int: "a whole number",
        float: "a number",
    }

    def get_value(
        self,
        var: str,
        cast: Any = None,
        default: Any = environ.Env.NOTSET,
        parse_default: bool = False,
    ) -> Any:
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError):
            expected = self.EXPECTED.get(cast, f"a {getattr(cast, '__name__', cast)}")
            raise ImproperlyConfigured(
                f"{var} must be {expected}, not {self.ENVIRON.get(var)!r}."
            ) from None

    @classmethod
    def parse_value(cls, value: Any, cast: Any) -> Any:
        if cast is bool and isinstance(value, str):
            word = value.strip().lower()
            if word not in cls.TRUE | cls.FALSE:
                raise ValueError(value)
            return word in cls.TRUE
        if cast is float and isinstance(value, str):
            return float(value)
        return super().parse_value(value, cast)


env = _Env()
# `make run` writes a `.env` with DEBUG=1 for development; production sets its environment itself.
# Read only when present: django-environ would log that it is missing once per process otherwise.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DATA_DIR = Path(env.str("ACCESS_DATA_DIR", default=str(BASE_DIR / "data")))

DEBUG = env.bool("DEBUG", default=False)

# SECRET_KEY from the environment, else the random key `make run` wrote to data/secret_key (so
# `manage.py` works after `make run` with nothing else set), else, in development only, a fixed one.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and (DATA_DIR / "secret_key").is_file():
    SECRET_KEY = (DATA_DIR / "secret_key").read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set SECRET_KEY in the environment (or in "
            f".env) to a long random value, or put one in {DATA_DIR / 'secret_key'}. For "
            "development, run `make run` once: it writes that file and a .env with DEBUG=1."
        )
    SECRET_KEY = "django-insecure-accessproject-development-only"

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", ".localhost"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from here, not from a CDN
    "common",
    "policies",
    "identity",
]

# Background work (PIN emails) goes through Django's tasks framework: `django.tasks` on Django 6,
# the `django-tasks` backport on Django 5.2 (identity/background.py imports whichever is here).
# TASK_BACKEND=immediate runs a task in the web process once the answer has been sent;
# TASK_BACKEND=database queues it in the database for `manage.py db_worker` (docs/deployment.md).
TASKS_PACKAGE = "django.tasks" if find_spec("django.tasks") is not None else "django_tasks"
if TASKS_PACKAGE == "django_tasks":
    INSTALLED_APPS.append("django_tasks")
TASK_BACKEND = env.str("TASK_BACKEND", default="immediate")
if TASK_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": f"{TASKS_PACKAGE}.backends.immediate.ImmediateBackend"}}
elif TASK_BACKEND == "database":
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
else:
    raise ImproperlyConfigured(
        f"TASK_BACKEND must be 'immediate' or 'database', not {TASK_BACKEND!r}."
    )

# The demo app lives in the repository, not in the installed package.
ACCESS_DEMO = env.bool("ACCESS_DEMO", default=DEBUG) and find_spec("demo") is not None
if ACCESS_DEMO:
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The gate runs before sessions, CSRF and authentication: a request it refuses costs nothing
    # more, and a preflight it answers never reaches them.
    "identity.middleware.AccessGateMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # On a path the gate protects, request.user is the account with the address the person signed
    # in with (identity/users.py): behind the gate the admin needs no second, password sign-in.
    "identity.users.AccessUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # the admin's password form, where it is open
    "identity.users.AccessUserBackend",
]

ROOT_URLCONF = "accessproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Every template lives in its app (identity/templates, ...), so the apps work installed
        # into another project.
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "accessproject.wsgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
if not DATABASES["default"].get("ENGINE"):
    raise ImproperlyConfigured(
        f"DATABASE_URL names no database this project knows: {env.str('DATABASE_URL')!r}. Use"
        " sqlite:///path/to/db.sqlite3 or postgres://user:password@host:5432/name."
    )
with_sqlite_concurrency(DATABASES["default"])
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://accessproject")}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="accessproject <noreply@localhost>")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security: with DEBUG off every secure default holds. TLS is usually terminated upstream; the
# proxy header is trusted only when the operator says so.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe health over plain HTTP: answer them, never redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "accessproject API",
    "DESCRIPTION": "Administer applications, policies, groups, service tokens, sessions and keys.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs pages run with the admin's session: their scripts come from our own static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Applications and identity providers both have a `type`: one enum name each.
    "ENUM_NAME_OVERRIDES": {
        "ApplicationTypeEnum": "policies.api.schemas.APPLICATION_TYPES",
        "IdentityProviderTypeEnum": "policies.api.schemas.IDENTITY_PROVIDER_TYPES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",  # drf-spectacular's default
        "accessproject.apidocs.describe_path_ids",
    ],
}

# LOG_FORMAT=json writes one JSON object per line (accessproject/logging.py), with the access log's
# structured fields at the top level; plain is for people reading a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "accessproject.logging.PlainFormatter"},
        "json": {"()": "accessproject.logging.JsonFormatter"},
    },
    "filters": {
        "not_access": {"()": "accessproject.logging.DropLogger", "name": "accessproject.access"},
        "without_traceback": {"()": "accessproject.logging.WithoutTraceback"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["not_access"],
        },
        # One record per decision, written in batches; refusals at once (accessproject/logging.py).
        "access": {"class": "accessproject.logging.BatchingStreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django gives its loggers a console handler of their own in DEBUG; they propagate to the
        # root's, so without this each of their lines would be printed twice.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # Any client may send any Host header: one line says which, not a traceback as well.
        "django.security.DisallowedHost": {"filters": ["without_traceback"]},
        "accessproject.access": {
            "level": env.str("ACCESS_LOG_LEVEL", default="INFO"),
            "handlers": ["access"],
        },
    },
}

# accessproject's own knobs, read lazily through policies.conf and identity.conf.
ACCESS_TEAM_DOMAIN = env.str("ACCESS_TEAM_DOMAIN", default="")
# The App Launcher at / on the login host (needs ACCESS_TEAM_DOMAIN); off: a short page there.
ACCESS_APP_LAUNCHER = env.bool("ACCESS_APP_LAUNCHER", default=False)
# The admin's activity dashboard: counts written every so many seconds, kept so many days.
ACCESS_ACTIVITY_FLUSH_SECONDS = env.int("ACCESS_ACTIVITY_FLUSH_SECONDS", default=10)
ACCESS_ACTIVITY_RETENTION_DAYS = env.int("ACCESS_ACTIVITY_RETENTION_DAYS", default=30)
ACCESS_KEY_ROTATION = env.str("ACCESS_KEY_ROTATION", default="1008h")
# How often each process asks whether the configuration changed (seconds): the default is
# common.versioning.DEFAULT_CHECK_INTERVAL, written here as a number since settings import no app.
ACCESS_VERSION_CHECK_INTERVAL = env.float("ACCESS_VERSION_CHECK_INTERVAL", default=0.5)
ACCESS_TRUSTED_PROXIES = env.list("ACCESS_TRUSTED_PROXIES", default=[])
ACCESS_APPLICATION_PORTS = env.list("ACCESS_APPLICATION_PORTS", default=[])
ACCESS_COUNTRY_HEADER = env.str("ACCESS_COUNTRY_HEADER", default="")
ACCESS_MAX_APPLICATION_PATTERNS = env.int("ACCESS_MAX_APPLICATION_PATTERNS", default=5)
ACCESS_SERVICE_TOKEN_ROTATION_GRACE = env.str("ACCESS_SERVICE_TOKEN_ROTATION_GRACE", default="24h")
# Sign-in limits (docs/security.md): IPv6 clients are counted per network of this length, and
# wrong one-time PINs are budgeted per hour per address, per application and overall.
ACCESS_THROTTLE_IPV6_PREFIX = env.int("ACCESS_THROTTLE_IPV6_PREFIX", default=56)
ACCESS_PIN_FAILURES_PER_ADDRESS = env.int("ACCESS_PIN_FAILURES_PER_ADDRESS", default=10)
ACCESS_PIN_FAILURES_PER_APPLICATION = env.int("ACCESS_PIN_FAILURES_PER_APPLICATION", default=10)
ACCESS_PIN_FAILURES_OVERALL = env.int("ACCESS_PIN_FAILURES_OVERALL", default=20)
