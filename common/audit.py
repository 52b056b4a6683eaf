"""The audit trail: who changed what, when, through which channel, with a before/after diff.

The services (`policies.services`, `identity.sessions`, `identity.keys`, `identity.lockouts`)
call `record_change` inside the transaction of the change they make, so a change is recorded
exactly when it is committed, whichever way it was made. Who made it is not threaded through
the services: the admin, the API and `access_apply` each set it around their work with
`acting_as` (a context variable), and code that sets nothing is recorded as `code` (a shell, a
script, a test) with no person.

Nothing in the trail holds a secret: the values passed in are the objects' public fields (the
selectors' `*_fields`), and any key that names a secret is replaced by a marker that says only
whether it changed.
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.serializers.json import DjangoJSONEncoder

from common.adminqueries import ReadableQueryMixin

__all__ = [
    "CHANNELS",
    "Actor",
    "acting_as",
    "current_actor",
    "diff",
    "record_change",
    "scrubbed",
]

# Through what a change was made.
ADMIN = "admin"
API = "api"
CONFIG_FILE = "config file"
COMMAND = "command"
SYSTEM = "system"
CODE = "code"
CHANNELS = (ADMIN, API, CONFIG_FILE, COMMAND, SYSTEM, CODE)

# Keys whose values are never recorded, wherever they appear.
SECRET_KEYS = frozenset(
    {
        "client_secret",
        "secret",
        "secret_hash",
        "previous_secret_hash",
        "secrets",
        "private_key",
        "password",
        "code_hash",
    }
)
SECRET_MARKER = "(secret)"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is making changes: the channel, the person's username (if any) and user id."""

    channel: str = CODE
    name: str = ""
    user_id: int | None = None


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "accessproject_audit_actor", default=None
)


@contextlib.contextmanager
def acting_as(channel: str, name: str = "", user_id: int | None = None) -> Iterator[Actor]:
    """Record every change made inside the block as made by this actor through `channel`."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown audit channel {channel!r}")
    actor = Actor(channel, name[:150], user_id)
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def set_actor(actor: Actor) -> contextvars.Token[Actor | None]:
    """Set the actor until `reset_actor(token)` (for a view whose start and end are apart)."""
    return _actor.set(actor)


def reset_actor(token: contextvars.Token[Actor | None]) -> None:
    """Undo `set_actor`."""
    _actor.reset(token)


def actor_of_user(channel: str, user: Any) -> Actor:
    """The actor for a request's user (a Django user, or an anonymous one)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(channel)
    return Actor(channel, str(user.get_username())[:150], user.pk)


def os_user() -> str:
    """Who runs a management command: the operating system's user name, if it can be told."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no such user in the passwd database (containers)
        return ""


def current_actor() -> Actor:
    """Who changes are recorded as made by now."""
    return _actor.get() or Actor()


def scrubbed(value: Any) -> Any:
    """`value` as JSON-ready data, with every secret-named key's value replaced."""
    if isinstance(value, Mapping):
        return {
            str(key): SECRET_MARKER if str(key) in SECRET_KEYS else scrubbed(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrubbed(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return DjangoJSONEncoder().default(value)


def diff(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, prefix: str = ""
) -> dict[str, Any]:
    """`{field: [before, after]}` for each field whose value differs; within a field that is
    an object on both sides, each of its own fields (`config.client_id`)."""
    old = before or {}
    new = after or {}
    found: dict[str, Any] = {}
    for key in sorted({*old, *new}, key=str):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            found.update(diff(a, b, f"{prefix}{key}."))
        else:
            found[f"{prefix}{key}"] = [a, b]
    return found


def record_change(
    action: str,
    obj: Any,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    object_type: str | None = None,
    object_name: str | None = None,
    detail: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Any:
    """Store one audit entry for a change to `obj` (a model instance), unless nothing changed.

    `before` and `after` are the object's public fields before and after (None for a creation
    or a deletion); `detail` adds what the fields do not show (a secret was rotated), and is a
    change of its own; `context` (stored with the detail) only says where the object belongs,
    so an update that changes nothing else is not recorded.
    """
    from common.models import AuditEntry

    old = scrubbed(before) if before is not None else None
    new = scrubbed(after) if after is not None else None
    changes = diff(old, new)
    if action == "update" and not changes and not detail:
        return None
    actor = current_actor()
    meta = getattr(obj, "_meta", None)
    described = {**(context or {}), **(detail or {})}
    return AuditEntry.objects.create(
        channel=actor.channel,
        actor=actor.name,
        actor_user_id=actor.user_id,
        action=action,
        object_type=object_type or (str(meta.verbose_name) if meta else type(obj).__name__),
        object_id=str(getattr(obj, "pk", "") or ""),
        object_name=(object_name if object_name is not None else str(obj))[:350],
        before=old,
        after=new,
        changes=changes,
        detail=scrubbed(described),
    )


class AuditedAdminMixin(ReadableQueryMixin):
    """For a `ModelAdmin`: every change made through its pages is recorded as the signed-in
    person's, through the admin (custom views wrap themselves with `admin_actor`); its History
    page shows the audit trail of the object, however each change was made. Its list refuses a
    query it cannot read (`common.adminqueries`)."""

    object_history_template: ClassVar[Any] = "admin/common/audit_history.html"

    def history_view(
        self, request: Any, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> Any:
        from common.models import AuditEntry

        object_type = str(self.model._meta.verbose_name)  # type: ignore[attr-defined]
        entries = AuditEntry.objects.filter(object_type=object_type, object_id=object_id)
        context = {
            **(extra_context or {}),
            "audit_entries": list(entries[:200]),
            "audit_object_type": object_type,
            "audit_object_id": object_id,
        }
        return super().history_view(request, object_id, extra_context=context)  # type: ignore[misc]

    def changeform_view(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with admin_actor(request):
            return super().changeform_view(request, *args, **kwargs)  # type: ignore[misc]

    def changelist_view(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with admin_actor(request):  # bulk actions and list edits
            return super().changelist_view(request, *args, **kwargs)

    def delete_view(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with admin_actor(request):
            return super().delete_view(request, *args, **kwargs)  # type: ignore[misc]


@contextlib.contextmanager
def admin_actor(request: Any) -> Iterator[Actor]:
    """The actor of an admin request: its signed-in user, through the admin."""
    actor = actor_of_user(ADMIN, getattr(request, "user", None))
    with acting_as(actor.channel, actor.name, actor.user_id) as current:
        yield current
