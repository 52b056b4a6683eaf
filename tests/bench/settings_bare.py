"""Anchor: Django with no application and no middleware serving the tiny view."""

from tests.bench.anchor_common import *  # noqa: F403

INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
