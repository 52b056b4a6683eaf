"""Text every database can store, JSON read strictly, and the field paths errors are keyed by."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

UNSTORABLE_TEXT = "must not contain NUL characters or unpaired surrogates"


def decode_json(text: str) -> object:
    """Parse JSON as the admin and config files read it; `ValueError` says what is wrong.

    Besides syntax errors, refuses what `json.loads` accepts but nothing here can use or store:
    nesting deeper than the interpreter recurses, numbers with thousands of digits, NaN and
    Infinity, and text with a NUL character or an unpaired surrogate.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ValueError(f"{error.msg} (line {error.lineno}, column {error.colno})") from error
    except RecursionError as error:
        raise ValueError("it is nested too deeply") from error
    except ValueError as error:  # an integer too long to convert, or NaN/Infinity
        raise ValueError(str(error)) from error
    refuse_unstorable_text(value)
    return value


def refuse_unstorable_text(value: object) -> None:
    """Raise `ValueError` naming the first text in a parsed document that cannot be stored."""
    path = next(unstorable_text_paths(value), None)
    if path is not None:
        raise ValueError(f"the text at {path} {UNSTORABLE_TEXT}")


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def unstorable_text_paths(value: object, path: str = "") -> Iterator[str]:
    """The path of every key or text inside `value` that a database cannot store.

    PostgreSQL refuses NUL characters in text and JSON, and no database takes an unpaired
    surrogate (which JSON's "\\ud800" escape can produce). Walks iteratively: a parsed value
    may be nested as deeply as its parser allowed, and each list or mapping is visited once, as
    YAML aliases can make a document refer to itself.
    """
    pending: list[tuple[str, object]] = [(path, value)]
    visited: set[int] = set()
    while pending:
        where, item = pending.pop()
        if isinstance(item, Mapping | list | tuple):
            if id(item) in visited:
                continue
            visited.add(id(item))
        if isinstance(item, str):
            if not _storable(item):
                yield where or "__all__"
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                text = str(key)
                if not _storable(text):
                    yield where or "__all__"
                    continue
                pending.append((join_path(where, text), inner))
        elif isinstance(item, list | tuple):
            pending.extend((f"{where}[{index}]", inner) for index, inner in enumerate(item))


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def join_path(prefix: str, path: str) -> str:
    """`prefix` and `path` as one field path: `cors_headers.max_age`, `include[0]`."""
    if not prefix:
        return path
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"
