"""Parse a generated interest profile.

The format, exactly three lines (surrounding whitespace ignored):

    Primary interests: A, B, C.
    Secondary interests: D, E.            (or "Secondary interests: none.")
    Recommendation direction: <one sentence>.

An output *complies* when it is exactly that: three lines, the three prefixes in order, a non-empty
primary list, every item non-empty, each line ending with a period and nothing after the third line.
It *repeats* when one interest is named twice over both lists (e.g. a primary interest again among the
secondary ones): a content fault measured on its own, not a format fault.
It *runs on* when text continues past the format: a fourth non-blank line, or a second sentence on the
direction line (". " followed by more text; a label such as "Super Smash Bros. Melee" in the
direction would be counted too: a known, rare false positive).

Non-compliant outputs are still read leniently (a "Primary interests:" line anywhere, case-insensitive)
so that a base model's near misses get credit for the interests they name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRIMARY = "Primary interests:"
SECONDARY = "Secondary interests:"
DIRECTION = "Recommendation direction:"
NONE_WORDS = {"none", "n/a", "-"}
_SENTENCE_BREAK = re.compile(r"\.\s+\S")


@dataclass(frozen=True)
class ParsedOutput:
    """What an output says, and how well it follows the format."""

    primary: list[str]
    secondary: list[str]
    direction: str | None
    compliant: bool
    run_on: bool
    repeats: bool  # an interest named twice over both lists
    error: str | None  # why it does not comply; None when it does

    @property
    def named(self) -> list[str]:
        """The distinct interests the output names (primary then secondary; case-insensitive)."""
        seen: dict[str, str] = {}
        for name in self.primary + self.secondary:
            seen.setdefault(normalize(name), name)
        return list(seen.values())


def normalize(name: str) -> str:
    """How names are compared: case-insensitive, outer spaces and one trailing period ignored."""
    name = name.strip()
    if name.endswith("."):
        name = name[:-1]
    return name.strip().casefold()


def _split_list(content: str) -> list[str]:
    content = content.strip()
    if content.endswith("."):
        content = content[:-1]
    if content.strip().casefold() in NONE_WORDS:
        return []
    return [item.strip() for item in content.split(",")]


def _lenient_list(lines: list[str], prefix: str) -> list[str]:
    for line in lines:
        stripped = line.strip().lstrip("*#-> ").replace("**", "")
        if stripped.casefold().startswith(prefix.casefold()):
            return [item for item in _split_list(stripped[len(prefix) :]) if item]
    return []


def _lenient_direction(lines: list[str]) -> str | None:
    for line in lines:
        stripped = line.strip()
        if stripped.casefold().startswith(DIRECTION.casefold()):
            return stripped[len(DIRECTION) :].strip()
    return None


def _format_error(lines: list[str]) -> str | None:
    if len(lines) < 3:
        return f"expected 3 lines, got {len(lines)}"
    if len(lines) > 3:
        return f"expected 3 lines, got {len(lines)} (text after the third line)"
    for line, prefix in zip(lines, (PRIMARY, SECONDARY, DIRECTION), strict=True):
        if not line.startswith(prefix + " "):
            return f"line {lines.index(line) + 1} should start with {prefix!r}"
        if not line.endswith("."):
            return f"line {lines.index(line) + 1} should end with a period"
    primary = _split_list(lines[0][len(PRIMARY) :])
    if not primary:
        return "no primary interest"
    secondary = _split_list(lines[1][len(SECONDARY) :])
    if not all(primary) or not all(secondary):
        return "an empty item in an interest list"
    direction = lines[2][len(DIRECTION) :].strip()
    if len(direction) < 2:
        return "empty recommendation direction"
    if _SENTENCE_BREAK.search(direction):
        return "more than one sentence in the recommendation direction"
    return None


def parse_output(text: str) -> ParsedOutput:
    """Parse one generated text; never raises (malformed outputs are measured, not rejected)."""
    lines = text.strip().split("\n")
    error = _format_error(lines)
    nonblank = [line for line in lines if line.strip()]
    direction = _lenient_direction(nonblank)
    direction_index = next(
        (
            i
            for i, line in enumerate(nonblank)
            if line.strip().casefold().startswith("recommendation direction:")
        ),
        None,
    )
    run_on = len(nonblank) > 3 or (
        direction is not None
        and (
            bool(_SENTENCE_BREAK.search(direction))
            or (direction_index is not None and direction_index < len(nonblank) - 1)
        )
    )
    primary = _lenient_list(nonblank, PRIMARY)
    secondary = _lenient_list(nonblank, SECONDARY)
    names = [normalize(name) for name in primary + secondary]
    return ParsedOutput(
        primary=primary,
        secondary=secondary,
        repeats=len(set(names)) < len(names),
        direction=direction,
        compliant=error is None,
        run_on=run_on,
        error=error,
    )
