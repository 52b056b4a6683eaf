"""Login methods, one module per identity provider type, registered on import (`base.register`)."""

from identity.providers import (  # noqa: F401  (each module registers its class)
    github,
    oidc,
    onetimepin,
    password,
)
from identity.providers.base import LoginMethod, login_method_for, register

__all__ = ["LoginMethod", "login_method_for", "register"]
