"""The project's settings with the benchmark's URLconf: one tiny view at three paths."""

from accessproject.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls"
