"""In-process benchmark of the decision: snapshot match + policy evaluation.

The same request shape is decided against a configuration of 10 applications (10 policies) and of
10,000 applications (1,000 policies): the index must keep the larger one within 1.2x. A third
figure times the gate's whole decision for a protected request whose token signature is cached.

Run by `tests.bench.inprocess` in the environment `tests.bench.run` prepares (not by `make test`).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from ipaddress import IPv4Address

from django.db import transaction

BENCH_DOMAIN = "bench.example"
POLICY_RULES = {
    "include": [{"email_domain": {"domain": "example.com"}}],
    "require": [{"ip": {"ip": "192.0.2.0/24"}}],
    "exclude": [{"email": {"email": "blocked@example.com"}}],
}
REQUESTS_PER_ROUND = 1000
# Timings are this process's CPU time: on a machine shared with other work, wall time measures
# the neighbours as much as the code.
CLOCK = time.process_time
# The large configuration: 10,000 applications on 1,000 hosts, a policy on every 10th.
SCALE_APPLICATIONS = 10_000
SCALE_POLICY_EVERY = 10


@dataclass(frozen=True)
class DecisionTiming:
    label: str
    applications: int
    policies: int
    build_seconds: float
    per_decision_seconds: float


def _layout(count: int) -> list[tuple[str, str]]:
    """(host, path) of each application: up to 1,000 hosts, each with one or more paths."""
    hosts = min(count, 1000)
    return [(f"h{index % hosts}.{BENCH_DOMAIN}", f"/p{index // hosts}") for index in range(count)]


@transaction.atomic
def store_configuration(count: int, policy_every: int) -> list[tuple[str, str]]:
    """Write `count` applications, one policy on every `policy_every`-th; return their patterns."""
    from policies.models import Application, Policy

    Policy.objects.all().delete()
    Application.objects.all().delete()
    layout = _layout(count)
    Application.objects.bulk_create(
        Application(name=f"app {index}", domain=f"{host}{path}", session_duration="24h")
        for index, (host, path) in enumerate(layout)
    )
    by_name = dict(Application.objects.values_list("name", "pk"))
    Policy.objects.bulk_create(
        Policy(
            application_id=by_name[f"app {index}"],
            name="staff",
            decision="allow",
            precedence=1,
            **POLICY_RULES,
        )
        for index in range(0, count, policy_every)
    )
    return [layout[index] for index in range(0, count, policy_every)]


def _per_call_seconds(call: Callable[[], object], *, rounds: int, iterations: int) -> float:
    """The median over `rounds` of the mean time per call across `iterations` calls."""
    samples = []
    for _ in range(rounds):
        started = CLOCK()
        for _ in range(iterations):
            call()
        samples.append((CLOCK() - started) / iterations)
    return statistics.median(samples)


@dataclass(frozen=True)
class _Pass:
    label: str
    count: int
    policies: int
    build_seconds: float
    decide_all: Callable[[], None]


def _passes(count: int, policy_every: int, *, spreads: dict[str, int]) -> list[_Pass]:
    """Store `count` applications and compile them; for each entry of `spreads` (label -> how
    many applications the requests go to), a pass of REQUESTS_PER_ROUND decisions."""
    from policies.rules import Subject
    from policies.snapshot import build_snapshot

    protected = store_configuration(count, policy_every)
    started = time.perf_counter()
    snapshot = build_snapshot(0)
    build_seconds = time.perf_counter() - started
    subject = Subject(email="person@example.com", ip=IPv4Address("192.0.2.10"))

    def decide_all_of(requests: list[tuple[str, str]]) -> Callable[[], None]:
        def decide_all() -> None:
            for host, path in requests:
                application, _ = snapshot.match(host, path)
                snapshot.decide(application, subject)  # type: ignore[arg-type]

        return decide_all

    passes = []
    for label, spread in spreads.items():
        step = max(1, len(protected) // spread)
        targets = [(host, f"{path}/items/42") for host, path in protected[::step][:spread]]
        for host, path in targets:  # every request must reach a real decision, and an allow
            application, _ = snapshot.match(host, path)
            assert application is not None, (host, path)
            assert snapshot.decide(application, subject).allowed
        requests = [targets[index % len(targets)] for index in range(REQUESTS_PER_ROUND)]
        passes.append(_Pass(label, count, len(protected), build_seconds, decide_all_of(requests)))
    return passes


def time_snapshot_decisions(*, rounds: int) -> tuple[list[DecisionTiming], dict[str, float]]:
    """`snapshot.match` + `snapshot.decide` with 10 applications (10 policies) and with 10,000
    (1,000 policies), all passes timed in alternation so that ratios (medians of per-pass
    ratios) are not the machine's load changing between them.

    With 10,000 applications, requests to 10 of them (as many as the small configuration has)
    show how the lookup scales; requests spread over 1,000 add what the CPU caches cost.
    """
    passes = [
        *_passes(10, 1, spreads={"10 applications": 10}),
        *_passes(
            SCALE_APPLICATIONS,
            SCALE_POLICY_EVERY,
            spreads={"10,000 applications": 10, "10,000, requests over 1,000": 1000},
        ),
    ]
    seconds: dict[str, list[float]] = {one.label: [] for one in passes}
    for _ in range(rounds * 10):
        for one in passes:
            started = CLOCK()
            one.decide_all()
            seconds[one.label].append((CLOCK() - started) / REQUESTS_PER_ROUND)
    baseline = seconds[passes[0].label]
    ratios = {
        one.label: statistics.median(
            a / b for a, b in zip(seconds[one.label], baseline, strict=True)
        )
        for one in passes[1:]
    }
    timings = [
        DecisionTiming(
            label=one.label,
            applications=one.count,
            policies=one.policies,
            build_seconds=one.build_seconds,
            per_decision_seconds=statistics.median(seconds[one.label]),
        )
        for one in passes
    ]
    return timings, ratios


def time_gate_decisions(*, rounds: int) -> list[DecisionTiming]:
    """The gate's whole decision for a protected request whose token was seen before, as the
    middleware makes it (`place_request`, then `decide_with_verifiers`: match, then the
    remembered decision), and the same decision made afresh (bypass check, the token's cached
    verification, the rules) for comparison; the two alternate."""
    from identity.answers import token_issuer
    from identity.decisions import memo
    from identity.gate import GateDecision, RequestFacts, place_request
    from identity.middleware import _decide_afresh, decide_with_verifiers
    from identity.sessions import new_identity_nonce
    from identity.tokens import issue_token
    from policies.snapshot import build_snapshot

    protected = store_configuration(10, 1)
    snapshot = build_snapshot(0)
    host, path = protected[0]
    application, _ = snapshot.match(host, path)
    assert application is not None
    facts = RequestFacts(
        host=host,
        path=f"{path}/items/42",
        method="GET",
        scheme="https",
        cookie_tokens=("",),
        ip=IPv4Address("192.0.2.10"),
    )
    token = issue_token(
        token_type="app",
        audiences=[application.aud],
        email="person@example.com",
        subject="bench",
        identity_nonce=new_identity_nonce(),
        lifetime=timedelta(hours=1),
        issuer=token_issuer(facts),
    )
    # A new string each time, as each request's cookie is parsed anew (its hash not cached).
    cookie = f"CF_Authorization={token}"

    def whole() -> object:
        request_facts = replace(facts, cookie_tokens=(cookie.split("=", 1)[1],))
        placed = place_request(request_facts.host, request_facts.path, snapshot)
        assert not isinstance(placed, GateDecision)
        return decide_with_verifiers(request_facts, snapshot, placed)

    def afresh() -> object:
        request_facts = replace(facts, cookie_tokens=(cookie.split("=", 1)[1],))
        placed = place_request(request_facts.host, request_facts.path, snapshot)
        assert not isinstance(placed, GateDecision)
        return _decide_afresh(request_facts, snapshot, placed)

    def split_only() -> object:  # what building the request's facts above costs: subtracted
        return replace(facts, cookie_tokens=(cookie.split("=", 1)[1],))

    for step in (whole, afresh):
        decision = step()
        assert decision.outcome == "allow", decision  # type: ignore[attr-defined]
    hits = memo.hits
    seconds: dict[str, list[float]] = {"whole": [], "afresh": [], "split": []}
    steps = {"whole": whole, "afresh": afresh, "split": split_only}
    for _ in range(rounds * 3):
        for name, step in steps.items():
            seconds[name].append(_per_call_seconds(step, rounds=1, iterations=5_000))
    assert memo.hits > hits, "the bench measured no remembered decision"
    split = statistics.median(seconds["split"])
    return [
        DecisionTiming(
            label=label,
            applications=10,
            policies=10,
            build_seconds=0.0,
            per_decision_seconds=statistics.median(seconds[name]) - split,
        )
        for label, name in (
            ("gate decision, decided afresh", "afresh"),
            ("gate decision, remembered", "whole"),
        )
    ]


def count_gated_queries(cookie: str, *, rounds: int = 4, requests: int = 100) -> int:
    """SQL queries made on the request thread by `rounds` x `requests` protected requests
    through the real middleware stack in steady state, with the default check interval and the
    version watcher on, as in a served process (its checks run on its own thread and connection,
    which this does not count). Between rounds the watcher gets its turn."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from common.versioning import watcher
    from tests.bench.seed import BENCH_HOST

    # Without the cookie the gate must send the request to sign in, or this counts nothing.
    refused = Client(HTTP_HOST=BENCH_HOST).get("/protected/")
    assert refused.status_code == 302, refused
    client = Client(HTTP_HOST=BENCH_HOST, HTTP_COOKIE=cookie)
    watcher.enable()
    try:
        warm_up = client.get("/protected/")
        assert warm_up.status_code == 200, warm_up
        assert watcher.running()
        counted = 0
        for _ in range(rounds):
            assert watcher.wait_for_checks(watcher.checks + 1, 10), "the watcher is not checking"
            with CaptureQueriesContext(connection) as queries:
                for _ in range(requests):
                    response = client.get("/protected/")
                    assert response.status_code == 200, response
            counted += len(queries)
    finally:
        watcher.disable()
    return counted


