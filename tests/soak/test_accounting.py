"""The soak's phase accounting, targets, exit status and report, over made-up runs."""

from __future__ import annotations

import math

import pytest

from tests.soak.accounting import (
    Fault,
    Phase,
    exit_status,
    figures,
    format_report,
    percentile,
    targets,
)
from tests.soak.oracle import Change, Kind, Sent, What
from tests.soak.run import enforced_after

BOUND = 1.0


def sent(
    at: float,
    status: int = 200,
    *,
    kind: Kind = Kind.PROTECTED,
    duration: float = 0.01,
    served: str | None = None,
) -> Sent:
    return Sent(
        kind=kind,
        instance="a",
        started=at,
        duration=duration,
        status=status,
        served=served,
        subject="ann@example.com",
        nonce="n-ann",
    )


REDIS = Fault("Redis", began=10.0, ended=20.0, needs=frozenset({Kind.SIGN_IN}))


def test_percentile_is_the_nearest_rank():
    values = [float(value) for value in range(1, 101)]

    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 0.99) == 3.0
    assert percentile([7.0], 0.5) == 7.0
    assert math.isnan(percentile([], 0.99))


def test_a_request_counts_in_the_phase_it_was_sent_in():
    phase = Phase("baseline", began=0.0, ended=10.0)
    run = [sent(-0.1), sent(0.0), sent(5.0, 302), sent(9.99, 403), sent(10.0)]

    result = figures(phase, run, [], bound=BOUND)

    assert result.sent == 3
    assert result.by_class == {"2xx": 1, "3xx": 1, "4xx": 1}


def test_server_errors_are_counted_by_kind_and_how_long_they_lasted():
    phase = Phase("redis", began=5.0, ended=30.0, fault=REDIS)
    run = [
        sent(11.0, 503, kind=Kind.SIGN_IN),
        sent(12.0, 500),
        sent(14.5, 0, kind=Kind.SIGN_IN),
        sent(15.0),
    ]

    result = figures(phase, run, [], bound=BOUND)

    assert result.server_errors == 2
    assert result.internal_errors == 1
    assert result.by_class == {"5xx": 2, "no answer": 1, "2xx": 1}
    assert result.errors_by_kind == {"sign_in": 2, "protected": 1}
    assert result.error_seconds == pytest.approx(3.5)


def test_an_error_is_expected_only_in_the_window_and_for_what_needs_the_component():
    phase = Phase("redis", began=0.0, ended=40.0, fault=REDIS)
    run = [
        sent(9.0, 503, kind=Kind.SIGN_IN),  # answered before the fault
        sent(9.5, 503, kind=Kind.SIGN_IN, duration=0.6),  # in flight when it began
        sent(10.0, 503, kind=Kind.SIGN_IN),  # in it
        sent(22.0, 503, kind=Kind.SIGN_IN),  # within the recovery bound
        sent(22.5, 503, kind=Kind.SIGN_IN),  # after it
        sent(15.0, 503, kind=Kind.PROTECTED),  # does not need Redis
    ]

    assert figures(phase, run, [], bound=BOUND).unexpected_errors == 3


def test_without_a_fault_every_error_is_unexpected():
    phase = Phase("changes", began=0.0, ended=10.0)

    result = figures(phase, [sent(1.0, 503, kind=Kind.SIGN_IN)], [], bound=BOUND)

    assert result.unexpected_errors == 1
    assert result.recovery is None


def test_recovery_is_how_long_after_the_fault_errors_went_on():
    phase = Phase("redis", began=0.0, ended=40.0, fault=REDIS)

    clean = figures(phase, [sent(15.0, 503, kind=Kind.SIGN_IN), sent(21.0)], [], bound=BOUND)
    late = figures(
        phase,
        [sent(15.0, 503, kind=Kind.SIGN_IN), sent(21.25, 503, kind=Kind.SIGN_IN), sent(23.0)],
        [],
        bound=BOUND,
    )

    assert clean.recovery == 0.0
    assert late.recovery == pytest.approx(1.25)


def test_latencies_leave_out_the_fault_window_flows_and_lost_answers():
    phase = Phase("redis", began=0.0, ended=40.0, fault=REDIS)
    run = [
        sent(1.0, duration=0.010),
        sent(2.0, duration=0.020),
        sent(15.0, duration=5.0),  # in the fault
        sent(21.0, duration=4.0),  # within the recovery bound
        sent(30.0, kind=Kind.SIGN_IN, duration=3.0),
        sent(31.0, 0, duration=9.0),
        sent(32.0, duration=0.030),
    ]

    result = figures(phase, run, [], bound=BOUND)

    assert result.p50 == pytest.approx(0.020)
    assert result.p99 == pytest.approx(0.030)


