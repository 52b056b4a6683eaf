"""`make bench`: gunicorn serving one tiny view, unprotected, protected and as a gate-answered
preflight, driven by wrk on loopback; then the decision in process for 10 and 10,000 applications.

Scenarios run interleaved (A, B, C, A, B, C, ...) so drift in the machine's speed hits all three
alike; the figures are medians over the rounds. Nothing here runs under `make test`.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.seed import UNAUTHENTICATED, Scenario, bench_environment, scenarios
from tests.bench.wrk import WrkResult, run_wrk, wrk_executable

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Targets from the production issue.
PROTECTED_TARGET = 0.9
PREFLIGHT_TARGET = 1.0
SCALE_TARGET = 1.2
GATE_DECISION_TARGET_SECONDS = 10e-6


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(port: int, scenario: Scenario) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
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
def _gunicorn(environment: dict[str, str], log_path: Path, port: int) -> Iterator[None]:
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
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


def run_http(arguments: argparse.Namespace) -> dict[str, Figures]:
    """Serve the tiny view with gunicorn and drive each scenario with wrk."""
    wrk_executable()  # fail before any set-up when wrk is missing
    with tempfile.TemporaryDirectory(prefix="accessproject-bench-") as directory:
        port = _free_port()
        environment = {
            **os.environ,
            **bench_environment(data_dir=directory, port=port),
            "WEB_CONCURRENCY": str(arguments.workers),
            "ACCESS_LOG_LEVEL": arguments.access_log_level,
        }
        seeded = subprocess.run(
            [sys.executable, "-m", "tests.bench.seed"],
            cwd=PROJECT_DIR,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        cookie = json.loads(seeded.stdout.strip().splitlines()[-1])["cookie"]
        measured = scenarios(cookie)
        figures = {scenario.name: Figures() for scenario in measured}
        with _gunicorn(environment, Path(directory) / "gunicorn.log", port):
            for scenario in [*measured, UNAUTHENTICATED]:
                _check(port, scenario)
            for round_number in range(-1, arguments.rounds):  # round -1 warms every worker up
                for scenario in measured:
                    result = run_wrk(
                        f"http://127.0.0.1:{port}{scenario.path}",
                        seconds=1 if round_number < 0 else arguments.seconds,
                        connections=arguments.connections,
                        threads=arguments.threads,
                        headers=scenario.headers,
                        method=scenario.method,
                    )
                    if round_number >= 0:
                        figures[scenario.name].runs.append(result)
                        print(
                            f"  round {round_number + 1} {scenario.name:<12}"
                            f"{result.requests_per_second:>10.0f} req/s",
                            file=sys.stderr,
                        )
            for scenario in measured:
                _check(port, scenario)
    return figures


def run_in_process(arguments: argparse.Namespace) -> dict[str, Any]:
    """The in-process benchmarks, in a fresh interpreter and database."""
    with tempfile.TemporaryDirectory(prefix="accessproject-bench-") as directory:
        environment = {
            **os.environ,
            **bench_environment(data_dir=directory, port=0),
            "ACCESS_LOG_LEVEL": arguments.access_log_level,
        }
        completed = subprocess.run(
            [sys.executable, "-m", "tests.bench.inprocess", str(arguments.in_process_rounds)],
            cwd=PROJECT_DIR,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
    if completed.returncode != 0:
        raise SystemExit(f"in-process benchmark failed:\n{completed.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median of per-round ratios: runs next to each other in time share the same noise."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_http(figures: dict[str, Figures], arguments: argparse.Namespace) -> None:
    print(
        f"HTTP: gunicorn {arguments.workers} sync worker(s); wrk {arguments.threads} thread(s), "
        f"{arguments.connections} connections; {arguments.rounds} interleaved rounds of "
        f"{arguments.seconds} s; medians"
    )
    print(f"  {'path':<14}{'requests/s':>12}{'p50':>12}{'p99':>12}")
    for name, figure in figures.items():
        print(
            f"  {name:<14}{figure.requests_per_second:>12.0f}"
            f"{_milliseconds(figure.p50):>12}{_milliseconds(figure.p99):>12}"
        )
    rates = {
        name: [run.requests_per_second for run in figure.runs] for name, figure in figures.items()
    }
    # Throughput ratios per round (the three runs of a round are next to each other in time),
    # then their median: drift in the machine's load cancels out within a round.
    protected = median_ratio(rates["protected"], rates["unprotected"])
    preflight = median_ratio(rates["preflight"], rates["unprotected"])
    print(
        f"  protected / unprotected  {protected:.2f}x  "
        f"(target >= {PROTECTED_TARGET}: {_verdict(protected >= PROTECTED_TARGET)})"
    )
    print(
        f"  preflight / unprotected  {preflight:.2f}x  "
        f"(target >= {PREFLIGHT_TARGET}: {_verdict(preflight >= PREFLIGHT_TARGET)})"
    )


def print_in_process(result: dict[str, Any]) -> None:
    wsgi: dict[str, list[float]] = result["wsgi"]
    print(
        "WSGI handler in process, the three requests alternating "
        "(no server, no load generator; median and 10th percentile of single requests)"
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
    protected = medians["unprotected"] / medians["protected"]
    preflight = medians["unprotected"] / medians["preflight"]
    print(
        f"  protected / unprotected  {protected:.2f}x  "
        f"(target >= {PROTECTED_TARGET}: {_verdict(protected >= PROTECTED_TARGET)})"
    )
    print(
        f"  preflight / unprotected  {preflight:.2f}x  "
        f"(target >= {PREFLIGHT_TARGET}: {_verdict(preflight >= PREFLIGHT_TARGET)})"
    )

    timings = result["timings"]
    print("Decision, in process (median of rounds)")
    for timing in timings:
        built = f", snapshot built in {timing['build_seconds'] * 1000:.0f} ms"
        print(
            f"  {timing['label']:<30}{timing['per_decision_seconds'] * 1e6:>7.2f} µs per decision"
            f"  ({timing['policies']} policies{built if timing['build_seconds'] else ''})"
        )
    gate = timings[-1]
    # Medians of per-pass ratios, every configuration timed in alternation.
    same, spread = result["scale"].values()
    print(
        f"  10,000 / 10 applications, same requests  {same:.2f}x  "
        f"(target <= {SCALE_TARGET}: {_verdict(same <= SCALE_TARGET)})"
    )
    print(f"  10,000 / 10 applications, requests over 1,000 of them  {spread:.2f}x")
    gate_seconds = gate["per_decision_seconds"]
    print(
        f"  gate decision {gate_seconds * 1e6:.2f} µs  "
        f"(target < 10 µs: {_verdict(gate_seconds < GATE_DECISION_TARGET_SECONDS)})"
    )
    print(
        f"  SQL queries over {result['gated_requests']} protected requests in steady state: "
        f"{result['queries']}  (target 0: {_verdict(result['queries'] == 0)})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3, help="wrk run length per scenario")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (fixed)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument(
        "--in-process-rounds", type=int, default=7, help="rounds (x1000 WSGI requests each)"
    )
    parser.add_argument(
        "--access-log-level", default="INFO", help="ACCESS_LOG_LEVEL (INFO logs every decision)"
    )
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-in-process", action="store_true")
    arguments = parser.parse_args(argv)

    if not arguments.skip_http:
        print_http(run_http(arguments), arguments)
    if not arguments.skip_in_process:
        print_in_process(run_in_process(arguments))


if __name__ == "__main__":
    main()
