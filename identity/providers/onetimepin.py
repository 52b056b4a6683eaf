"""One-time PIN (`onetimepin`): an email form on the login page; `identity.flows.pin` does it."""

from __future__ import annotations

from typing import ClassVar

from identity.providers.base import LoginMethod, register


@register
class OneTimePin(LoginMethod):
    types: ClassVar[tuple[str, ...]] = ("onetimepin",)
    form_template: ClassVar[str] = "identity/methods/onetimepin.html"
    amr: ClassVar[frozenset[str]] = frozenset({"otp"})
