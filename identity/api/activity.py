"""`/api/access/activity`: the activity dashboard's numbers (`identity.dashboard`)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.api.resources import Doc, ReadApi
from identity.dashboard import PERIODS, TOP_DIMENSIONS, activity_summary
from identity.models import AuthEvent


class SeriesOutputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(help_text="allowed, refused, sign-ins or refused sign-ins.")
    total = serializers.IntegerField(help_text="The sum of `values`.")
    values = serializers.ListField(child=serializers.IntegerField(), help_text="One per slot.")


class TopOutputSerializer(serializers.Serializer[Any]):
    value = serializers.CharField(help_text="The application, path, origin or address.")
    count = serializers.IntegerField(help_text="How many times it counted in the period.")


class ActivityOutputSerializer(serializers.Serializer[Any]):
    period = serializers.ChoiceField(choices=list(PERIODS), help_text="The period asked for.")
    start = serializers.DateTimeField(help_text="The first slot's start.")
    step_seconds = serializers.IntegerField(help_text="Each slot's length.")
    slots = serializers.ListField(
        child=serializers.DateTimeField(), help_text="Each slot's start, oldest first."
    )
    series = SeriesOutputSerializer(many=True, help_text="One series of counts per kind.")
    top = serializers.DictField(
        child=TopOutputSerializer(many=True),
        help_text=f"The largest values of {', '.join(TOP_DIMENSIONS)}.",
    )


class ActivityFilterSerializer(serializers.Serializer[Any]):
    period = serializers.ChoiceField(
        choices=list(PERIODS), default="day", help_text="How far back: hour, day or week."
    )


class ActivityApi(ReadApi):
    route, route_name = "activity", "api-activity"
    queryset = AuthEvent.objects.all()
    output = ActivityOutputSerializer
    filters = ActivityFilterSerializer
    docs = {
        "get": Doc(
            "Activity over the last hour, day or week",
            "Gate decisions (allowed, refused) and sign-ins (made, refused) per slot, and the "
            "top applications, refused paths, origins and refused addresses: the admin's "
            "activity dashboard as data. Decisions reach it within a few seconds.",
        )
    }

    def read(self, filters: dict[str, Any]) -> dict[str, Any]:
        activity = activity_summary(filters["period"])
        return {
            "period": activity.period,
            "start": activity.start,
            "step_seconds": int(activity.step.total_seconds()),
            "slots": list(activity.slots),
            "series": [
                {"name": s.name, "total": s.total, "values": list(s.values)}
                for s in activity.series
            ],
            "top": {
                dimension: [{"value": value, "count": count} for value, count in rows]
                for dimension, rows in activity.top.items()
            },
        }
