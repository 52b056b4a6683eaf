"""Fixtures shared by the whole suite."""

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Every test starts with an empty cache (Redis in CI is shared across runs)."""
    cache.clear()
    yield
    cache.clear()
