"""The project's own endpoints that stay reachable on the login host, whatever is protected.

The gate refuses (421) a request for a path that an application protects on some host when no
application of the request's host covers it (`identity.gate.decide_request`). The admin and the
REST API authenticate for themselves, and administrators must reach them even when a whole-host
application elsewhere covers every path; so on the login host (`ACCESS_TEAM_DOMAIN`), and only
there, a path that resolves to one of these views is left to it. The check resolves the path
exactly as Django will route it, so a path that reaches any other view (an application's own)
is never let through this way. docs/security.md lists the endpoints.
"""

from __future__ import annotations

from django.urls import Resolver404, ResolverMatch, resolve

from identity.conf import conf
from policies.hosts import normalize_host

# Views that check who is calling on every request: Django's admin site, the REST API and
# its schema pages (DRF views whose authentication and permission classes always run), and
# the login host's root (the App Launcher, behind its own policy, or a page saying what the
# host is).
ADMIN_NAMESPACE = "admin"
OWN_VIEW_MODULES = ("policies.api.", "identity.api.", "drf_spectacular.", "identity.views.home")


def is_own_endpoint(host: str, path: str) -> bool:
    """Whether `path` on `host` is one of the project's own self-authenticating endpoints on the
    login host (see the module docstring)."""
    login_host = conf.team_domain
    if not login_host or normalize_host(host) != normalize_host(login_host):
        return False
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return is_own_view(match)


def is_own_view(match: ResolverMatch) -> bool:
    """Whether a resolved view is the admin's or the REST API's."""
    if ADMIN_NAMESPACE in match.namespaces:
        return True
    view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    module = getattr(view_class or match.func, "__module__", "") or ""
    return module.startswith(OWN_VIEW_MODULES)
