"""Where the time goes: cProfile over the WSGI loop and the 10,000-application snapshot build.

`python -m tests.bench.profile [REQUESTS]` (the benchmark's environment, via
`python -m tests.bench.run --profile`) prints, for the open path, the protected path and the
gate-answered preflight, the functions that take the most time per request, and the same for
one snapshot build. docs/performance.md reads these to say what each microsecond goes to.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any


def _report(profile: cProfile.Profile, calls: int, title: str, limit: int) -> str:
    stream = io.StringIO()
    stats = pstats.Stats(profile, stream=stream)
    total = stats.total_tt  # type: ignore[attr-defined]
    stream.write(f"== {title}: {total / calls * 1e6:.1f} µs per call under cProfile\n")
    stats.sort_stats("cumulative").print_stats(limit)
    return stream.getvalue()


def _interleaved(steps: dict[str, Callable[[], object]], *, rounds: int = 30) -> dict[str, float]:
    """CPU seconds per call of each step, the steps alternating round by round (300 calls a
    turn), median over the rounds: on a shared machine CPU time and alternation keep other
    tenants' load out of the comparison."""
    clock = time.process_time
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            started = clock()
            for _ in range(300):
                step()
            samples[name].append((clock() - started) / 300)
    return {name: statistics.median(values) for name, values in samples.items()}


def breakdown(application: Any, environ: dict[str, Any]) -> dict[str, float]:
    """CPU microseconds per request of each step the gate takes, timed alone, and of the whole.

    Written against the gate's public pieces, old and new: `place_request` (host and path
    first) where it exists, else the whole `decide_request`.
    """
    from django.core.handlers.wsgi import WSGIRequest

    from identity import gate, middleware
    from policies.snapshot import get_snapshot
    from tests.bench.wsgi_loop import call

    full = {**environ, "wsgi.input": io.BytesIO()}
    request = WSGIRequest(full)
    snapshot = get_snapshot()
    host = request.get_host()
    path = request.path_info
    try:
        facts = middleware._request_facts(request, host)

        def read_facts() -> object:
            return middleware._request_facts(request, host)
    except TypeError:  # before the gate placed a request first
        facts = middleware._request_facts(request)  # type: ignore[call-arg]

        def read_facts() -> object:
            return middleware._request_facts(request)  # type: ignore[call-arg]

    verify = partial(middleware._verify_app_token, issuer=middleware._issuer(facts))
    authenticate = partial(middleware._authenticate, snapshot=snapshot)

    def decide() -> Any:
        return gate.decide_request(
            facts, snapshot, verify_token=verify, authenticate_service_token=authenticate
        )

    decision = decide()
    remembered = getattr(middleware, "decide_with_verifiers", None)
    steps: dict[str, Callable[[], object]] = {
        "whole request (WSGI application)": lambda: call(application, environ),
        "  for comparison: Django's WSGIRequest(environ)": lambda: WSGIRequest(dict(full)),
        "  get_snapshot()": get_snapshot,
        "  request.get_host()": request.get_host,
    }
    place = getattr(gate, "place_request", None)
    if place is not None:
        steps["  place_request (host, path: match, host rule)"] = lambda: place(
            host, path, snapshot
        )
    steps["  request facts (cookies, client IP, country)"] = read_facts
    steps["  decide_request afresh (match, bypass, verify, rules)"] = decide
    placed = place(host, path, snapshot) if place is not None else None
    if remembered is not None and placed is not None and not isinstance(placed, gate.GateDecision):
        steps["  place_request + decide_with_verifiers (remembered)"] = lambda: remembered(
            facts, snapshot, place(host, path, snapshot)
        )
    steps["  log_decision (the access record, to the log stream)"] = lambda: (
        middleware.log_decision(facts, decision)
    )
    return _interleaved(steps)


def main() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

    from accessproject.wsgi import application
    from policies.snapshot import build_snapshot
    from tests.bench.decision import SCALE_APPLICATIONS, SCALE_POLICY_EVERY, store_configuration
    from tests.bench.seed import scenarios, seed_gate_configuration
    from tests.bench.wsgi_loop import call, environ_for

    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    cookie = seed_gate_configuration()["cookie"]
    for scenario in scenarios(cookie):
        environ = environ_for(scenario)
        for _ in range(200):  # warm: snapshot, keys, token cache
            call(application, environ)
        print(f"== {scenario.name}: CPU µs per call, each step timed alone, interleaved")
        for label, seconds in breakdown(application, environ).items():
            print(f"  {label:<56}{seconds * 1e6:>8.1f}")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(requests):
            call(application, environ)
        profile.disable()
        print(_report(profile, requests, scenario.name, limit))

    store_configuration(SCALE_APPLICATIONS, SCALE_POLICY_EVERY)
    build_snapshot(0)
    profile = cProfile.Profile()
    profile.enable()
    build_snapshot(0)
    profile.disable()
    print(_report(profile, 1, "snapshot build, 10,000 applications", limit))


if __name__ == "__main__":
    main()
