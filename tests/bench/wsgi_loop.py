"""Django's WSGI handler called in a loop: the request cost of each scenario without a server or
a load generator competing for the CPU (the HTTP figures include both).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from tests.bench.seed import Scenario

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def environ_for(scenario: Scenario) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scenario.method,
        "PATH_INFO": scenario.path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scenario.headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def call(application: Any, environ: dict[str, Any]) -> str:
    status: list[str] = []

    def start_response(value: str, headers: list[tuple[str, str]], *exc_info: object) -> None:
        status.append(value)

    body: Iterable[bytes] = application({**environ, "wsgi.input": io.BytesIO()}, start_response)
    for _ in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return status[0]


def time_wsgi_requests(scenarios: list[Scenario], *, requests: int) -> dict[str, list[float]]:
    """Seconds taken by each request of each scenario, the scenarios alternating request by
    request, so that a change in the machine's load hits all of them alike."""
    from accessproject.wsgi import application

    environs = {scenario.name: environ_for(scenario) for scenario in scenarios}
    for scenario in scenarios:
        status = call(application, environs[scenario.name])
        if int(status.split()[0]) != scenario.expected_status:
            raise AssertionError(f"{scenario.name}: answered {status}")
    samples: dict[str, list[float]] = {scenario.name: [] for scenario in scenarios}
    clock = time.process_time  # CPU time: the neighbours' load stays out
    for _ in range(requests):
        for name, environ in environs.items():
            started = clock()
            call(application, environ)
            samples[name].append(clock() - started)
    return samples
