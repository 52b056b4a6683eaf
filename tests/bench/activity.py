"""`make bench`: what the activity counters cost a gated request (`identity.activity`).

Two figures, in a fresh interpreter and database with no flush thread:

- `record_decision` timed in a loop of realistic decisions (mostly allowed, some refused with
  their path and address, some with an Origin) against the same loop calling a function that
  does nothing; the difference per decision is compared with the whole gate decision's budget
  (docs/architecture.md, Fast paths).
- A whole gated request (valid cookie, allow policy) through Django's WSGI handler with the
  counters on, and with the gate's `record_decision` replaced by that function, interleaved
  request by request so the machine's load hits both alike. The counters' side also pays for
  adding the facts up (`counters.take`, which the flush thread does), spread over its requests.
  The ratio of the medians is the figure, shown beside the same ratio of two runs with the
  counters off (the noise of the measurement itself).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

CALLS = 20_000
# The counters may take at most this share of the gate decision's budget of 8 µs (a whole
# gated request through Django costs more than ten times that budget).
BUDGET_SECONDS = 8e-6
MOST_SHARE = 0.10
# A gated request with the counters on may cost at most this much more than with them off.
MOST_REQUEST_RATIO = 1.03
REQUESTS = 3000  # per side and round
TAKE_EVERY = 200  # the counters are added up this often (the flush thread's work)


def _decisions() -> list[dict[str, object]]:
    decisions: list[dict[str, object]] = []
    for number in range(100):
        refused = number % 10 == 0
        decisions.append(
            {
                "decision": "deny" if refused else "allow",
                "application": f"app{number % 7}",
                "path": f"/api/items/{number}",
                "origin": "https://web.example.com" if number % 3 == 0 else None,
                "ip": f"192.0.2.{number % 50}",
            }
        )
    return decisions


def _nothing(**_: object) -> None:
    return None


def measure(rounds: int) -> dict[str, float]:
    from identity.activity import counters, record_decision

    decisions = _decisions()
    size = len(decisions)

    def loop(call: object) -> float:
        assert callable(call)
        start = time.process_time()  # CPU time: the neighbours' load stays out
        for index in range(CALLS):
            call(**decisions[index % size])
        return (time.process_time() - start) / CALLS

    costs = []
    for _ in range(rounds):
        baseline = loop(_nothing)
        counted = loop(record_decision)
        counters.forget()
        costs.append(max(counted - baseline, 0.0))
    cost = statistics.median(costs)
    return {"seconds_per_decision": cost, "share_of_budget": cost / BUDGET_SECONDS}


def measure_requests(rounds: int) -> dict[str, float]:
    """Seconds per gated request with the counters on and off, and their ratios."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from accessproject.wsgi import application
    from identity import middleware
    from identity.activity import counters, record_decision
    from tests.bench.seed import scenarios, seed_gate_configuration
    from tests.bench.wsgi_loop import call, environ_for

    cookie = seed_gate_configuration()["cookie"]
    protected = next(scenario for scenario in scenarios(cookie) if scenario.name == "protected")
    environ = environ_for(protected)
    clock = time.process_time  # CPU time: the neighbours' load stays out
    sides: dict[str, list[float]] = {"on": [], "off": [], "off again": []}
    recorders = {"on": record_decision, "off": _nothing, "off again": _nothing}
    taking = 0.0
    try:
        for number in range(rounds * REQUESTS):
            names = list(sides)
            # Each side goes first as often as the others.
            names = names[number % 3 :] + names[: number % 3]
            for name in names:
                middleware.record_decision = recorders[name]
                started = clock()
                status = call(application, environ)
                sides[name].append(clock() - started)
                if not status.startswith("200"):
                    raise AssertionError(f"gated request answered {status}")
            if number % TAKE_EVERY == TAKE_EVERY - 1:
                started = clock()
                counters.take()
                taking += clock() - started
    finally:
        middleware.record_decision = record_decision
        counters.forget()
    on = statistics.median(sides["on"]) + taking / len(sides["on"])
    off = statistics.median(sides["off"])
    again = statistics.median(sides["off again"])
    return {
        "request_on_seconds": on,
        "request_off_seconds": off,
        "request_ratio": on / off,
        "noise_ratio": again / off,
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessproject.settings")
    os.environ["ACCESS_ACTIVITY_FLUSH_SECONDS"] = "0"
    import django

    django.setup()
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(json.dumps({**measure(rounds), **measure_requests(rounds)}))


if __name__ == "__main__":
    main()


def report(result: dict[str, float], target: type) -> list[object]:
    """Print the figure; return it as a `make bench` target."""
    cost = result["seconds_per_decision"]
    share = result["share_of_budget"]
    print("Activity counters (identity.activity), per gate decision, in process")
    print(f"  {cost * 1e9:.0f} ns per decision: {share:.1%} of the gate decision's 8 µs budget")
    on, off = result["request_on_seconds"], result["request_off_seconds"]
    ratio, noise = result["request_ratio"], result["noise_ratio"]
    print("Activity counters, per gated request through Django (interleaved, CPU time, median)")
    print(f"  counters on {on * 1e6:.1f} µs, off {off * 1e6:.1f} µs: on/off = {ratio:.3f}")
    print(f"  off/off (the measurement's own noise) = {noise:.3f}")
    return [
        target(
            "activity counters per decision",
            share,
            MOST_SHARE,
            False,
            f"{cost * 1e9:.0f} ns = {share:.1%} of 8 µs (at most {MOST_SHARE:.0%})",
        ),
        target(
            "gated request, activity counters on / off",
            ratio,
            MOST_REQUEST_RATIO,
            False,
            f"{ratio:.3f}x",
        ),
    ]
