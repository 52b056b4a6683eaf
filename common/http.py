"""HTTP's own syntax, where both apps read it: what a method or a header name is written with."""

from __future__ import annotations

import re

__all__ = ["is_token"]

# RFC 9110, section 5.6.2: token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" /
# "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. Methods and field names are
# tokens; anything else in one (a space, a comma, a colon, a letter outside ASCII) is refused.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def is_token(text: str) -> bool:
    """Whether `text` is an RFC 9110 token (one or more tchar)."""
    return _TOKEN.fullmatch(text) is not None
