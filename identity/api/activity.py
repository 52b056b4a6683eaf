"""`/api/access/activity`: the activity dashboard's numbers (`identity.dashboard`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.base import AdminApiView
from common.api.envelope import enveloped, ok
from common.api.pagination import list_filters
from common.api.responses import error_responses
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
    period = serializers.ChoiceField(choices=list(PERIODS), default="day")


class ActivityApi(AdminApiView):
    route, route_name = "activity", "api-activity"
    queryset = AuthEvent.objects.all()

    @extend_schema(
        operation_id="activity_retrieve",
        summary="Activity over the last hour, day or week",
        parameters=[
            OpenApiParameter(
                "period", str, enum=list(PERIODS), description="How far back: hour, day or week."
            )
        ],
        responses={200: enveloped(ActivityOutputSerializer), **error_responses()},
        description=(
            "Gate decisions (allowed, refused) and sign-ins (made, refused) per slot, and the "
            "top applications, refused paths, origins and refused addresses: the admin's "
            "activity dashboard as data. Decisions reach it within a few seconds."
        ),
    )
    def get(self, request: Request) -> Response:
        activity = activity_summary(list_filters(request, ActivityFilterSerializer)["period"])
        data = {
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
        return ok(ActivityOutputSerializer(data).data)
