"""Parse a generated interest profile.

The format, exactly three lines (surrounding whitespace ignored):

    Primary interests: A, B, C.
    Secondary interests: D, E.            (or "Secondary interests: none.")
    Recommendation direction: <one sentence>.

Grammar (it reads back every profile llmrec-data writes, label names with periods, digits,
apostrophes, colons or parentheses included):
- each line is its prefix, one space, the content, and one final period. Only that last period ends
  the line: "Super Smash Bros.." is the label "Super Smash Bros." followed by the line's period;
- an interest list is split at commas, except a comma inside parentheses ("Space Marines
  (Warhammer 40,000)") or between two digits ("40,000"); names are stripped of outer spaces.
  A name with a comma outside parentheses ("Nike, Inc.") cannot be read back, which is why llmrec-data
  drops labels containing commas;
- the direction is one sentence: a period followed by a space and more text ends a sentence, unless
  it is inside one of the interests listed on the first two lines ("G.I. Joe", "Super Smash Bros.
  Melee"). `ParsedOutput.direction` is the sentence without its prefix and final period, as
  `target_direction` in the examples file.

An output *complies* when it is exactly that: three lines, the three prefixes in order, a non-empty
primary list, every item non-empty, each line ending with a period and nothing after the third line.
It *repeats* when one interest is named twice over both lists (e.g. a primary interest again among the
secondary ones): a content fault measured on its own, not a format fault.
It *runs on* when text continues past the format: a fourth non-blank line, or a second sentence on the
direction line (a label with ". " that the direction names but the lists do not would be counted too:
a rare false positive the parser cannot tell apart).

Non-compliant outputs are still read leniently (a "Primary interests:" line anywhere, case-insensitive)
so that a base model's near misses get credit for the interests they name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    direction: str | None  # without prefix and final period
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


def _drop_final_period(content: str) -> str:
    content = content.strip()
    return content[:-1] if content.endswith(".") else content


def _inside_parentheses(text: str, i: int) -> bool:
    """Whether position `i` lies between a "(" before it and a ")" after it (nearest of each)."""
    opened = text.rfind("(", 0, i) > text.rfind(")", 0, i)
    next_close = text.find(")", i)
    next_open = text.find("(", i)
    closed = next_close != -1 and (next_open == -1 or next_close < next_open)
    return opened and closed


def _is_separator(text: str, i: int) -> bool:
    between_digits = 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
    return not between_digits and not _inside_parentheses(text, i)


def split_interests(content: str) -> list[str]:
    """The names of one interest list (its text after the prefix; one final period is dropped)."""
    content = _drop_final_period(content)
    if content.strip().casefold() in NONE_WORDS:
        return []
    names: list[str] = []
    start = 0
    for i, char in enumerate(content):
        if char == "," and _is_separator(content, i):
            names.append(content[start:i].strip())
            start = i + 1
    names.append(content[start:].strip())
    return names


def has_sentence_break(direction: str, names: Sequence[str] = ()) -> bool:
    """Whether the direction holds a second sentence; periods inside `names` do not end one."""
    listed = sorted({name for name in names if name}, key=len, reverse=True)
    if listed:
        pattern = "|".join(re.escape(name) for name in listed)
        direction = re.sub(pattern, "#", direction, flags=re.IGNORECASE)
    return bool(_SENTENCE_BREAK.search(direction))


def _lenient_list(lines: list[str], prefix: str) -> list[str]:
    for line in lines:
        stripped = line.strip().lstrip("*#-> ").replace("**", "")
        if stripped.casefold().startswith(prefix.casefold()):
            return [item for item in split_interests(stripped[len(prefix) :]) if item]
    return []


def _lenient_direction(lines: list[str]) -> tuple[int, str] | None:
    """The index of the first direction line and its text after the prefix."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.casefold().startswith(DIRECTION.casefold()):
            return i, stripped[len(DIRECTION) :].strip()
    return None


def _format_error(lines: list[str]) -> str | None:
    if len(lines) < 3:
        return f"expected 3 lines, got {len(lines)}"
    if len(lines) > 3:
        return f"expected 3 lines, got {len(lines)} (text after the third line)"
    prefixes = (PRIMARY, SECONDARY, DIRECTION)
    for number, (line, prefix) in enumerate(zip(lines, prefixes, strict=True), start=1):
        if not line.startswith(prefix + " "):
            return f"line {number} should start with {prefix!r}"
        if not line.endswith("."):
            return f"line {number} should end with a period"
    primary = split_interests(lines[0][len(PRIMARY) :])
    if not primary:
        return "no primary interest"
    secondary = split_interests(lines[1][len(SECONDARY) :])
    if not all(primary) or not all(secondary):
        return "an empty item in an interest list"
    direction = _drop_final_period(lines[2][len(DIRECTION) :])
    if not direction:
        return "empty recommendation direction"
    if has_sentence_break(direction, primary + secondary):
        return "more than one sentence in the recommendation direction"
    return None


def parse_output(text: str) -> ParsedOutput:
    """Parse one generated text; never raises (malformed outputs are measured, not rejected)."""
    lines = text.strip().split("\n")
    error = _format_error(lines)
    nonblank = [line for line in lines if line.strip()]
    primary = _lenient_list(nonblank, PRIMARY)
    secondary = _lenient_list(nonblank, SECONDARY)
    found = _lenient_direction(nonblank)
    direction = None if found is None else _drop_final_period(found[1])
    run_on = len(nonblank) > 3 or (
        found is not None
        and (found[0] < len(nonblank) - 1 or has_sentence_break(found[1], primary + secondary))
    )
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
