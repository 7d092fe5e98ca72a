"""Title cleaning and exact-title lookup (the rule that decides which texts ground directly)."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

_SPACES = re.compile(r"\s+")


def clean_title(text: str) -> str:
    """Strip surrounding whitespace and double quotes, as BIGRec does (`.strip('"')`)."""
    return text.strip().strip('"').strip()


def normalise_title(title: str) -> str:
    """The contract's normalised title (NFKC, case-folded, whitespace collapsed): duplicate groups."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", title)).casefold().strip()


def loose_key(text: str) -> str:
    """The normalised form of a cleaned generated text: the fallback match."""
    return normalise_title(clean_title(text))


MIN_TITLE_CHARS = 2


def clean_catalogue_title(raw: str) -> str | None:
    """The contract's catalogue title: HTML entities decoded (repeatedly: `&amp;#39;`), whitespace
    runs collapsed, surrounding whitespace stripped, quotes stripped only when they wrap the whole
    title (`"Great Performances" Cats (1998)` keeps its). None if under 2 characters."""
    text = raw
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = " ".join(text.split())
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text if len(text) >= MIN_TITLE_CHARS else None


class TitleIndex:
    """Maps a generated text to a catalogue item when it *is* a catalogue title.

    Rule: the cleaned text (surrounding quotes and whitespace stripped) equal to a catalogue title
    matches that title; otherwise, if its normalised form (NFKC, case-folded, whitespace collapsed:
    the contract's duplicate-title normalisation) equals that of titles of exactly one duplicate
    group, it matches that group. A match resolves to the group's
    canonical item. Anything else is not a catalogue title and is embedded.
    """

    def __init__(self, titles: Sequence[str], canonical: np.ndarray) -> None:
        self._exact: dict[str, int] = {}
        loose: dict[str, set[int]] = {}
        for title, canon in zip(titles, canonical.tolist(), strict=True):
            self._exact.setdefault(clean_title(title), canon)
            loose.setdefault(loose_key(title), set()).add(canon)
        self._loose = {k: next(iter(v)) for k, v in loose.items() if len(v) == 1}

    def lookup(self, text: str) -> int | None:
        """The canonical item id `text` names, or None."""
        hit = self._exact.get(clean_title(text))
        if hit is not None:
            return hit
        return self._loose.get(loose_key(text))