def test_fail_opens_are_counted_per_phase():
    revoked = [Change(What.REVOCATION, 1.0, "ann@example.com")]
    run = [sent(1.5, served="ann@example.com"), sent(2.5, served="ann@example.com"), sent(3.0, 403)]

    result = figures(Phase("changes", 0.0, 10.0), run, revoked, bound=BOUND)

    assert result.fail_open == 1


def _run_of(*, fail_open: bool = False, internal: bool = False, p99: float = 0.010):
    phases = [
        Phase("baseline", 0.0, 10.0),
        Phase("redis", 10.0, 40.0, fault=REDIS, enforcement={}),
        Phase("changes", 40.0, 50.0, enforcement={"revocation": 0.4, "policy change": 1.2}),
    ]
    run = [sent(1.0, duration=0.010), sent(25.0, duration=p99), sent(45.0, duration=0.012)]
    if fail_open:
        run.append(sent(48.0, served="ann@example.com"))
    if internal:
        run.append(sent(5.0, 500))
    changes = [Change(What.REVOCATION, 41.0, "ann@example.com")]
    results = [figures(phase, run, changes, bound=BOUND) for phase in phases]
    return phases, results


def _by_name(found):
    return {target.name: target for target in found}


def test_targets_name_each_figure_and_whether_it_is_met():
    phases, results = _run_of(p99=0.016)

    found = _by_name(targets(phases, results, missing_records=[]))

    assert found["0 fail-open"].met
    assert found["0 lost records"].met
    assert found["never a 500"].met
    assert found["revocation enforced everywhere within 1 s"].met
    assert not found["policy change enforced everywhere within 1 s"].met
    assert found["policy change enforced everywhere within 1 s"].detail == "1.200 s"
    assert found["redis: recovered within 2 s"].met
    assert not found["redis: p99 within 1.5x of the baseline"].met
    assert found["redis: p99 within 1.5x of the baseline"].detail == "1.6x"
    assert found["changes: p99 within 1.5x of the baseline"].met
    assert "baseline: p99 within 1.5x of the baseline" not in found


def test_the_safety_gate_fails_only_on_fail_open_lost_records_or_500():
    phases, results = _run_of(p99=0.5)  # the latency target missed
    slow = targets(phases, results, missing_records=[])
    assert exit_status(slow, gate="safety") == 0
    assert exit_status(slow, gate="all") == 1

    for phases, results, missing in (
        (*_run_of(fail_open=True), []),
        (*_run_of(internal=True), []),
        (*_run_of(), ["sign-in events of ann@example.com: fewer than 2"]),
    ):
        found = targets(phases, results, missing_records=missing)
        assert exit_status(found, gate="safety") == 1
        assert exit_status(found, gate="all") == 1


def test_a_gate_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="SOAK_GATE must be all or safety"):
        exit_status([], gate="some")


def test_the_report_has_a_row_per_phase_its_notes_and_every_target():
    phases, results = _run_of(fail_open=True)
    found = targets(phases, results, missing_records=[])

    report = format_report(phases, results, found, gate="safety")
    lines = report.splitlines()

    assert lines[0].split() == [
        "phase", "sent", "2xx", "3xx", "4xx", "5xx", "none", "fail-open",
        "5xx", "for", "recovery", "p50", "ms", "p99", "ms",
    ]  # fmt: skip
    assert lines[2].split() == [
        "baseline",
        "1",
        "1",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0.00",
        "s",
        "-",
        "10.0",
        "10.0",
    ]
    assert lines[4].split()[:8] == ["changes", "2", "2", "0", "0", "0", "0", "1"]
    assert "changes: policy change enforced everywhere in 1.200 s" in lines
    assert "MISSED [safety] 0 fail-open: 1 fail-open" in lines
    assert "met    [safety] never a 500: 0 answered 500" in lines
    assert lines[-1] == "SOAK_GATE=safety: FAIL"


def test_enforcement_is_when_the_last_instance_began_a_streak_it_kept():
    observations = [
        ("a", 0.1, False),
        ("b", 0.2, True),
        ("a", 0.3, True),
        ("b", 0.4, False),  # b's first yes did not last
        ("a", 0.5, True),
        ("b", 0.6, True),
        ("a", 0.7, True),
        ("b", 0.8, True),
    ]

    assert enforced_after(observations, ["a", "b"], streak=2) == pytest.approx(0.6)
    assert enforced_after(observations, ["a", "b"], streak=3) == math.inf
    assert enforced_after(observations, ["a", "b", "c"], streak=1) == math.inf
