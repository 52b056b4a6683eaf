"""Property tests that prove they test something: most examples must reach the checked branch.

A property test whose examples almost never reach its assertion (an early `return`, an `if`
that random text never satisfies, `all([])`) passes whatever the code does. `given_reaching` is
Hypothesis' `given` that also counts the examples; the test calls `reached("what")` where the
branch it checks runs, which records a Hypothesis `event()` as well (shown by
`pytest --hypothesis-show-statistics`). When the run ends, fewer than `minimum` (half, by
default) of the examples having reached it is a failure. Examples rejected by `assume()` count
as not reaching, so a filter cannot hide a generator that misses the point.

    @given_reaching(origin=origins())
    def test_x(origin):
        answer = check(origin)
        if answer is None:
            return
        reached("answered")
        assert ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from hypothesis import event, given

MINIMUM_REACH = 0.5


@dataclass
class _Tally:
    examples: int = 0
    reached: int = 0
    reached_this_example: bool = False


_tally: ContextVar[_Tally | None] = ContextVar("property_reach_tally", default=None)


def reached(label: str) -> None:
    """Say that this example reached the branch the test checks (`label` names it)."""
    tally = _tally.get()
    if tally is None:
        raise RuntimeError("reached() is for tests decorated with given_reaching")
    if not tally.reached_this_example:
        tally.reached_this_example = True
        tally.reached += 1
    event(label)


def given_reaching(
    *given_arguments: Any, minimum: float = MINIMUM_REACH, **given_keywords: Any
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`hypothesis.given`, failing the test when under `minimum` of its examples call `reached`.

    Apply `@settings(...)` below this decorator (next to the function), not above it.
    """

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(test)
        def counted(*args: Any, **kwargs: Any) -> None:
            tally = _tally.get()
            if tally is not None:
                tally.examples += 1
                tally.reached_this_example = False
            test(*args, **kwargs)

        property_test = given(*given_arguments, **given_keywords)(counted)

        @functools.wraps(property_test)
        def run(*args: Any, **kwargs: Any) -> None:
            tally = _Tally()
            token = _tally.set(tally)
            try:
                property_test(*args, **kwargs)
            finally:
                _tally.reset(token)
            share = tally.reached / tally.examples if tally.examples else 0.0
            assert share >= minimum, (
                f"{test.__name__}: only {tally.reached} of {tally.examples} examples reached the "
                f"checked branch (at least {minimum:.0%} must): the generator misses the point"
            )

        return run

    return decorate
