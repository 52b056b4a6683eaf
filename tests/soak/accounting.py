"""The soak's figures: each request counted in the phase it was sent in, the targets checked, and
the report printed. Pure functions of what the run recorded, so they are tested without servers.

A phase may hold a fault: a window from the moment a component is taken away to the moment it is
back. Inside that window (and for `recovery_bound` seconds after it) a request that needs the
missing component may be refused with a 503; any other 5xx, or one outside the window, misses a
target. A 500 is never allowed. Latencies outside every fault window are compared with the
baseline's.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.soak.oracle import FLOWS, Change, Kind, Sent, fail_opens

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "no answer")
P99_FACTOR = 1.5  # p99 outside fault windows, at most this many times the baseline's
ENFORCEMENT_BOUND = 1.0  # a change enforced on every instance within this many seconds
RECOVERY_BOUND = 2.0  # back to normal within this many seconds of the component's return


@dataclass(frozen=True)
class Fault:
    """A component taken away from `began` to `ended` (seconds since the run began)."""

    component: str
    began: float
    ended: float
    needs: frozenset[Kind]  # the requests that may be refused while it is away


@dataclass(frozen=True)
class Phase:
    name: str
    began: float
    ended: float
    fault: Fault | None = None
    enforcement: dict[str, float] = field(default_factory=dict)  # change: seconds, inf if never
    notes: tuple[str, ...] = ()  # what else was measured, said as it is


@dataclass(frozen=True)
class PhaseFigures:
    name: str
    sent: int
    by_class: dict[str, int]
    fail_open: int
    server_errors: int  # 5xx of any kind
    internal_errors: int  # exactly 500
    unexpected_errors: (
        int  # 5xx or no answer outside the fault, or for a request that needs nothing missing
    )
    error_seconds: float  # from the first 5xx or lost answer to the last
    errors_by_kind: dict[str, int]
    recovery: float | None  # seconds after the fault ended until the last error; None: no fault
    p50: float
    p99: float  # of single requests (no flow) sent outside the fault window


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.5 for p50, 0.99 for p99); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _is_error(sent: Sent) -> bool:
    return sent.status >= 500 or sent.status == 0


def _in_window(sent: Sent, fault: Fault) -> bool:
    """Whether `sent` was in flight at some moment between the fault's start and the end of its
    recovery bound (a request already sent when the component went away counts)."""
    return (
        sent.started + sent.duration >= fault.began and sent.started <= fault.ended + RECOVERY_BOUND
    )


def _allowed_error(sent: Sent, fault: Fault | None) -> bool:
    return fault is not None and sent.kind in fault.needs and _in_window(sent, fault)


def in_phase(sent: Sequence[Sent], phase: Phase) -> list[Sent]:
    return [request for request in sent if phase.began <= request.started < phase.ended]


def figures(
    phase: Phase, sent: Sequence[Sent], changes: Sequence[Change], *, bound: float
) -> PhaseFigures:
    """The figures of the requests sent during `phase`."""
    mine = in_phase(sent, phase)
    fault = phase.fault
    errors = [request for request in mine if _is_error(request)]
    recovery: float | None = None
    if fault is not None:
        late = [
            request.started - fault.ended for request in errors if request.started >= fault.ended
        ]
        recovery = max([0.0, *late])
    quiet = [
        request.duration
        for request in mine
        if request.status
        and request.kind not in FLOWS
        and (fault is None or not _in_window(request, fault))
    ]
    error_times = [request.started for request in errors]
    return PhaseFigures(
        name=phase.name,
        sent=len(mine),
        by_class=dict(Counter(request.status_class for request in mine)),
        fail_open=len(fail_opens(mine, changes, bound=bound)),
        server_errors=sum(1 for request in mine if request.status >= 500),
        internal_errors=sum(1 for request in mine if request.status == 500),
        unexpected_errors=sum(1 for request in errors if not _allowed_error(request, fault)),
        error_seconds=(max(error_times) - min(error_times)) if error_times else 0.0,
        errors_by_kind=dict(Counter(str(request.kind) for request in errors)),
        recovery=recovery,
        p50=percentile(quiet, 0.5),
        p99=percentile(quiet, 0.99),
    )


@dataclass(frozen=True)
class Target:
    name: str
    met: bool
    safety: bool  # a safety target fails the run whatever SOAK_GATE says
    detail: str


def targets(
    phases: Sequence[Phase],
    results: Sequence[PhaseFigures],
    *,
    missing_records: Sequence[str],
    baseline: str = "baseline",
) -> list[Target]:
    """The issue's targets, each met or not, with the figure that decides it."""
    fail_open = sum(result.fail_open for result in results)
    internal = sum(result.internal_errors for result in results)
    unexpected = sum(result.unexpected_errors for result in results)
    found = [
        Target("0 fail-open", fail_open == 0, True, f"{fail_open} fail-open"),
        Target(
            "0 lost records",
            not missing_records,
            True,
            f"{len(missing_records)} missing"
            + (f": {missing_records[0]}" if missing_records else ""),
        ),
        Target("never a 500", internal == 0, True, f"{internal} answered 500"),
        Target(
            "5xx only in a fault, only where needed",
            unexpected == 0,
            False,
            f"{unexpected} elsewhere",
        ),
    ]
    for phase, result in zip(phases, results, strict=True):
        for change, seconds in phase.enforcement.items():
            found.append(
                Target(
                    f"{change} enforced everywhere within {ENFORCEMENT_BOUND:g} s",
                    seconds <= ENFORCEMENT_BOUND,
                    False,
                    _seconds(seconds),
                )
            )
        if result.recovery is not None:
            found.append(
                Target(
                    f"{phase.name}: recovered within {RECOVERY_BOUND:g} s",
                    result.recovery <= RECOVERY_BOUND,
                    False,
                    _seconds(result.recovery),
                )
            )
    reference = next((result.p99 for result in results if result.name == baseline), math.nan)
    for result in results:
        if result.name == baseline:
            continue
        ratio = result.p99 / reference if reference > 0 else math.nan
        found.append(
            Target(
                f"{result.name}: p99 within {P99_FACTOR:g}x of the baseline",
                ratio <= P99_FACTOR,  # nan (no figure) is not met
                False,
                f"{ratio:.1f}x" if not math.isnan(ratio) else "no figure",
            )
        )
    return found


