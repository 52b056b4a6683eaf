"""`make bench`: what the activity counters cost a gated request (`identity.activity`).

`record_decision` is timed in a loop of realistic decisions (mostly allowed, some refused with
their path and address, some with an Origin) against the same loop calling a function that
does nothing, in a fresh interpreter with no flush thread; the difference per decision is the
figure. It is compared with the whole gate decision's budget (docs/architecture.md, Fast paths).
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
        start = time.perf_counter()
        for index in range(CALLS):
            call(**decisions[index % size])
        return (time.perf_counter() - start) / CALLS

    costs = []
    for _ in range(rounds):
        baseline = loop(_nothing)
        counted = loop(record_decision)
        counters.forget()
        costs.append(max(counted - baseline, 0.0))
    cost = statistics.median(costs)
    return {"seconds_per_decision": cost, "share_of_budget": cost / BUDGET_SECONDS}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessproject.settings")
    os.environ["ACCESS_ACTIVITY_FLUSH_SECONDS"] = "0"
    import django

    django.setup()
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(json.dumps(measure(rounds)))


if __name__ == "__main__":
    main()


def report(result: dict[str, float], target: type) -> list[object]:
    """Print the figure; return it as a `make bench` target."""
    cost = result["seconds_per_decision"]
    share = result["share_of_budget"]
    print("Activity counters (identity.activity), per gate decision, in process")
    print(f"  {cost * 1e9:.0f} ns per decision: {share:.1%} of the gate decision's 8 µs budget")
    return [
        target(
            "activity counters per decision",
            share,
            MOST_SHARE,
            False,
            f"{cost * 1e9:.0f} ns = {share:.1%} of 8 µs (at most {MOST_SHARE:.0%})",
        )
    ]
