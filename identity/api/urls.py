"""Routes of the identity half of `/api/access/` (mounted by accessproject/urls.py)."""

from common.api.routes import routes
from identity.api import activity, approvals, audit, keys, logs, second_factors, sessions

urlpatterns = routes(sessions, approvals, keys, logs, audit, activity, second_factors)
