"""Validation errors as `{field path: [message, ...]}`, and the checks every shape shares.

A path names the field the message is about, the same in admin, API and config files:
`cors_headers.max_age`, `include[0].email.email`, `applications[2].domain`; `__all__` is the
object as a whole. `raise_for_errors` turns them into a Django `ValidationError`, which the admin
attaches to the field of the same name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError

from common.text import join_path

__all__ = [
    "Errors",
    "add_error",
    "check_unknown",
    "errors_from_validation_error",
    "errors_text",
    "merge_errors",
    "raise_for_errors",
    "strings_at",
]

Errors = dict[str, list[str]]


def add_error(errors: Errors, path: str, message: str) -> None:
    """Add `message` at `path` (the whole object when empty), once."""
    bucket = errors.setdefault(path or "__all__", [])
    if message not in bucket:
        bucket.append(message)


def merge_errors(target: Errors, source: Mapping[str, Sequence[str]], prefix: str = "") -> None:
    """Add `source`'s errors to `target`, under `prefix` (e.g. `applications[2]`)."""
    for path, messages in source.items():
        key = join_path(prefix, "" if path == "__all__" else path) or "__all__"
        bucket = target.setdefault(key, [])
        bucket.extend(message for message in messages if message not in bucket)


def errors_text(errors: Errors, prefix: str) -> str:
    """Every message as one line, each after its path under `prefix` (for a `ValueError`)."""
    return "; ".join(
        f"{join_path(prefix, '' if path == '__all__' else path)}: {message}"
        for path, messages in errors.items()
        for message in messages
    )


def raise_for_errors(errors: Errors) -> None:
    """Raise a Django `ValidationError` keyed by field path when there is any error."""
    if errors:
        raise ValidationError({path: list(messages) for path, messages in errors.items()})


def errors_from_validation_error(error: ValidationError) -> Errors:
    """The `{path: [messages]}` form of a Django `ValidationError` (from `full_clean`, say)."""
    if hasattr(error, "error_dict"):
        return {
            path: [message for item in items for message in item.messages]
            for path, items in error.error_dict.items()
        }
    return {"__all__": list(error.messages)}


def check_unknown(errors: Errors, fields: Mapping[str, Any], known: Collection[str]) -> None:
    """An error for each key of `fields` that is not in `known`."""
    for key in fields:
        if key not in known:
            add_error(
                errors, str(key), f"unknown field; expected one of {', '.join(sorted(known))}"
            )


def strings_at(errors: Errors, mapping: Mapping[str, Any], key: str) -> list[tuple[int, str]]:
    """The text items of the list at `mapping[key]` with their indexes in it (so an error on one
    names its place in the stored list); an error for each item that is not text."""
    value = mapping.get(key)
    if not isinstance(value, list):
        return []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            add_error(errors, f"{key}[{index}]", "must be text")
    return [(index, item) for index, item in enumerate(value) if isinstance(item, str)]
