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


def _per_call(call: Callable[[], object], iterations: int = 5000) -> float:
    """Median over 5 rounds of the mean seconds per call."""
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(iterations):
            call()
        samples.append((time.perf_counter() - started) / iterations)
    return statistics.median(samples)


def breakdown(application: Any, environ: dict[str, Any]) -> list[tuple[str, float]]:
    """Microseconds per request of each step the gate takes, timed alone, and of the whole."""
    from django.core.handlers.wsgi import WSGIRequest

    from identity import middleware
    from identity.gate import decide_request
    from policies.snapshot import get_snapshot
    from tests.bench.wsgi_loop import call

    full = {**environ, "wsgi.input": io.BytesIO()}
    request = WSGIRequest(full)
    snapshot = get_snapshot()
    facts = middleware._request_facts(request)

    def decide() -> Any:
        return decide_request(
            facts,
            snapshot,
            verify_token=partial(middleware._verify_app_token, issuer=middleware._issuer(facts)),
            authenticate_service_token=partial(middleware._authenticate, snapshot=snapshot),
        )

    decision = decide()
    return [
        ("whole request (WSGI application)", _per_call(lambda: call(application, environ))),
        ("  WSGIRequest(environ)", _per_call(lambda: WSGIRequest(full))),
        ("  get_snapshot()", _per_call(get_snapshot)),
        (
            "  request facts (host, cookies, client IP)",
            _per_call(lambda: middleware._request_facts(request)),
        ),
        ("  decide_request (match, verify, rules)", _per_call(decide)),
        (
            "  log_decision (to the log stream)",
            _per_call(lambda: middleware.log_decision(facts, decision)),
        ),
    ]


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
        print(f"== {scenario.name}: µs per request, each step timed alone")
        for label, seconds in breakdown(application, environ):
            print(f"  {label:<48}{seconds * 1e6:>8.1f}")
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
