"""Which application covers a request: host/path patterns, canonical paths and a fast index.

A pattern is `host[/path]` as Cloudflare Access writes it. The host is compared case-insensitively
and without its port, as `policies.hosts` reads it; `*` in a host label stands for part of exactly
one label (`*.example.com` never covers the apex, nor `a.b.example.com`). A path without `*` covers
itself and everything below it (`/demo` covers `/demo/x`, not `/demonstration`); a `*` in a path
may span segments and the pattern still covers everything below what it matched (`/alpha/*`
covers `/alpha/` and `/alpha/one`, not `/alpha`).

Matching must see the path Django's URL resolver will see, or a request could reach a protected
view while escaping the pattern (`/demo/../admin`, `//admin`, `/admin%2f..`). `ApplicationIndex`
matches both the literal path and its canonical form and flags a request whose two forms differ,
so the gate can refuse it instead of guessing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import unquote_to_bytes

from policies.hosts import canonical_host_name, ipv6_literal, normalize_host, split_port

__all__ = [
    "ApplicationIndex",
    "HostPathPattern",
    "PathMatch",
    "PatternError",
    "canonical_path",
    "compile_pattern",
]


class _Orderable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Orderable)

WILDCARD = "*"

_WILDCARD_LABEL_PART = re.compile(r"[a-z0-9_-]*")
_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
# A fast path for the common case: a path with nothing that canonicalization would change.
_NEEDS_CANONICALIZATION = re.compile(r"%[0-9A-Fa-f]{2}|[\\\x00-\x1f\x7f]|//|/\.|[. ](?:/|\Z)")
_MAX_DECODE_ROUNDS = 3


class PatternError(ValueError):
    """An application domain or destination that is not a valid `host[/path]` pattern."""


# --- hosts -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LabelGlob:
    """One host label with at most one `*`, which stands for zero or more characters."""

    prefix: str
    suffix: str

    def matches(self, label: str) -> bool:
        return (
            len(label) >= len(self.prefix) + len(self.suffix)
            and label.startswith(self.prefix)
            and label.endswith(self.suffix)
        )


def _compile_host(text: str, pattern: str) -> tuple[str, tuple[_LabelGlob | None, ...]]:
    """The canonical host of a pattern and, per label, a glob (None for a literal label)."""
    value = split_port(text.strip().lower())
    if value is None:
        raise PatternError(f"{pattern!r}: the port is not a number; leave the port out")
    if value.startswith("["):
        literal = ipv6_literal(value)
        if literal is None:
            raise PatternError(f"{pattern!r}: {text!r} is not a valid IPv6 address")
        return literal, (None,)
    if value.endswith("."):
        value = value[:-1]
    if not value:
        raise PatternError(f"{pattern!r}: the host is missing; write it like app.example.com")
    labels: list[str] = []
    globs: list[_LabelGlob | None] = []
    for label in value.split("."):
        if label.count(WILDCARD) > 1:
            raise PatternError(
                f"{pattern!r}: at most one * per host label; write it like *.example.com"
            )
        if WILDCARD in label:
            prefix, _, suffix = label.partition(WILDCARD)
            if not (
                _WILDCARD_LABEL_PART.fullmatch(prefix) and _WILDCARD_LABEL_PART.fullmatch(suffix)
            ):
                raise PatternError(f"{pattern!r}: {label!r} is not a valid host label")
            labels.append(label)
            globs.append(_LabelGlob(prefix, suffix))
            continue
        ascii_label = canonical_host_name(label)
        if ascii_label is None:
            raise PatternError(f"{pattern!r}: {label!r} is not a valid host label")
        labels.append(ascii_label)
        globs.append(None)
    if globs[-1] is not None:
        raise PatternError(
            f"{pattern!r}: the last label of the host cannot hold *; write it like *.example.com"
        )
    return ".".join(labels), tuple(globs)


# --- paths -------------------------------------------------------------------------------------


def _has_control_character(text: str) -> bool:
    return any(ord(character) < 0x20 or ord(character) == 0x7F for character in text)


def _percent_decode(path: str) -> str | None:
    """Decode leftover %XX escapes, up to three rounds; None when still encoded or not UTF-8."""
    for _ in range(_MAX_DECODE_ROUNDS):
        if not _PERCENT_ENCODED.search(path):
            return path
        try:
            path = unquote_to_bytes(path).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None if _PERCENT_ENCODED.search(path) else path


def canonical_path(path: str) -> str | None:
    """The one canonical form of an (already percent-decoded) request path, or None.

    Decodes leftover %XX escapes (three rounds at most), turns backslashes into slashes, collapses
    repeated slashes, strips trailing dots and spaces from segments (Windows servers ignore them),
    and resolves `.` and `..` (a segment of only dots and spaces holding ".." climbs too). A
    trailing slash is kept. None means the path cannot be trusted:
    control characters, still encoded after three rounds, invalid UTF-8 or `..` above the root.
    """
    if not isinstance(path, str):
        return None
    if path.startswith("/") and not _NEEDS_CANONICALIZATION.search(path):
        return path
    decoded = _percent_decode(path)
    if decoded is None or _has_control_character(decoded):
        return None
    segments: list[str] = []
    trailing_slash = False
    for raw_segment in decoded.replace("\\", "/").split("/"):
        segment = raw_segment.rstrip(". ")
        # Windows drops trailing dots and spaces, so ".. " and "..." may climb like "..".
        if not segment and ".." in raw_segment:
            if not segments:
                return None
            segments.pop()
            trailing_slash = True
        elif not segment:  # empty, ".", or only dots and spaces: names the same directory
            trailing_slash = True
        else:
            segments.append(segment)
            trailing_slash = False
    if not segments:
        return "/"
    return "/" + "/".join(segments) + ("/" if trailing_slash else "")


def _literal_prefixes(path: str) -> Iterator[str]:
    """Every star-less pattern path that covers `path`, longest first; "" (the root) is last."""
    yield path
    end = len(path)
    while end > 0:
        end = path.rfind("/", 0, end)
        if end <= 0:
            break
        yield path[:end]
    if path:
        yield ""


def _compile_path(text: str, pattern: str) -> str:
    """The canonical path of a pattern: "" for every path, else "/..." without a trailing "/"."""
    path = "/" + text
    while path.endswith("/"):  # a trailing "/" is ignored, so "/demo/" still covers "/demo"
        path = path[:-1]
    if path in ("", "/*"):
        return ""
    if _has_control_character(path):
        raise PatternError(f"{pattern!r}: the path holds a control character")
    for segment in path.split("/")[1:]:
        if segment.count(WILDCARD) > 1:
            raise PatternError(f"{pattern!r}: at most one * per path segment")
    if canonical_path(path) != path:
        raise PatternError(
            f"{pattern!r}: write the path in its plain form (no //, ., .., backslashes, "
            f"%-escapes or trailing dots), for example {canonical_path(path) or '/docs'!r}"
        )
    return path


# --- patterns ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostPathPattern:
    """A compiled `host[/path]` pattern; build it with `compile_pattern`."""

    text: str
    host: str
    path: str
    _host_globs: tuple[_LabelGlob | None, ...] = field(repr=False, compare=False)
    _path_regex: re.Pattern[str] | None = field(repr=False, compare=False)
    # Worked out once: the index reads them for every entry it builds and every host it matches.
    host_is_wildcard: bool = field(init=False, repr=False, compare=False)
    path_is_wildcard: bool = field(init=False, repr=False, compare=False)
    # Sort key, smaller is more specific: longer literal path first, then a path without `*`
    # before one with, then an exact host before a wildcard host, then a longer literal host.
    specificity: tuple[int, bool, bool, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        host_is_wildcard = any(glob is not None for glob in self._host_globs)
        path_is_wildcard = WILDCARD in self.path
        object.__setattr__(self, "host_is_wildcard", host_is_wildcard)
        object.__setattr__(self, "path_is_wildcard", path_is_wildcard)
        specificity = (
            -len(self.path.replace(WILDCARD, "")),
            path_is_wildcard,
            host_is_wildcard,
            -len(self.host.replace(WILDCARD, "")),
        )
        object.__setattr__(self, "specificity", specificity)

    def __str__(self) -> str:
        return self.text

    def matches_host(self, host: str) -> bool:
        """Whether this pattern's host covers `host` (already normalized)."""
        if not self.host_is_wildcard:
            return host == self.host
        labels = host.split(".")
        if len(labels) != len(self._host_globs):
            return False
        literal_labels = self.host.split(".")
        for label, glob, literal in zip(labels, self._host_globs, literal_labels, strict=True):
            if not (glob.matches(label) if glob is not None else label == literal):
                return False
        return True

    def matches_path(self, path: str) -> bool:
        """Whether this pattern's path covers `path` (compared case-sensitively, as given)."""
        if self._path_regex is not None:
            return self._path_regex.fullmatch(path) is not None
        return self._covers_literally(path)

    def matches(self, host: str, path: str) -> bool:
        """Whether this pattern covers the (normalized) host and the path as given."""
        return self.matches_host(host) and self.matches_path(path)

    def _covers_literally(self, path: str) -> bool:
        return not self.path or path == self.path or path.startswith(self.path + "/")


