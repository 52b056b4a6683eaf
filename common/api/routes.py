"""The routes of `/api/access/`: every endpoint at the path it declares.

Each view says where it is served (`AdminApiView.route` and `route_name`), next to what it
does; an app's `api/urls.py` only names the modules whose endpoints it serves.
"""

from __future__ import annotations

from types import ModuleType

from django.urls import URLPattern, path

from common.api import converters  # noqa: F401  (registers <object_id:...>)
from common.api.base import AdminApiView


def routes(*modules: ModuleType) -> list[URLPattern]:
    """A route for each endpoint the modules define, in the order they define them."""
    return [
        path(view.route, view.as_view(), name=view.route_name)
        for module in modules
        for view in vars(module).values()
        if isinstance(view, type)
        and issubclass(view, AdminApiView)
        and view.__module__ == module.__name__
        and hasattr(view, "route")  # not what a module's endpoints share (`Groups`)
    ]
