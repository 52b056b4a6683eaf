"""Login methods, one module per identity provider type, registered on import (`base.register`)."""

from identity.providers import onetimepin, password  # noqa: F401  (each registers its class)
from identity.providers.base import LoginMethod, login_method_for, register

__all__ = ["LoginMethod", "login_method_for", "register"]
