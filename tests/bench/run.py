"""`make bench`: the project against plain Django in one interleaved run, the 10,000-application
runs, and the decision in process; every target printed with met or MISSED.

1. HTTP. gunicorn serves the same tiny view from four settings modules at once: the project
   (a path no application covers, a protected path with a valid cookie, a preflight the gate
   answers) and three anchors under tests/bench/ (bare Django, Django's default stack, and the
   default stack with `LoginRequiredMiddleware` and a database session). wrk drives each scenario
   in turn (A, B, C, ..., A, B, C, ...), so drift in the machine's speed hits all of them alike;
   ratios are medians of per-round ratios.
2. Scale. The project with 10,000 applications (1,000 policies): protected requests with and
   without a logout storm (10 sign-outs a second from another process), alternating.
3. In process: the snapshot's build time and memory at 10,000 applications, the decision for 10
   and 10,000 applications, the gate's whole decision, the WSGI handler in a loop, SQL per request.

Nothing here runs under `make test`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench import activity
from tests.bench.seed import (
    UNAUTHENTICATED,
    Scenario,
    anchor_scenarios,
    bench_environment,
    scenarios,
)
from tests.bench.wrk import WrkResult, run_wrk, wrk_executable
from tests.processes import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Targets (ratios of throughput within one run; timings as medians).
PROTECTED_PER_OPEN = 0.95
OPEN_PER_DEFAULT_STACK = 0.95
PREFLIGHT_PER_BARE = 1.2
PROTECTED_PER_LOGIN_REQUIRED = 4.0
SCALE_DECISION_RATIO = 1.2
GATE_DECISION_SECONDS = 8e-6
SNAPSHOT_BUILD_SECONDS = 0.5
SNAPSHOT_BYTES = 50 * 1024 * 1024
STORM_P99_RATIO = 1.2
LOGOUTS_PER_SECOND = 10.0

# Which settings module and WSGI application serve each server's scenarios.
SERVERS: dict[str, tuple[str, str | None]] = {
    "project": ("tests.bench.settings", None),  # gunicorn.conf.py's accessproject.wsgi
    "bare": ("tests.bench.settings_bare", "tests.bench.anchor_wsgi:application"),
    "default_stack": ("tests.bench.settings_default_stack", "tests.bench.anchor_wsgi:application"),
    "login_required": (
        "tests.bench.settings_login_required",
        "tests.bench.anchor_wsgi:application",
    ),
}


@dataclass
class Figures:
    runs: list[WrkResult] = field(default_factory=list)

    @property
    def requests_per_second(self) -> float:
        return statistics.median(run.requests_per_second for run in self.runs)

    @property
    def p50(self) -> float:
        return statistics.median(run.p50_seconds for run in self.runs)

    @property
    def p99(self) -> float:
        return statistics.median(run.p99_seconds for run in self.runs)

    @property
    def rates(self) -> list[float]:
        return [run.requests_per_second for run in self.runs]


@dataclass(frozen=True)
class Target:
    """One target of the performance issue, and whether this run met it."""

    name: str
    value: float
    limit: float
    at_least: bool  # value >= limit (else value <= limit, or < for strict)
    shown: str
    strict: bool = False

    @property
    def met(self) -> bool:
        if self.at_least:
            return self.value >= self.limit
        return self.value < self.limit if self.strict else self.value <= self.limit

    def line(self) -> str:
        sign = ">=" if self.at_least else ("<" if self.strict else "<=")
        verdict = "met" if self.met else "MISSED"
        return f"  {self.name:<58}{self.shown:>12}  (target {sign} {self._limit()}: {verdict})"

    def _limit(self) -> str:
        if self.shown.endswith("µs"):
            return f"{self.limit * 1e6:g} µs"
        if self.shown.endswith(" s"):
            return f"{self.limit:g} s"
        if self.shown.endswith("MB"):
            return f"{self.limit / 2**20:g} MB"
        return f"{self.limit:g}x" if self.shown.endswith("x") else f"{self.limit:g}"


def ratio_target(name: str, value: float, limit: float, *, at_least: bool = True) -> Target:
    return Target(name, value, limit, at_least, f"{value:.2f}x")


def _request(port: int, scenario: Scenario) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(scenario.method, scenario.path, headers=scenario.headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def _check(port: int, scenario: Scenario) -> None:
    """One request answered as the scenario expects, or the benchmark measures the wrong thing."""
    response = _request(port, scenario)
    if response.status != scenario.expected_status:
        raise SystemExit(
            f"{scenario.name}: {scenario.method} {scenario.path} answered {response.status}, "
            f"not {scenario.expected_status}"
        )
    if scenario.expected_header is not None:
        name, value = scenario.expected_header
        if response.getheader(name) != value:
            raise SystemExit(f"{scenario.name}: {name} is {response.getheader(name)!r}")


@contextmanager
def _gunicorn(
    environment: dict[str, str], log_path: Path, port: int, application: str | None = None
) -> Iterator[None]:
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    if application is not None:
        command.append(application)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not start; see {log_path}") from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def _environment(directory: str, port: int, server: str, arguments: argparse.Namespace) -> dict:
    settings_module, _ = SERVERS[server]
    return {
        **os.environ,
        **bench_environment(data_dir=directory, port=port),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "WEB_CONCURRENCY": str(arguments.workers),
        "ACCESS_LOG_LEVEL": arguments.access_log_level,
    }


def _seed(environment: dict[str, str], mode: str) -> dict[str, Any]:
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.bench.seed", mode],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if seeded.returncode != 0:
        raise SystemExit(f"seeding ({mode}) failed:\n{seeded.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(seeded.stdout.strip().splitlines()[-1])
    return result


def _wrk(port: int, scenario: Scenario, seconds: float, arguments: argparse.Namespace) -> WrkResult:
    return run_wrk(
        f"http://127.0.0.1:{port}{scenario.path}",
        seconds=seconds,
        connections=arguments.connections,
        threads=arguments.threads,
        headers=scenario.headers,
        method=scenario.method,
    )


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_http(arguments: argparse.Namespace) -> dict[str, Figures]:
    """Serve the tiny view from the project and the three anchors; drive each scenario with wrk."""
    wrk_executable()  # fail before any set-up when wrk is missing
    with tempfile.TemporaryDirectory(prefix="accessproject-bench-") as directory:
        ports = {server: free_port() for server in SERVERS}
        environments = {
            server: _environment(directory, ports[server], server, arguments) for server in SERVERS
        }
        cookie = _seed(environments["project"], "project")["cookie"]
        session_cookie = _seed(environments["login_required"], "anchor")["session_cookie"]
        measured = [*anchor_scenarios(cookie, session_cookie), *scenarios(cookie)]
        figures = {scenario.name: Figures() for scenario in measured}
        with ExitStack() as servers:
            for server, (_, application) in SERVERS.items():
                log_path = Path(directory) / f"gunicorn-{server}.log"
                servers.enter_context(
                    _gunicorn(environments[server], log_path, ports[server], application)
                )
            for scenario in [*measured, UNAUTHENTICATED]:
                _check(ports[scenario.server], scenario)
            for round_number in range(-1, arguments.rounds):  # round 0 warms every worker up
                for scenario in measured:
                    seconds = 1 if round_number < 0 else arguments.seconds
                    result = _wrk(ports[scenario.server], scenario, seconds, arguments)
                    if round_number >= 0:
                        figures[scenario.name].runs.append(result)
                        _say(
                            f"  round {round_number + 1} {scenario.name:<16}"
                            f"{result.requests_per_second:>10.0f} req/s"
                        )
            for scenario in measured:
                _check(ports[scenario.server], scenario)
    return figures


def run_scale(arguments: argparse.Namespace) -> dict[str, Any]:
    """Protected requests with 10,000 applications configured, with and without a logout storm."""
    wrk_executable()
    with tempfile.TemporaryDirectory(prefix="accessproject-bench-") as directory:
        port = free_port()
        environment = _environment(directory, port, "project", arguments)
        cookie = _seed(environment, "scale")["cookie"]
        protected = next(one for one in scenarios(cookie) if one.name == "protected")
        quiet, storm = Figures(), Figures()
        logouts: list[float] = []
        with _gunicorn(environment, Path(directory) / "gunicorn-scale.log", port):
            _check(port, protected)
            _wrk(port, protected, 2, arguments)  # every worker builds its snapshot first
            for round_number in range(arguments.rounds):
                quiet.runs.append(_wrk(port, protected, arguments.seconds, arguments))
                blowing = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.bench.storm",
                        str(LOGOUTS_PER_SECOND),
                        str(arguments.seconds + 1.5),
                    ],
                    cwd=PROJECT_DIR,
                    env=environment,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                time.sleep(1.0)  # the storm is blowing (django.setup and first logouts) first
                storm.runs.append(_wrk(port, protected, arguments.seconds, arguments))
                output, _ = blowing.communicate(timeout=60)
                if blowing.returncode != 0:
                    raise SystemExit("the logout storm failed")
                made = json.loads(output.strip().splitlines()[-1])
                logouts.append(made["logouts"] / made["seconds"])
                _say(
                    f"  scale round {round_number + 1}: p99 {quiet.runs[-1].p99_seconds * 1e3:.2f}"
                    f" ms quiet, {storm.runs[-1].p99_seconds * 1e3:.2f} ms with"
                    f" {logouts[-1]:.1f} logouts/s"
                )
                time.sleep(3.0)  # let the last rebuilds settle before the next quiet run
            _check(port, protected)
    return {"quiet": quiet, "storm": storm, "logouts_per_second": statistics.median(logouts)}


def run_in_process(arguments: argparse.Namespace) -> dict[str, Any]:
    """The in-process benchmarks, in a fresh interpreter and database."""
    return _run_module("tests.bench.inprocess", arguments)


def _run_module(module: str, arguments: argparse.Namespace) -> dict[str, Any]:
    """Run `python -m module ROUNDS` in a fresh interpreter and database; its last line of
    output is JSON."""
    with tempfile.TemporaryDirectory(prefix="accessproject-bench-") as directory:
        environment = _environment(directory, 0, "project", arguments)
        completed = subprocess.run(
            [sys.executable, "-m", module, str(arguments.in_process_rounds)],
            cwd=PROJECT_DIR,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
    if completed.returncode != 0:
        raise SystemExit(f"{module} failed:\n{completed.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def run_activity(arguments: argparse.Namespace) -> list[Target]:
    """The activity counters' cost per decision (tests/bench/activity.py)."""
    result = _run_module("tests.bench.activity", arguments)
    return activity.report(result, Target)  # type: ignore[return-value]


