"""Named datasets: which raw source, which reader, and the processing defaults for each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from llmrec_data._readers import Columns


@dataclass(frozen=True)
class Preset:
    """A dataset preset. Every processing field can be overridden from PrepareConfig."""

    name: str
    description: str
    source: str | None  # key of _sources.SOURCES; None for `custom`
    reader: str  # "movielens-dat" | "custom" | "amazon-2018"
    columns: Columns | None = None  # for the custom reader
    domain: str = "item"  # prompt wording: movie | game | item
    split: str = "time"
    min_history: int = 10
    short_users_last_item: bool = False
    target_rating_above: float | None = None
    split_ties: str = (
        "earlier"  # time split: "earlier" (tie-safe) or "straddle" (BIGRec's exact cut)
    )
    sampling: str = "seeded"  # valid/test sampling: "seeded" (PCG64) or "bigrec" (pandas' rows)
    encoding: str = "utf-8"
    drop_missing_titles: bool = False
    drop_unknown_items: bool = False


class _Protocol(TypedDict):
    """Preset fields shared by several presets (typed, so `Preset(..., **fields)` is checked)."""

    split: str
    min_history: int
    split_ties: str
    sampling: str


class _DomainProtocol(_Protocol):
    domain: str


MOVIELENS_CSV = Columns(
    user="userId",
    item="movieId",
    timestamp="timestamp",
    rating="rating",
    items_id="movieId",
    title="title",
    extra=("genres",),
)
AMAZON_PROCESSED = Columns(
    user="user_id",
    item="item_id",
    timestamp=None,
    position="position",
    items_id="item_id",
    title="title",
    extra=("asin", "categories"),
)

# BIGRec's protocol (current process.ipynb / the fork's process.py): every rating from the 11th on
# is a target with the 10 before it as history (ratings are binarised into a flag, never used to
# filter), examples sorted by target time and cut at exactly 80 % / 90 %, valid and test sampled
# with pandas' `sample(n=5000, random_state=42)`.
_BIGREC: _Protocol = {
    "split": "time",
    "min_history": 10,
    "split_ties": "straddle",
    "sampling": "bigrec",
}
_MOVIE: _DomainProtocol = {"domain": "movie", **_BIGREC}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "movie",
            "MovieLens-10M (ml-10m.zip, '::' .dat files); BIGRec's movie dataset",
            "ml-10m",
            "movielens-dat",
            encoding="auto",
            **_MOVIE,
        ),
        Preset(
            "movie-1m",
            "MovieLens-1M (ml-1m.zip, '::' .dat files, ISO-8859-1)",
            "ml-1m",
            "movielens-dat",
            encoding="auto",
            **_MOVIE,
        ),
        Preset(
            "movie-small",
            "MovieLens ml-latest-small (CSV, 100k ratings); BIGRec's movie protocol",
            "ml-latest-small",
            "custom",
            columns=MOVIELENS_CSV,
            **_MOVIE,
        ),
        Preset(
            "game",
            "Amazon Review Data 2018 Video Games 5-core + metadata (JSON lines, gz); BIGRec's game dataset",
            "amazon-2018-video-games",
            "amazon-2018",
            **_BIGREC,
            domain="game",
            short_users_last_item=True,
            drop_missing_titles=True,
            drop_unknown_items=True,
        ),
        Preset(
            "game-small",
            "Amazon 2018 Video Games as sequences with positions, no timestamps "
            "($LLMREC_DATA_HOME/amazon-video-games); leave-last-out",
            "amazon-video-games",
            "custom",
            columns=AMAZON_PROCESSED,
            domain="game",
            split="leave-last-out",
            min_history=1,
        ),
        Preset(
            "custom",
            "Your own interactions + items files (CSV/TSV/parquet/JSONL); see --interactions, --items",
            None,
            "custom",
            columns=Columns(),
            domain="item",
            split="auto",  # time when every interaction has a timestamp, else leave-last-out
            min_history=1,
        ),
    ]
}
