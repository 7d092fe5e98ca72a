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
    """Apply `hygiene` to `interactions` (item key column `item`), counting into `counts`.

    counts gets `duplicate_interactions` and `consecutive_repeats` (found, whether dropped or not),
    and `k_core_dropped_interactions` when k-core filtering is on.
    """
    interactions = interactions.sort("line")
    duplicated = pl.struct("user_id", item, "timestamp", "position").is_first_distinct().not_()
    n_duplicates = int(interactions.select(duplicated.sum()).item())
    counts["duplicate_interactions"] += n_duplicates
    if n_duplicates and not hygiene.keep_duplicates:
        interactions = interactions.filter(~duplicated)

    order = "timestamp" if interactions["timestamp"].null_count() == 0 else "position"
    repeat = (
        pl.col(item) == pl.col(item).shift(1).over("user_id", order_by=[order, "line"])
    ).fill_null(False)
    n_repeats = int(interactions.select(repeat.sum()).item())
    counts["consecutive_repeats"] += n_repeats
    if n_repeats and hygiene.drop_consecutive_repeats:
        interactions = interactions.filter(~repeat)

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
