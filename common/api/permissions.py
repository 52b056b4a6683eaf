"""Who may do what through the API: Django's model permissions, and read-only API tokens.

Permissions are the ones an administrator already grants in Django admin (`view_application`,
`change_servicetoken`, ...), so that a person's API rights and admin rights are the same.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.views import APIView


class ModelPermissions(DjangoModelPermissions):
    """Django model permissions, with `view_*` required to read (DRF's default lets anyone read).

    Without a matching permission the answer is 403; an anonymous caller gets 401.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }


class ActionPermissions(ModelPermissions):
    """For actions on an existing object (rotate, refresh, revoke): a POST needs `change_*`."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


class WritesAllowed(BasePermission):
    """Refuses unsafe methods to credentials marked read-only (`request.auth.read_only`).

    Authentication classes whose credentials can be read-only (API tokens) put an object with a
    `read_only` attribute in `request.auth`; a session login has none and is judged by its
    model permissions alone.
    """

    message = "This API token is read-only: it cannot change anything."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return not bool(getattr(request.auth, "read_only", False))

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return self.has_permission(request, view)
