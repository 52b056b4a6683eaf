"""Go duration syntax: parsing, refusals and the canonical written form."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h45m", timedelta(hours=2, minutes=45)),
        ("24h", timedelta(hours=24)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("300ms", timedelta(milliseconds=300)),
        ("8760h", timedelta(days=365)),
        ("90s", timedelta(seconds=90)),
        ("1h0m0s", timedelta(hours=1)),
        ("250us", timedelta(microseconds=250)),
        ("250µs", timedelta(microseconds=250)),
        ("250μs", timedelta(microseconds=250)),
        ("1500ns", timedelta(microseconds=1)),
        (".5s", timedelta(milliseconds=500)),
        ("1.s", timedelta(seconds=1)),
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        (" 24h ", timedelta(hours=24)),
    ],
)
def test_parse_duration_reads_go_syntax(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "24", "h", "24 h", "1d", "1H", "24h!", "1..5h", "abc", "1h 30m", "٣h"]
)
def test_parse_duration_refuses_junk_with_a_hint(text):
    with pytest.raises(ValueError, match="use Go duration syntax such as 30m, 2h45m or 24h"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["-1h", "+1h", "-0s"])
def test_parse_duration_refuses_a_sign(text):
    with pytest.raises(ValueError, match="cannot be negative"):
        parse_duration(text)


def test_parse_duration_refuses_more_than_go_can_hold():
    with pytest.raises(ValueError, match="too long"):
        parse_duration("2562048h")


def test_parse_duration_refuses_non_strings():
    with pytest.raises(ValueError, match="must be a string"):
        parse_duration(24)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(hours=24), "24h"),
        (timedelta(hours=2, minutes=45), "2h45m"),
        (timedelta(minutes=30), "30m"),
        (timedelta(seconds=90), "90s"),
        (timedelta(days=365), "8760h"),
        (timedelta(milliseconds=1500), "1500ms"),
        (timedelta(microseconds=250), "250us"),
        (timedelta(0), "0s"),
    ],
)
def test_format_duration_writes_the_compact_form(duration, expected):
    assert format_duration(duration) == expected


def test_format_duration_refuses_negative_durations():
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=100_000)))
def test_format_then_parse_gives_the_same_duration(duration):
    assert parse_duration(format_duration(duration)) == duration
