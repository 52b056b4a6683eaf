"""Packages from the npm registry that the tests need, installed by the tests themselves.

`installed_npm_package` runs `npm install` once per package and version, into a cache folder
outside the repository (`$XDG_CACHE_HOME/accessproject-tests`, else
`~/.cache/accessproject-tests`), under a file lock so that parallel runs share one install.
Without node and npm, or when the install fails, the caller's `unavailable` decides: a skip, or
a failure where the run requires what the package is for.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

INSTALL_TIMEOUT = 600


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "accessproject-tests"


def installed_npm_package(
    name: str,
    version: str,
    *,
    unavailable: Callable[[str], NoReturn],
    package_fields: dict[str, Any] | None = None,
) -> Path:
    """The folder whose `node_modules` holds `name` at exactly `version` (installed once).

    `package_fields` go into the folder's own package.json (`{"type": "module"}` for a script
    that runs there and imports the package)."""
    if shutil.which("node") is None or (npm := shutil.which("npm")) is None:
        unavailable("node and npm are not installed")
    directory = cache_root() / f"{name}-{version}"
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / "node_modules" / name / "package.json"
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            (directory / "package.json").write_text(
                json.dumps(
                    {
                        "name": f"accessproject-tests-{name}",
                        "private": True,
                        **(package_fields or {}),
                        "dependencies": {name: version},
                    }
                )
            )
            result = subprocess.run(  # noqa: S603 (npm found on PATH, fixed arguments)
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
            if result.returncode != 0 or not marker.exists():
                unavailable(f"npm install {name}@{version} failed: {result.stderr[-2000:]}")
    return directory