def compile_pattern(text: str) -> HostPathPattern:
    """Compile an application domain or destination such as `app.example.com/api/*`.

    Raises `PatternError` saying what is wrong: a scheme, query or fragment, more than one `*`
    in a label or segment, a `*` in the last host label, or a path that is not in plain form.
    """
    if not isinstance(text, str):
        raise PatternError("a pattern must be a string such as app.example.com/path")
    value = text.strip()
    if not value:
        raise PatternError("the pattern is empty; write it like app.example.com/path")
    if "://" in value:
        raise PatternError(f"{text!r}: leave out the scheme; write it like app.example.com/path")
    if "?" in value or "#" in value:
        raise PatternError(f"{text!r}: a pattern cannot hold a query (?) or a fragment (#)")
    if any(character.isspace() for character in value):
        raise PatternError(f"{text!r}: a pattern cannot hold spaces")
    host_text, slash, path_text = value.partition("/")
    host, globs = _compile_host(host_text, text)
    path = _compile_path(path_text, text) if slash else ""
    regex = None
    if WILDCARD in path:
        # Each `*` spans anything (segments included); the pattern also covers what lies below.
        body = ".*".join(re.escape(part) for part in path.split(WILDCARD))
        regex = re.compile(f"{body}(?:/.*)?", re.DOTALL)
    return HostPathPattern(
        text=host + path, host=host, path=path, _host_globs=globs, _path_regex=regex
    )


