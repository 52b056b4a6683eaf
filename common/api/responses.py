"""Schema helpers shared by the endpoints: the documented failures, and what a delete returns."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.api.envelope import ErrorEnvelopeSerializer

ERROR_STATUSES = (400, 401, 403, 404, 405, 406, 415)


def error_responses(*statuses: int) -> dict[int, type[serializers.Serializer[Any]]]:
    """The error envelope for each failure status an endpoint may answer (all, by default)."""
    return dict.fromkeys(statuses or ERROR_STATUSES, ErrorEnvelopeSerializer)


class DeletedOutputSerializer(serializers.Serializer[Any]):
    """What a successful delete returns, as Access does: the id of what is gone."""

    id = serializers.IntegerField(help_text="The id of the object deleted.")
