"""Anchor: Django's default stack (`startproject`'s applications and middleware), no gate."""

from tests.bench.anchor_common import *  # noqa: F403
from tests.bench.anchor_common import (
    DEFAULT_INSTALLED_APPS,
    DEFAULT_MIDDLEWARE,
    DEFAULT_TEMPLATES,
)

INSTALLED_APPS = DEFAULT_INSTALLED_APPS
MIDDLEWARE = DEFAULT_MIDDLEWARE
TEMPLATES = DEFAULT_TEMPLATES
STATIC_URL = "static/"
