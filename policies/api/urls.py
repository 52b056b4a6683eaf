"""Routes of the policies half of `/api/access/` (mounted by accessproject/urls.py)."""

from django.urls import path

from common.api import converters  # noqa: F401  (registers <object_id:...>)
from policies.api import access_policies, applications, groups, identity_providers, service_tokens

urlpatterns = [
    path("apps", applications.ApplicationListApi.as_view(), name="api-apps"),
    path(
        "apps/<object_id:application_id>",
        applications.ApplicationDetailApi.as_view(),
        name="api-app",
    ),
    path(
        "apps/<object_id:application_id>/policies",
        access_policies.PolicyListApi.as_view(),
        name="api-policies",
    ),
    path(
        "apps/<object_id:application_id>/policies/<object_id:policy_id>",
        access_policies.PolicyDetailApi.as_view(),
        name="api-policy",
    ),
    path("groups", groups.GroupListApi.as_view(), name="api-groups"),
    path("groups/<object_id:group_id>", groups.GroupDetailApi.as_view(), name="api-group"),
    path("service_tokens", service_tokens.ServiceTokenListApi.as_view(), name="api-service-tokens"),
    path(
        "service_tokens/<object_id:token_id>",
        service_tokens.ServiceTokenDetailApi.as_view(),
        name="api-service-token",
    ),
    path(
        "service_tokens/<object_id:token_id>/rotate",
        service_tokens.ServiceTokenRotateApi.as_view(),
        name="api-service-token-rotate",
    ),
    path(
        "service_tokens/<object_id:token_id>/refresh",
        service_tokens.ServiceTokenRefreshApi.as_view(),
        name="api-service-token-refresh",
    ),
    path(
        "identity_providers",
        identity_providers.IdentityProviderListApi.as_view(),
        name="api-identity-providers",
    ),
    path(
        "identity_providers/<object_id:provider_id>",
        identity_providers.IdentityProviderDetailApi.as_view(),
        name="api-identity-provider",
    ),
]
