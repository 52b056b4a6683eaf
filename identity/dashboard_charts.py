"""The activity dashboard's charts (`identity.charts`) from its numbers (`identity.dashboard`),
each linking to the list it summarises: the authentication events or the activity counts,
filtered by kind, dimension, value and time."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from identity.charts import bar_chart, top_chart
from identity.dashboard import Activity

_LABELS = {
    "application": "Top applications",
    "refused_path": "Top refused paths",
    "origin": "Top origins",
    "refused_address": "Top refused addresses",
}
_EVENT_KINDS = {"sign-ins": "sign_in", "refused sign-ins": "sign_in_refused"}
_COLOURS = {
    "allowed": "#3a7d44",
    "refused": "#b3261e",
    "sign-ins": "#1f5f99",
    "refused sign-ins": "#c96a00",
}


def _link(name: str, query: dict[str, str]) -> str:
    return f"{reverse(name)}?{urlencode(query)}"


def activity_charts(activity: Activity) -> dict[str, Any]:
    """The template's `charts` (over time) and `tops` (largest values)."""
    since = activity.start.strftime("%Y-%m-%d %H:%M:%S%z")
    fmt = "%H:%M" if activity.period != "week" else "%d %b"
    labels = [slot.strftime(fmt) for slot in activity.slots]
    counts = "admin:identity_activitycount_changelist"
    events = "admin:identity_authevent_changelist"
    charts = []
    for series in activity.series:
        if series.name in _EVENT_KINDS:
            kind = _EVENT_KINDS[series.name]
            link = _link(events, {"kind__exact": kind, "created_at__gte": since})
            title = series.name.capitalize()
        else:
            link = _link(counts, {"dimension__exact": "decision", "bucket__gte": since})
            title = f"Gate decisions {series.name}"
        charts.append(
            {
                "name": series.name,
                "title": title,
                "total": series.total,
                "svg": bar_chart(
                    title=title,
                    values=series.values,
                    labels=labels,
                    link=link,
                    colour=_COLOURS[series.name],
                ),
            }
        )
    tops = [
        {
            "name": dimension,
            "title": _LABELS[dimension],
            "rows": rows,
            "svg": top_chart(
                title=_LABELS[dimension],
                rows=[
                    (
                        value,
                        count,
                        _link(
                            counts,
                            {"dimension__exact": dimension, "q": value, "bucket__gte": since},
                        ),
                    )
                    for value, count in rows
                ],
                colour="#9fc5e8",
            ),
        }
        for dimension, rows in activity.top.items()
    ]
    return {"charts": charts, "tops": tops}
