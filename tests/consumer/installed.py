"""accessproject built as a wheel and installed into a virtualenv of its own, as another project
would install it.

The wheel is built from a copy of the sources (never in the working tree, which other test
runs may share). Its dependencies (and the build backend) are installed once into a cached
virtualenv, keyed by the Python version, the Django version of this run and the dependency
list, in the suite's cache folder (`$XDG_CACHE_HOME/accessproject-tests`, else
`~/.cache/accessproject-tests`): later runs reuse it.
Each run then makes a fresh virtualenv that sees those dependencies (a `.pth` line) and installs
the wheel into it with pip, so what the installed site imports comes from the wheel and nothing
else: the repository is not on its path.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import django

from tests.npm import cache_root

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("accessproject", "common", "policies", "identity")
BUILD_FILES = ("pyproject.toml", "README.md")
PIP_TIMEOUT = 600


class InstallError(RuntimeError):
    """The wheel could not be built or installed."""


@dataclass(frozen=True)
class InstalledPackage:
    """A virtualenv with the wheel installed: its Python, and the wheel it came from."""

    python: Path
    wheel: Path

    def site_packages(self) -> Path:
        return Path(_site_packages(self.python.parent.parent))


def _run(command: list[str], **kwargs: object) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, **kwargs)
    if result.returncode != 0:
        raise InstallError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def build_wheel(destination: Path) -> Path:
    """The wheel of the project's current sources, built from a copy of them (with the build
    backend of the cached environment: no fresh build environment to download each time)."""
    builder = dependency_environment() / "bin" / "python"
    source = destination / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    for name in BUILD_FILES:
        shutil.copy2(ROOT / name, source / name)
    wheels = destination / "wheels"
    _run(
        [
            str(builder),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--disable-pip-version-check",
            "-w",
            str(wheels),
            ".",
        ],
        cwd=source,
    )
    (wheel,) = wheels.glob("accessproject-*.whl")
    return wheel


def _dependencies() -> list[str]:
    """The project's dependencies and its build backend."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # The Django of this run, so the installed site runs on what the rest of the suite does.
    pinned = [f"Django=={django.get_version()}"]
    others = [
        item for item in pyproject["project"]["dependencies"] if not item.startswith("Django")
    ]
    return pinned + others + pyproject["build-system"]["requires"]


def _site_packages(prefix: Path) -> str:
    return sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def dependency_environment() -> Path:
    """The cached virtualenv holding the dependencies and the build backend (made on first
    use); its prefix."""
    requirements = _dependencies()
    key = hashlib.sha256("\n".join([sys.version, *sorted(requirements)]).encode()).hexdigest()[:16]
    prefix = cache_root() / f"dependencies-{key}"
    with _locked(cache_root() / f"dependencies-{key}.lock"):
        if (prefix / "complete").exists():
            return prefix
        shutil.rmtree(prefix, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(prefix)])
        _run(
            [
                str(prefix / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *requirements,
            ]
        )
        (prefix / "complete").write_text("\n".join(requirements) + "\n")
    return prefix


def install(wheel: Path, destination: Path) -> InstalledPackage:
    """A fresh virtualenv at `destination` that sees the cached dependencies, with `wheel`
    installed into it by pip."""
    dependencies = dependency_environment()
    _run([sys.executable, "-m", "venv", "--without-pip", str(destination)])
    site_packages = Path(_site_packages(destination))
    (site_packages / "accessproject-test-dependencies.pth").write_text(
        _site_packages(dependencies) + "\n"
    )
    _run(
        [
            str(dependencies / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-compile",
            "--target",
            str(site_packages),
            str(wheel),
        ]
    )
    return InstalledPackage(python=destination / "bin" / "python", wheel=wheel)
