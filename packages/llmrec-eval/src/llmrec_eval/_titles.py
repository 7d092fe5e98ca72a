"""Title cleaning and exact-title lookup (the rule that decides which texts ground directly)."""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence

import numpy as np


def clean_title(text: str) -> str:
    """Strip surrounding whitespace and double quotes, as BIGRec does (`.strip('"')`): the text that
    is embedded when it is not a catalogue title."""
    return text.strip().strip('"').strip()


def unquote_title(text: str) -> str:
    """The title a generated text names: surrounding whitespace and ONE pair of surrounding double
    quotes removed (prompts write `"` + title + `"`), so a title ending in a quote keeps it
    (`"N64 Retro Bit Controller "Solid Black""` names `N64 Retro Bit Controller "Solid Black"`)."""
    text = text.strip()
    text = text.removeprefix('"').removesuffix('"')
    return text.strip()


def normalise_title(title: str) -> str:
    """The contract's normalised title (NFKC, case-folded, whitespace collapsed): the key of the
    duplicate groups, the same function as llmrec-data's `normalise_title` (a root test checks
    that both give the same key for every title of the shared datasets)."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def loose_key(text: str) -> str:
    """The normalised form of a generated text (one pair of quotes removed): the fallback match."""
    return normalise_title(unquote_title(text))


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

    Rule: the text without surrounding whitespace and one pair of surrounding double quotes
    (`unquote_title`), else the text as it is, else without every surrounding quote (BIGRec's
    `.strip('"')`), equal to a
    catalogue title matches that title; otherwise, if the normalised form of either (NFKC,
    case-folded, whitespace collapsed: the contract's duplicate-title key, `normalise_title`)
    equals the key of exactly one duplicate group, it matches that group. A match resolves to the
    group's canonical item. Anything else is not a catalogue title and is embedded.

    Titles are keyed as they are (catalogue titles are already clean), so the group key here is the
    one llmrec-data writes `canonical_item_id` with.
    """

    def __init__(self, titles: Sequence[str], canonical: np.ndarray) -> None:
        self._exact: dict[str, int] = {}
        loose: dict[str, set[int]] = {}
        for title, canon in zip(titles, canonical.tolist(), strict=True):
            self._exact.setdefault(title.strip(), canon)
            loose.setdefault(normalise_title(title), set()).add(canon)
        self._loose = {k: next(iter(v)) for k, v in loose.items() if len(v) == 1}

    def lookup(self, text: str) -> int | None:
        """The canonical item id `text` names, or None."""
        # The contract's form first; a text without the quotes as it is; then BIGRec's strip.
        forms = (unquote_title(text), text.strip(), clean_title(text))
        for form in forms:
            hit = self._exact.get(form)
            if hit is not None:
                return hit
        for form in forms:
            hit = self._loose.get(normalise_title(form))
            if hit is not None:
                return hit
        return None
