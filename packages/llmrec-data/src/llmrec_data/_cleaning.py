"""Interaction hygiene before any example is made: exact duplicates, consecutive repeats, k-core.

Works on the interactions table of `_catalogue` (user_id, timestamp, position, rating, line and an
item key column). Every drop is counted, so the manifest says what the data looked like.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Hygiene:
    """What to drop. Exact duplicates are dropped by default: a repeated (user, item, time) row
    would make examples whose target is already in their own history."""

    keep_duplicates: bool = False
    drop_consecutive_repeats: bool = False
    k_core: int = 0


def clean_interactions(
    interactions: pl.DataFrame, item: str, hygiene: Hygiene, counts: Counter[str]
) -> pl.DataFrame:
    """Drop exact duplicates (unless kept) and apply the k-core, counting into `counts`.

    counts gets `duplicate_interactions` (found, whether dropped or not) and, with k-core on,
    `k_core_dropped_interactions`. Consecutive repeats need the time order: `_examples` counts
    (and on request drops) them with `is_consecutive_repeat`.
    """
    key = pl.struct("user_id", item, "timestamp", "position")
    # Fast path: distinct hashes prove there is no duplicate (one hash pass, ~3x cheaper than
    # tracking first occurrences); otherwise find them exactly.
    n_duplicates = 0
    if interactions.select(key.hash().n_unique()).item() < interactions.height:
        interactions = interactions.sort("line")  # the first in file order stays
        duplicated = key.is_first_distinct().not_()
        n_duplicates = int(interactions.select(duplicated.sum()).item())
        if n_duplicates and not hygiene.keep_duplicates:
            interactions = interactions.filter(~duplicated)
    counts["duplicate_interactions"] += n_duplicates

    if hygiene.k_core > 0:
        before = interactions.height
        while True:
            kept = interactions.filter(
                (pl.len().over("user_id") >= hygiene.k_core)
                & (pl.len().over(item) >= hygiene.k_core)
            )
            if kept.height == interactions.height:
                break
            interactions = kept
        counts["k_core_dropped_interactions"] += before - interactions.height
    return interactions


def is_consecutive_repeat(user: str, item: str) -> pl.Expr:
    """On rows sorted by user then time: the item equals the same user's previous item."""
    return (
        (pl.col(item) == pl.col(item).shift(1)) & (pl.col(user) == pl.col(user).shift(1))
    ).fill_null(False)
