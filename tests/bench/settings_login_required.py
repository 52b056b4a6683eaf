"""Anchor: Django's default stack with `LoginRequiredMiddleware` and a database session.

What a Django site does without a gate to keep anonymous people out: every request loads the
session row and the user row from the database before the view runs.
"""

from tests.bench.anchor_common import *  # noqa: F403
from tests.bench.anchor_common import (
    DEFAULT_INSTALLED_APPS,
    DEFAULT_MIDDLEWARE,
    DEFAULT_TEMPLATES,
)

INSTALLED_APPS = DEFAULT_INSTALLED_APPS
MIDDLEWARE = [*DEFAULT_MIDDLEWARE, "django.contrib.auth.middleware.LoginRequiredMiddleware"]
TEMPLATES = DEFAULT_TEMPLATES
STATIC_URL = "static/"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
LOGIN_URL = "/login/"
