"""Tests CI requires: a skip among them is a failure where the environment says so.

`ACCESS_REQUIRE_MULTIPROCESS=1` (set by `.ci/run`'s PostgreSQL/Redis pass) requires every test
under `tests/production` and every test marked `multiprocess`: a run that skipped them has not
shown that several server processes over one PostgreSQL and Redis enforce the same thing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PRODUCTION_DIR = Path(__file__).resolve().parent / "production"


def multiprocess_is_required() -> bool:
    return os.environ.get("ACCESS_REQUIRE_MULTIPROCESS") == "1"


def is_multiprocess_test(item: pytest.Item) -> bool:
    return item.get_closest_marker("multiprocess") is not None or item.path.is_relative_to(
        PRODUCTION_DIR
    )


def fail_required_skip(item: pytest.Item, report: pytest.TestReport) -> None:
    """Turn `report`'s skip into a failure when `item` is a required test."""
    if not (report.skipped and multiprocess_is_required() and is_multiprocess_test(item)):
        return
    if hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = f"required (ACCESS_REQUIRE_MULTIPROCESS=1) but skipped: {reason}"
