"""The sign-in pages' colours pass WCAG 2.2 AA contrast, in the light and the dark scheme.

Read from identity/base.html's custom properties, so a colour changed there is checked here:
text 4.5:1 (1.4.3), field borders and focus rings 3:1 against what surrounds them (1.4.11).
axe-core checks the rendered pages in Chromium too (tests/browser/test_accessibility.py); this
test names the pair that fails.
"""

import re
from pathlib import Path

import pytest

BASE = Path(__file__).resolve().parents[2] / "identity/templates/identity/base.html"
TEXT = 4.5
NON_TEXT = 3.0


def _properties(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{3,6})", block))


def _schemes() -> dict[str, dict[str, str]]:
    css = BASE.read_text()
    light = _properties(re.search(r"\n\s*:root \{([^}]*)\}", css).group(1))
    dark_block = re.search(r"prefers-color-scheme: dark\) \{ :root \{([^}]*)\}", css).group(1)
    return {"light": light, "dark": {**light, **_properties(dark_block)}}


def _rgb(colour: str) -> tuple[float, float, float]:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(2 * digit for digit in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return red, green, blue


def _luminance(rgb: tuple[float, float, float]) -> float:
    def linear(channel: float) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: tuple[float, float, float], second: tuple[float, float, float]) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _notice_background(colours: dict[str, str]) -> tuple[float, float, float]:
    """`color-mix(in srgb, var(--accent) 12%, var(--card))`."""
    accent, card = _rgb(colours["accent"]), _rgb(colours["card"])
    red, green, blue = (0.12 * a + 0.88 * c for a, c in zip(accent, card, strict=True))
    return red, green, blue


# (what, foreground, background, minimum): names of custom properties, or "notice".
PAIRS = [
    ("body text on the card", "fg", "card", TEXT),
    ("body text on the page", "fg", "bg", TEXT),
    ("muted text on the card", "muted", "card", TEXT),
    ("muted text on the page (footer)", "muted", "bg", TEXT),
    ("button text on the button", "on-accent", "accent", TEXT),
    ("links and outlined buttons on the card", "accent", "card", TEXT),
    ("error text on the card", "error", "card", TEXT),
    ("body text on a notice", "fg", "notice", TEXT),
    ("a field's border against the card", "field-border", "card", NON_TEXT),
    ("an invalid field's border against the card", "error", "card", NON_TEXT),
    ("the focus ring against the card", "accent", "card", NON_TEXT),
    ("the focus ring against the page", "accent", "bg", NON_TEXT),
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("what", "foreground", "background", "minimum"), PAIRS)
def test_each_pair_of_colours_has_enough_contrast(scheme, what, foreground, background, minimum):
    colours = _schemes()[scheme]

    def colour(name: str) -> tuple[float, float, float]:
        return _notice_background(colours) if name == "notice" else _rgb(colours[name])

    ratio = contrast(colour(foreground), colour(background))

    assert ratio >= minimum, f"{scheme}: {what} is {ratio:.2f}:1, below {minimum}:1"


@pytest.mark.parametrize(
    ("scheme", "button", "button_text", "error"),
    [("light", "#b34700", "#fff", "#c0392b"), ("dark", "#f38020", "#15171a", "#ff8a80")],
)
def test_the_button_and_error_colours_are_the_chosen_ones(scheme, button, button_text, error):
    colours = _schemes()[scheme]

    assert (colours["accent"], colours["on-accent"], colours["error"]) == (
        button,
        button_text,
        error,
    )


@pytest.mark.parametrize(
    ("foreground", "background", "expected"),
    [
        ("#fff", "#f38020", 2.65),  # the old button: white on orange fails
        ("#fff", "#b34700", 5.50),
        ("#c0392b", "#fff", 5.44),
        ("#15171a", "#f38020", 6.77),
        ("#ff8a80", "#1f2226", 7.00),
        ("#000", "#fff", 21.0),
    ],
)
def test_the_contrast_formula_gives_wcags_ratios(foreground, background, expected):
    assert round(contrast(_rgb(foreground), _rgb(background)), 2) == expected
