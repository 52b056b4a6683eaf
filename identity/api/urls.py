"""Routes of the identity half of `/api/access/` (mounted by accessproject/urls.py)."""

urlpatterns: list = []
