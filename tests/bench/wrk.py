"""Drive one path with `wrk` and read its report."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


class WrkError(RuntimeError):
    """wrk is missing, failed, or reported failed requests."""


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_seconds: float
    p99_seconds: float
    requests: int
    socket_errors: int
    non_2xx_3xx: int


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise WrkError(f"unreadable latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk_output(output: str) -> WrkResult:
    """The figures of a `wrk --latency` report."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if not (rate and p50 and p99 and total):
        raise WrkError(f"unreadable wrk output:\n{output}")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests_per_second=float(rate.group(1)),
        p50_seconds=_seconds(p50.group(1)),
        p99_seconds=_seconds(p99.group(1)),
        requests=int(total.group(1)),
        socket_errors=sum(int(value) for value in errors.groups()) if errors else 0,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def wrk_executable() -> str:
    """The path of `wrk` (Debian: `apt-get install -y wrk`)."""
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not installed: apt-get install -y wrk")
    return found


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    headers: dict[str, str],
    method: str = "GET",
) -> WrkResult:
    """Drive `url` for `seconds` and return the figures; any failed request is an error."""
    command = [
        wrk_executable(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",  # wrk reads "3s", not "3.0s"
        "--latency",
        "--timeout",
        "5s",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory() as directory:
        if method != "GET":
            # wrk has no method flag: a one-line script sets it.
            script = Path(directory) / "method.lua"
            script.write_text(f'wrk.method = "{method}"\n')
            command += ["-s", str(script)]
        command.append(url)
        completed = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=seconds + 30
        )
    if completed.returncode != 0:
        raise WrkError(f"wrk failed ({completed.returncode}): {completed.stderr}")
    result = parse_wrk_output(completed.stdout)
    if result.non_2xx_3xx or result.socket_errors:
        raise WrkError(
            f"{url}: {result.non_2xx_3xx} non-2xx/3xx answers and "
            f"{result.socket_errors} socket errors:\n{completed.stdout}"
        )
    return result
