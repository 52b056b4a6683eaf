"""Routes of the policies half of `/api/access/` (mounted by accessproject/urls.py)."""

from common.api.routes import routes
from policies.api import access_policies, applications, groups, identity_providers, service_tokens

urlpatterns = routes(applications, access_policies, groups, service_tokens, identity_providers)
