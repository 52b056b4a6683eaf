"""Durations written the way Go (and so Cloudflare's API and Terraform) writes them: "24h", "2h45m".

`parse_duration` accepts Go's `time.ParseDuration` syntax without a sign: one or more decimal
numbers, each followed by a unit (ns, us, µs, ms, s, m, h). Negative durations have no use here
(a session cannot last minus one hour), so a sign is refused instead of being carried along.
`format_duration` writes the compact canonical form that `parse_duration` reads back exactly.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

__all__ = ["format_duration", "parse_duration"]

_HINT = "use Go duration syntax such as 30m, 2h45m or 24h"

_NANOSECONDS_PER_UNIT: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN, as Go accepts it
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU, as Go accepts it
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}

# Go refuses durations that do not fit a signed 64-bit count of nanoseconds (about 2,562,047h).
_MAX_NANOSECONDS = 2**63 - 1

# One component: digits with an optional fraction (".5" and "1." are valid Go), then a unit.
_COMPONENT = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> timedelta:
    """Parse a Go duration ("30m", "2h45m", "1.5h", "300ms", "8760h") into a `timedelta`.

    Raises `ValueError` with a message meant for the person who typed the value. Precision below
    one microsecond is truncated, since `timedelta` cannot hold it.
    """
    if not isinstance(text, str):
        raise ValueError(f"a duration must be a string; {_HINT}")
    value = text.strip()
    if not value:
        raise ValueError(f"the duration is empty; {_HINT}")
    if value[0] in "+-":
        raise ValueError(f"the duration {text!r} has a sign; durations cannot be negative, {_HINT}")
    if value == "0":  # Go's one unit-less form
        return timedelta(0)
    nanoseconds = Decimal(0)
    position = 0
    while position < len(value):
        component = _COMPONENT.match(value, position)
        if component is None:
            raise ValueError(f"{text!r} is not a duration; {_HINT}")
        number, unit = component.groups()
        nanoseconds += Decimal(number) * _NANOSECONDS_PER_UNIT[unit]
        position = component.end()
    if nanoseconds > _MAX_NANOSECONDS:
        raise ValueError(f"the duration {text!r} is too long; the longest is 2562047h")
    return timedelta(microseconds=int(nanoseconds) // 1_000)


def format_duration(duration: timedelta) -> str:
    """Write a duration in the compact canonical form that `parse_duration` reads back.

    Whole minutes are written as hours and minutes ("24h", "2h45m", "30m"); anything finer is
    written in the one largest unit that divides it exactly ("90s", "1500ms", "250us"). Zero is
    "0s". Negative durations raise `ValueError`.
    """
    if duration < timedelta(0):
        raise ValueError("durations cannot be negative")
    microseconds = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
    if microseconds == 0:
        return "0s"
    minute = 60_000_000
    if microseconds % minute == 0:
        hours, minutes = divmod(microseconds // minute, 60)
        return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    for unit, size in (("s", 1_000_000), ("ms", 1_000)):
        if microseconds % size == 0:
            return f"{microseconds // size}{unit}"
    return f"{microseconds}us"
