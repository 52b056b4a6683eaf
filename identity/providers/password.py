"""Username and password (`password`): Django users, checked by `identity.flows.password`."""

from __future__ import annotations

from typing import ClassVar

from identity.providers.base import LoginMethod, register


@register
class Password(LoginMethod):
    types: ClassVar[tuple[str, ...]] = ("password",)
    form_template: ClassVar[str] = "identity/methods/password.html"
    signs_in_users: ClassVar[bool] = True
    amr: ClassVar[frozenset[str]] = frozenset({"pwd"})
