"""What every object's checks share: its name, a duration, text a database can store, a choice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.text import UNSTORABLE_TEXT, unstorable_text_paths
from policies.durations import parse_duration
from policies.errors import Errors, add_error

# The columns that hold durations (Application/Policy.session_duration, ServiceToken.duration).
MAX_DURATION_LENGTH = 32


def check_storable_text(errors: Errors, fields: Mapping[str, Any]) -> None:
    """Text a database cannot store (a NUL, an unpaired surrogate) anywhere in `fields`."""
    for path in unstorable_text_paths(fields):
        add_error(errors, path, UNSTORABLE_TEXT)


def listed_choices(choices: Any) -> str:
    """A model's choices as a message lists them: `allow, deny, non_identity, bypass`."""
    return ", ".join(str(value) for value in choices.values)


def check_name(errors: Errors, value: object, *, max_length: int) -> None:
    """An object's `name`: required, without spaces around it, at most `max_length` long."""
    if not isinstance(value, str) or not value.strip():
        add_error(errors, "name", "is required")
    elif value != value.strip():
        add_error(errors, "name", "must not start or end with spaces")
    elif len(value) > max_length:
        add_error(errors, "name", f"must be at most {max_length} characters")


def check_duration(errors: Errors, path: str, value: object, *, hint: str = "") -> None:
    """A duration longer than zero at `path`; `hint` adds to the example what else it may be."""
    example = f'a duration like "30m", "2h45m" or "24h"{hint}'
    if not isinstance(value, str):
        add_error(errors, path, f"must be {example}")
        return
    if len(value) > MAX_DURATION_LENGTH:
        add_error(errors, path, f"must be at most {MAX_DURATION_LENGTH} characters")
        return
    try:
        duration = parse_duration(value)
    except ValueError as error:
        add_error(errors, path, f"{error}; write {example}")
        return
    if duration.total_seconds() <= 0:
        add_error(errors, path, f"must be longer than zero; write {example}")
