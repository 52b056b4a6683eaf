"""A Django user who loses their account loses their sign-ins, as a logout would end them.

Deactivating a user, deleting them or changing their password (a new password, an unusable
one, or any other change of the stored hash: Django ends its own sessions on the same change)
revokes every sign-in linked to the user through `identity.sessions`, so every process refuses
their tokens within a second. The hooks are model signals, so they catch every path that saves
or deletes through the ORM: the admin's forms and its bulk delete, `changepassword`, the API,
code calling `save()` or `delete()`. `QuerySet.update()` sends no signal: a change made that way
is caught when the revocation state is next rebuilt, and SSO and the authorized hop read the
account itself before they issue anything (`sessions.sign_in_is_live`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver

from identity.sessions import sessions_revoke_for_user

# What a save may change that takes the account away.
_WATCHED_FIELDS = ("is_active", "password")
_STORED_ATTRIBUTE = "_accessproject_stored_account"


def _watched_fields(sender: type[AbstractBaseUser]) -> list[str]:
    names = {field.name for field in sender._meta.concrete_fields}
    return [name for name in _WATCHED_FIELDS if name in names]


@receiver(
    pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="identity.accounts.remember_account"
)
def _remember_stored_account(
    sender: type[AbstractBaseUser],
    instance: AbstractBaseUser,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    """Read the stored values a save may change, to compare once it is done."""
    if raw or instance._state.adding or instance.pk is None:
        return
    fields = _watched_fields(sender)
    if update_fields is not None:
        fields = [name for name in fields if name in update_fields]
    if not fields:
        return  # e.g. `update_last_login`: one save per sign-in, no query for it
    stored = sender._default_manager.filter(pk=instance.pk).values(*fields).first()
    setattr(instance, _STORED_ATTRIBUTE, stored)


@receiver(
    post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="identity.accounts.revoke_on_save"
)
def _revoke_when_the_account_is_taken_away(
    sender: type[AbstractBaseUser], instance: AbstractBaseUser, **kwargs: Any
) -> None:
    stored = instance.__dict__.pop(_STORED_ATTRIBUTE, None)
    if not stored:
        return
    if stored.get("is_active") and not getattr(instance, "is_active", True):
        sessions_revoke_for_user(user=instance, reason="deactivated")
    elif "password" in stored and stored["password"] != instance.password:
        sessions_revoke_for_user(user=instance, reason="password changed")


@receiver(
    pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="identity.accounts.revoke_on_delete"
)
def _revoke_before_deletion(
    sender: type[AbstractBaseUser], instance: AbstractBaseUser, **kwargs: Any
) -> None:
    # Before the delete sets the sessions' user to NULL: afterwards nothing links them to it.
    sessions_revoke_for_user(user=instance, reason="deleted")