@dataclass(frozen=True)
class SnapshotCost:
    applications: int
    policies: int
    build_seconds: float  # median over the builds, CPU time
    build_wall_seconds: float  # the same builds, wall time
    held_bytes: int  # allocated by the build and still held by the snapshot (tracemalloc)
    peak_bytes: int  # the most the build had allocated at once
    resident_bytes: int  # what a fresh process's resident set grew by, building and holding it


def measure_snapshot_build(*, builds: int) -> SnapshotCost:
    """Build the 10,000-application snapshot `builds` times (median time), then once more under
    tracemalloc for the memory the snapshot holds (timed runs are not traced: tracing is slow)."""
    import gc
    import tracemalloc

    from policies.snapshot import build_snapshot

    protected = store_configuration(SCALE_APPLICATIONS, SCALE_POLICY_EVERY)
    seconds = []
    wall = []
    for _ in range(builds):
        gc.collect()
        started, started_wall = CLOCK(), time.perf_counter()
        build_snapshot(0)
        seconds.append(CLOCK() - started)
        wall.append(time.perf_counter() - started_wall)
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    snapshot = build_snapshot(0)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert snapshot.applications  # held until here, so `held` is what it keeps
    return SnapshotCost(
        applications=SCALE_APPLICATIONS,
        policies=len(protected),
        build_seconds=statistics.median(seconds),
        build_wall_seconds=statistics.median(wall),
        held_bytes=held - before,
        peak_bytes=peak - before,
        resident_bytes=resident_snapshot_bytes(),
    )


_RESIDENT_PROBE = """
import gc, os
import django
django.setup()
from policies.snapshot import build_snapshot
from policies.models import Application
Application.objects.exists()  # the connection and the ORM's own first allocations first
page = os.sysconf("SC_PAGE_SIZE")
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * page
gc.collect()
before = resident()
snapshot = build_snapshot(0)
gc.collect()
print(resident() - before, len(snapshot.applications))
"""


def resident_snapshot_bytes() -> int:
    """Build the stored snapshot in a fresh interpreter (this one's heap has room left over by
    earlier builds) and return how much its resident set grew: an upper bound of what a worker
    holds for it, as the memory the build used and freed mostly stays resident."""
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-c", _RESIDENT_PROBE], capture_output=True, text=True, check=True
    )
    grown, applications = completed.stdout.split()
    assert int(applications) == SCALE_APPLICATIONS, applications
    return int(grown)