def run_profile(arguments: argparse.Namespace) -> None:
    """cProfile over the WSGI loop and a snapshot build, in a fresh interpreter and database."""
    # The log records go to a real file, as a worker's stream would carry them.
    with tempfile.TemporaryDirectory(prefix="accessproject-bench-") as directory:
        log_path = Path(directory) / "profile.log"
        with log_path.open("w") as log:
            subprocess.run(
                [sys.executable, "-m", "tests.bench.profile"],
                cwd=PROJECT_DIR,
                env=_environment(directory, 0, "project", arguments),
                stderr=log,
                check=True,
            )


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median of per-round ratios: runs next to each other in time share the same noise."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def print_http(figures: dict[str, Figures], arguments: argparse.Namespace) -> list[Target]:
    print(
        f"HTTP: gunicorn {arguments.workers} sync worker(s) per server; wrk {arguments.threads} "
        f"thread(s), {arguments.connections} connections; {arguments.rounds} interleaved rounds "
        f"of {arguments.seconds:g} s; access log {arguments.access_log_level}; medians"
    )
    bare = figures["bare Django"].rates
    open_path = figures["unprotected"].rates
    print(
        f"  {'request':<18}{'requests/s':>12}{'p50':>11}{'p99':>11}"
        f"{'÷ bare Django':>15}{'÷ open path':>13}"
    )
    for name, figure in figures.items():
        print(
            f"  {name:<18}{figure.requests_per_second:>12.0f}"
            f"{_milliseconds(figure.p50):>11}{_milliseconds(figure.p99):>11}"
            f"{median_ratio(figure.rates, bare):>14.2f}x"
            f"{median_ratio(figure.rates, open_path):>12.2f}x"
        )
    protected = figures["protected"].rates
    return [
        ratio_target(
            "protected ÷ open path (HTTP)", median_ratio(protected, open_path), PROTECTED_PER_OPEN
        ),
        ratio_target(
            "path no application covers ÷ Django's default stack",
            median_ratio(open_path, figures["default stack"].rates),
            OPEN_PER_DEFAULT_STACK,
        ),
        ratio_target(
            "gate-answered preflight ÷ bare Django view",
            median_ratio(figures["preflight"].rates, bare),
            PREFLIGHT_PER_BARE,
        ),
        ratio_target(
            "protected ÷ LoginRequiredMiddleware + database session",
            median_ratio(protected, figures["login required"].rates),
            PROTECTED_PER_LOGIN_REQUIRED,
        ),
    ]


