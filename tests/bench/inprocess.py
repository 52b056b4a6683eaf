"""The in-process half of `make bench`, printed as one JSON object.

`python -m tests.bench.inprocess ROUNDS` runs in the environment `tests.bench.run` prepares (a
fresh SQLite database): the decision for 10 and 10,000 applications, the gate's whole decision,
the 10,000-application snapshot's build time and memory, the WSGI loop for the three scenarios
(through `accessproject.wsgi`, so the preflight takes the fast path), and the SQL queries per
protected request.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

    from tests.bench.decision import (
        count_gated_queries,
        measure_snapshot_build,
        time_gate_decisions,
        time_snapshot_decisions,
    )
    from tests.bench.seed import scenarios, seed_gate_configuration
    from tests.bench.wsgi_loop import time_wsgi_requests

    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    timings, scale = time_snapshot_decisions(rounds=rounds)
    snapshot_cost = measure_snapshot_build(builds=5)
    timings.extend(time_gate_decisions(rounds=rounds))
    gated_requests = 4 * 100
    cookie = seed_gate_configuration()["cookie"]
    queries = count_gated_queries(cookie, rounds=4, requests=100)
    wsgi = time_wsgi_requests(scenarios(cookie), requests=rounds * 1000)
    print(
        json.dumps(
            {
                "timings": [vars(timing) for timing in timings],
                "scale": scale,
                "snapshot": vars(snapshot_cost),
                "gated_requests": gated_requests,
                "queries": queries,
                "wsgi": wsgi,
            }
        )
    )


if __name__ == "__main__":
    main()