def exit_status(found: Sequence[Target], *, gate: str) -> int:
    """1 when a target that the gate counts is missed: `safety` counts only the safety targets
    (fail-open, lost records, 500), `all` every one."""
    if gate not in ("all", "safety"):
        raise ValueError(f"SOAK_GATE must be all or safety, not {gate!r}")
    counted = [target for target in found if target.safety or gate == "all"]
    return 0 if all(target.met for target in counted) else 1


def _seconds(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:.3f} s"


def _milliseconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.1f}"


def format_report(
    phases: Sequence[Phase], results: Sequence[PhaseFigures], found: Sequence[Target], *, gate: str
) -> str:
    """The soak's printed report: one row per phase, then its notes, then every target."""
    header = (
        f"{'phase':<14}{'sent':>7}{'2xx':>7}{'3xx':>6}{'4xx':>6}{'5xx':>5}{'none':>5}"
        f"{'fail-open':>10}{'5xx for':>9}{'recovery':>10}{'p50 ms':>8}{'p99 ms':>8}"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        counts = [result.by_class.get(name, 0) for name in STATUS_CLASSES]
        recovery = "-" if result.recovery is None else f"{result.recovery:.2f} s"
        lines.append(
            f"{result.name:<14}{result.sent:>7}{counts[0]:>7}{counts[1]:>6}{counts[2]:>6}"
            f"{counts[3]:>5}{counts[4]:>5}{result.fail_open:>10}"
            f"{result.error_seconds:>7.2f} s{recovery:>10}"
            f"{_milliseconds(result.p50):>8}{_milliseconds(result.p99):>8}"
        )
    lines.append("")
    for phase, result in zip(phases, results, strict=True):
        details = list(phase.notes)
        if result.errors_by_kind:
            errors = ", ".join(
                f"{kind} {count}" for kind, count in sorted(result.errors_by_kind.items())
            )
            details.append(f"5xx or no answer: {errors}")
        details.extend(
            f"{change} enforced everywhere in {_seconds(seconds)}"
            for change, seconds in phase.enforcement.items()
        )
        for detail in details:
            lines.append(f"{phase.name}: {detail}")
    lines.append("")
    for target in found:
        mark = "met   " if target.met else "MISSED"
        kind = "safety" if target.safety else "target"
        lines.append(f"{mark} [{kind}] {target.name}: {target.detail}")
    status = exit_status(found, gate=gate)
    lines.append(f"SOAK_GATE={gate}: {'pass' if status == 0 else 'FAIL'}")
    return "\n".join(lines)