# --- overlap detection (for a system check) ----------------------------------------------------


def _glob_tokens(text: str) -> tuple[str | None, ...]:
    """A glob as tokens: one per literal character, None for `*`."""
    return tuple(None if character == WILDCARD else character for character in text)


def _globs_intersect(left: tuple[str | None, ...], right: tuple[str | None, ...]) -> bool:
    """Whether some string matches both globs (`*` = any run of characters)."""
    seen: set[tuple[int, int]] = set()
    pending = [(0, 0)]
    while pending:
        state = pending.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j = state
        if i == len(left) and j == len(right):
            return True
        a = left[i] if i < len(left) else ""
        b = right[j] if j < len(right) else ""
        if a is None:
            pending.append((i + 1, j))  # the star ends here
            if isinstance(b, str) and b:
                pending.append((i, j + 1))  # the star swallows one of right's characters
        if b is None:
            pending.append((i, j + 1))
            if isinstance(a, str) and a:
                pending.append((i + 1, j))
        if a and b and a == b:
            pending.append((i + 1, j + 1))
    return False


def _hosts_intersect(left: HostPathPattern, right: HostPathPattern) -> bool:
    if not (left.host_is_wildcard or right.host_is_wildcard):
        return left.host == right.host
    left_labels, right_labels = left.host.split("."), right.host.split(".")
    if len(left_labels) != len(right_labels):
        return False
    return all(
        _globs_intersect(_glob_tokens(a), _glob_tokens(b))
        for a, b in zip(left_labels, right_labels, strict=True)
    )


