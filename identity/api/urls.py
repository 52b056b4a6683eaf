"""Routes of the identity half of `/api/access/` (mounted by accessproject/urls.py)."""

from django.urls import path

from common.api import converters  # noqa: F401  (registers <object_id:...>)
from identity.api import activity, approvals, audit, keys, logs, second_factors, sessions

urlpatterns = [
    path("sessions", sessions.SessionListApi.as_view(), name="api-sessions"),
    path("sessions/revoke", sessions.RevokeApi.as_view(), name="api-sessions-revoke"),
    path(
        "sessions/<object_id:session_id>/revoke",
        sessions.SessionRevokeApi.as_view(),
        name="api-session-revoke",
    ),
    path("approvals", approvals.ApprovalListApi.as_view(), name="api-approvals"),
    path(
        "approvals/<uuid:approval_id>/revoke",
        approvals.ApprovalRevokeApi.as_view(),
        name="api-approval-revoke",
    ),
    path("keys", keys.KeyListApi.as_view(), name="api-keys"),
    path("keys/rotate", keys.KeyRotateApi.as_view(), name="api-keys-rotate"),
    path("logs", logs.AuthEventListApi.as_view(), name="api-logs"),
    path("audit", audit.AuditListApi.as_view(), name="api-audit"),
    path("activity", activity.ActivityApi.as_view(), name="api-activity"),
    path("second_factors", second_factors.SecondFactorListApi.as_view(), name="api-second-factors"),
    path(
        "second_factors/reset",
        second_factors.SecondFactorResetApi.as_view(),
        name="api-second-factors-reset",
    ),
]
