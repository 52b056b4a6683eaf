"""What the activity dashboard shows, read once for the admin page and the API alike.

Gate decisions come from the counters' rows (`identity.activity`), sign-ins and refused sign-ins
from their `AuthEvent`s. A period (last hour, day or week) is cut into equal slots; the top lists
add up the period's counts per value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from identity.activity import PASSING
from identity.models import ActivityCount, AuthEvent

PERIODS: dict[str, tuple[timedelta, timedelta]] = {
    "hour": (timedelta(hours=1), timedelta(minutes=5)),
    "day": (timedelta(days=1), timedelta(hours=1)),
    "week": (timedelta(days=7), timedelta(days=1)),
}
TOP_DIMENSIONS = ("application", "refused_path", "origin", "refused_address")
TOP_SIZE = 10


@dataclass(frozen=True)
class Series:
    """Counts per slot: `name` (what is counted), `values[i]` in slot `i`."""

    name: str
    values: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Activity:
    period: str
    start: datetime
    step: timedelta
    slots: tuple[datetime, ...]
    series: tuple[Series, ...]
    top: dict[str, list[tuple[str, int]]]

    def series_named(self, name: str) -> Series:
        return next(series for series in self.series if series.name == name)


def activity_summary(period: str, *, now: datetime | None = None) -> Activity:
    """The activity of the last `period` ("hour", "day" or "week")."""
    span, step = PERIODS[period]
    now = now or timezone.now()
    step_seconds = step.total_seconds()
    first = datetime.fromtimestamp(
        ((now - span).timestamp() // step_seconds + 1) * step_seconds, tz=UTC
    )
    count = int(span / step)
    slots = tuple(first + step * index for index in range(count))

    def slot_of(moment: datetime) -> int | None:
        index = int((moment - first).total_seconds() // step_seconds)
        return index if 0 <= index < count else None

    allowed, refused = [0] * count, [0] * count
    decisions = ActivityCount.objects.filter(dimension="decision", bucket__gte=first)
    for bucket, value, number in decisions.values_list("bucket", "value", "count"):
        index = slot_of(bucket)
        if index is not None:
            (allowed if value in PASSING else refused)[index] += number

    def events(kind: str) -> tuple[int, ...]:
        values = [0] * count
        moments = AuthEvent.objects.filter(kind=kind, created_at__gte=first)
        for moment in moments.values_list("created_at", flat=True):
            index = slot_of(moment)
            if index is not None:
                values[index] += 1
        return tuple(values)

    series = (
        Series("allowed", tuple(allowed)),
        Series("refused", tuple(refused)),
        Series("sign-ins", events(AuthEvent.Kind.SIGN_IN)),
        Series("refused sign-ins", events(AuthEvent.Kind.SIGN_IN_REFUSED)),
    )
    top = {dimension: _top(dimension, first) for dimension in TOP_DIMENSIONS}
    return Activity(period, first, step, slots, series, top)


def _top(dimension: str, start: datetime) -> list[tuple[str, int]]:
    rows: Iterable[tuple[str, int]] = (
        ActivityCount.objects.filter(dimension=dimension, bucket__gte=start)
        .values("value")
        .annotate(total=Sum("count"))
        .order_by("-total", "value")
        .values_list("value", "total")[:TOP_SIZE]
    )
    return [(str(value), int(total)) for value, total in rows]