def _path_alternatives(pattern: HostPathPattern) -> tuple[tuple[str | None, ...], ...]:
    # A path pattern covers its body and everything below it: body, or body + "/" + anything.
    if not pattern.path:
        return ((None,),)
    body = _glob_tokens(pattern.path)
    return (body, (*body, "/", None))


def _paths_intersect(left: HostPathPattern, right: HostPathPattern) -> bool:
    if not (left.path_is_wildcard or right.path_is_wildcard):
        return left.matches_path(right.path) or right.matches_path(left.path)
    return any(
        _globs_intersect(a, b) for a in _path_alternatives(left) for b in _path_alternatives(right)
    )


# --- the index ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PathMatch(Generic[K]):
    """The application that covers a request, and whether its path was in canonical form."""

    key: K
    pattern: HostPathPattern
    non_canonical: bool


_Entry = tuple[tuple[int, bool, bool, int], K, HostPathPattern]


class _HostGroup(Generic[K]):
    """Every pattern of one host pattern, indexed by path."""

    __slots__ = ("literal_paths", "star_entries")

    def __init__(self) -> None:
        # Star-less paths by their exact text: the best for a request is its longest prefix.
        self.literal_paths: dict[str, list[_Entry[K]]] = {}
        # Paths with `*`, most specific first: the first that matches is the best.
        self.star_entries: list[_Entry[K]] = []

    def add(self, entry: _Entry[K]) -> None:
        pattern = entry[2]
        if pattern.path_is_wildcard:
            self.star_entries.append(entry)
        else:
            self.literal_paths.setdefault(pattern.path, []).append(entry)

    def freeze(self) -> None:
        self.star_entries.sort(key=_entry_order)
        for entries in self.literal_paths.values():
            entries.sort(key=_entry_order)

    def best(self, path: str) -> _Entry[K] | None:
        best: _Entry[K] | None = None
        for prefix in _literal_prefixes(path):
            entries = self.literal_paths.get(prefix)
            if entries is not None:
                best = entries[0]
                break
        for entry in self.star_entries:
            if best is not None and _entry_order(best) < _entry_order(entry):
                break
            if entry[2].matches_path(path):
                return entry
        return best

    def entries(self) -> Iterator[_Entry[K]]:
        for entries in self.literal_paths.values():
            yield from entries
        yield from self.star_entries


def _entry_order(entry: _Entry[K]) -> tuple[tuple[int, bool, bool, int], K]:
    return entry[0], entry[1]