def print_scale(result: dict[str, Any], arguments: argparse.Namespace) -> list[Target]:
    quiet: Figures = result["quiet"]
    storm: Figures = result["storm"]
    print(
        f"Scale: 10,000 applications (1,000 policies), protected requests, {arguments.rounds} "
        f"rounds of {arguments.seconds:g} s alternating without and with a logout storm "
        f"({result['logouts_per_second']:.1f} logouts/s measured)"
    )
    print(f"  {'':<22}{'requests/s':>12}{'p50':>11}{'p99':>11}")
    for name, figure in (("without logouts", quiet), ("with logouts", storm)):
        print(
            f"  {name:<22}{figure.requests_per_second:>12.0f}"
            f"{_milliseconds(figure.p50):>11}{_milliseconds(figure.p99):>11}"
        )
    ratio = median_ratio(
        [run.p99_seconds for run in storm.runs], [run.p99_seconds for run in quiet.runs]
    )
    return [
        ratio_target(
            "p99 with 10 logouts/s ÷ p99 without (10,000 applications)",
            ratio,
            STORM_P99_RATIO,
            at_least=False,
        )
    ]


def print_in_process(result: dict[str, Any]) -> list[Target]:
    wsgi: dict[str, list[float]] = result["wsgi"]
    print(
        "WSGI application in process (accessproject.wsgi), the three requests alternating "
        "(no server, no load generator; CPU time, median and 10th percentile of single requests)"
    )
    print(f"  {'path':<14}{'p50 µs':>10}{'p10 µs':>10}{'requests/s at p50':>20}")
    medians = {}
    for name, samples in wsgi.items():
        ordered = sorted(samples)
        medians[name] = statistics.median(ordered)
        tenth = ordered[len(ordered) // 10]
        print(
            f"  {name:<14}{medians[name] * 1e6:>10.1f}{tenth * 1e6:>10.1f}"
            f"{1 / medians[name]:>20.0f}"
        )
    # Throughput ratio = the inverse of the time ratio.
    in_process = medians["unprotected"] / medians["protected"]
    print(f"  protected ÷ open path in process  {in_process:.2f}x")

    snapshot = result["snapshot"]
    print(
        f"Snapshot of {snapshot['applications']:,} applications"
        f" ({snapshot['policies']:,} policies):"
        f" built in {snapshot['build_seconds'] * 1000:.0f} ms of CPU"
        f" ({snapshot['build_wall_seconds'] * 1000:.0f} ms wall; medians), holds"
        f" {snapshot['held_bytes'] / 2**20:.1f} MB (tracemalloc; peak during the build"
        f" {snapshot['peak_bytes'] / 2**20:.1f} MB); a fresh process's resident set grows by"
        f" {snapshot['resident_bytes'] / 2**20:.1f} MB building and holding it"
    )
    timings = result["timings"]
    print("Decision, in process (CPU time, median of rounds)")
    for timing in timings:
        print(
            f"  {timing['label']:<30}{timing['per_decision_seconds'] * 1e6:>7.2f} µs per decision"
            f"  ({timing['policies']} policies)"
        )
    gate = timings[-1]["per_decision_seconds"]
    same, spread = result["scale"].values()
    print(f"  10,000 / 10 applications, requests over 1,000 of them  {spread:.2f}x")
    return [
        Target(
            "whole gate decision, token seen before (match, reuse)",
            gate,
            GATE_DECISION_SECONDS,
            False,
            f"{gate * 1e6:.2f} µs",
        ),
        ratio_target(
            "decision 10,000 ÷ 10 applications", same, SCALE_DECISION_RATIO, at_least=False
        ),
        Target(
            "snapshot build, 10,000 applications (CPU time)",
            snapshot["build_seconds"],
            SNAPSHOT_BUILD_SECONDS,
            False,
            f"{snapshot['build_seconds']:.2f} s",
            strict=True,
        ),
        Target(
            "snapshot memory, 10,000 applications (held)",
            snapshot["held_bytes"],
            SNAPSHOT_BYTES,
            False,
            f"{snapshot['held_bytes'] / 2**20:.1f} MB",
            strict=True,
        ),
        Target(
            "snapshot resident memory, 10,000 applications (RSS)",
            snapshot["resident_bytes"],
            SNAPSHOT_BYTES,
            False,
            f"{snapshot['resident_bytes'] / 2**20:.1f} MB",
            strict=True,
        ),
        Target(
            f"SQL queries over {result['gated_requests']} protected requests",
            result["queries"],
            0,
            False,
            str(result["queries"]),
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5, help="wrk run length per scenario")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument(
        "--in-process-rounds", type=int, default=7, help="rounds (x1000 WSGI requests each)"
    )
    parser.add_argument(
        "--access-log-level", default="INFO", help="ACCESS_LOG_LEVEL (INFO logs every decision)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print cProfile's view of each request and of a snapshot build, and stop",
    )
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-in-process", action="store_true")
    arguments = parser.parse_args(argv)
    if arguments.profile:
        run_profile(arguments)
        return

    steps: list[tuple[bool, Callable[[], list[Target]]]] = [
        (arguments.skip_http, lambda: print_http(run_http(arguments), arguments)),
        (arguments.skip_scale, lambda: print_scale(run_scale(arguments), arguments)),
        (arguments.skip_in_process, lambda: print_in_process(run_in_process(arguments))),
        (arguments.skip_in_process, lambda: run_activity(arguments)),
    ]
    targets: list[Target] = []
    for skipped, step in steps:
        if not skipped:
            targets += step()
            sys.stdout.flush()
    print("Targets")
    for target in targets:
        print(target.line())
    missed = sum(not target.met for target in targets)
    print(f"  {len(targets) - missed} met, {missed} missed")


if __name__ == "__main__":
    main()