class ApplicationIndex(Generic[K]):
    """Finds the most specific pattern covering a request without scanning every application.

    Exact hosts are a dict lookup; wildcard hosts are looked up by their literal parent domain
    and label count. Within one host pattern, star-less paths are found by prefix lookups and
    only the patterns holding a `*` are tried one by one.
    """

    def __init__(self, entries: Iterable[tuple[HostPathPattern, K]]) -> None:
        self._exact_hosts: dict[str, _HostGroup[K]] = {}
        # (label count, literal parent domain) -> [(host pattern, group)]
        self._wildcard_hosts: dict[tuple[int, str], list[tuple[HostPathPattern, _HostGroup[K]]]]
        self._wildcard_hosts = {}
        wildcard_groups: dict[str, _HostGroup[K]] = {}
        for pattern, key in entries:
            entry: _Entry[K] = (pattern.specificity, key, pattern)
            if not pattern.host_is_wildcard:
                self._exact_hosts.setdefault(pattern.host, _HostGroup()).add(entry)
                continue
            group = wildcard_groups.get(pattern.host)
            if group is None:
                group = wildcard_groups[pattern.host] = _HostGroup()
                labels = pattern.host.split(".")
                last_wildcard = max(i for i, label in enumerate(labels) if WILDCARD in label)
                parent = ".".join(labels[last_wildcard + 1 :])
                self._wildcard_hosts.setdefault((len(labels), parent), []).append((pattern, group))
            group.add(entry)
        for exact in self._exact_hosts.values():
            exact.freeze()
        for wildcard in wildcard_groups.values():
            wildcard.freeze()

    def _groups_for(self, host: str) -> list[_HostGroup[K]]:
        groups = []
        exact = self._exact_hosts.get(host)
        if exact is not None:
            groups.append(exact)
        if self._wildcard_hosts:
            label_count = host.count(".") + 1
            dot = host.find(".")
            while dot != -1:
                candidates = self._wildcard_hosts.get((label_count, host[dot + 1 :]))
                if candidates:
                    groups.extend(
                        group for pattern, group in candidates if pattern.matches_host(host)
                    )
                dot = host.find(".", dot + 1)
        return groups

    @staticmethod
    def _best(groups: list[_HostGroup[K]], path: str) -> _Entry[K] | None:
        best: _Entry[K] | None = None
        for group in groups:
            candidate = group.best(path)
            if candidate is not None and (
                best is None or _entry_order(candidate) < _entry_order(best)
            ):
                best = candidate
        return best

    def match(self, host: str, path: str) -> PathMatch[K] | None:
        """The most specific pattern covering the request, or None when none covers it.

        Both the literal path and its canonical form are matched. When they differ (or the path
        has no canonical form) and either is covered, the match is flagged `non_canonical` so the
        caller refuses the request rather than guess which view Django will route it to.
        """
        normalized_host = normalize_host(host)
        if normalized_host is None:
            return None
        groups = self._groups_for(normalized_host)
        if not groups:
            return None
        literal = self._best(groups, path)
        canonical = canonical_path(path)
        if canonical == path:
            return None if literal is None else PathMatch(literal[1], literal[2], False)
        candidates = [literal]
        if canonical is not None:
            candidates.append(self._best(groups, canonical))
        found = [entry for entry in candidates if entry is not None]
        if not found:
            return None
        best = min(found, key=_entry_order)
        return PathMatch(best[1], best[2], True)

    def keys_for_host(self, host: str) -> tuple[K, ...]:
        """Every key with a pattern on `host`, most specific pattern first, each key once."""
        normalized_host = normalize_host(host)
        if normalized_host is None:
            return ()
        entries = sorted(
            (entry for group in self._groups_for(normalized_host) for entry in group.entries()),
            key=_entry_order,
        )
        return tuple(dict.fromkeys(entry[1] for entry in entries))

    def overlaps(self) -> list[tuple[K, K, str]]:
        """Pairs of keys whose patterns are equally specific and can cover the same request.

        The smaller key wins such a tie; the pair is reported so a system check can warn.
        """
        buckets: dict[tuple[object, ...], list[_Entry[K]]] = defaultdict(list)
        for group in self._all_groups():
            for entry in group.entries():
                pattern = entry[2]
                # Only patterns that could ever intersect share a bucket, to keep this quadratic
                # step small: same specificity, and same exact host or same host shape.
                host_bucket = (
                    (len(pattern.host.split(".")), pattern.host.rsplit(".", 1)[-1])
                    if pattern.host_is_wildcard
                    else pattern.host
                )
                path_bucket = pattern.path if not pattern.path_is_wildcard else WILDCARD
                buckets[(entry[0], host_bucket, path_bucket)].append(entry)
        found: dict[tuple[K, K], str] = {}
        for entries in buckets.values():
            for (_, left_key, left), (_, right_key, right) in combinations(entries, 2):
                if left_key == right_key:
                    continue
                first, second = sorted([(left_key, left), (right_key, right)], key=_first)
                pair = (first[0], second[0])
                if pair in found:
                    continue
                if _hosts_intersect(left, right) and _paths_intersect(left, right):
                    found[pair] = (
                        f"{first[1].text} and {second[1].text} are equally specific and can "
                        f"cover the same request; the first one wins"
                    )
        return [(first, second, message) for (first, second), message in sorted(found.items())]

    def _all_groups(self) -> Iterator[_HostGroup[K]]:
        yield from self._exact_hosts.values()
        for candidates in self._wildcard_hosts.values():
            for _, group in candidates:
                yield group


def _first(item: tuple[K, HostPathPattern]) -> K:
    return item[0]
