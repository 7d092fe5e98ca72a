"""The item catalogue: title cleaning, stable ids, unknown/untitled items, duplicate titles, popularity."""

from __future__ import annotations

import html
import unicodedata
from collections import Counter

import numpy as np
import polars as pl

from llmrec_data._cleaning import Hygiene, clean_interactions
from llmrec_data._readers import RawData
from llmrec_data.errors import DataError

MIN_TITLE_CHARS = 2  # BIGRec drops Amazon titles of length <= 1


def clean_title(raw: str | None) -> str | None:
    """Decode HTML entities (repeatedly: Amazon has `&amp;#39;`), collapse whitespace, strip quotes.

    Surrounding quotes are removed only when they wrap the whole title, so
    `"Great Performances" Cats (1998)` keeps its quotes. Returns None for a title shorter than
    MIN_TITLE_CHARS after cleaning, which then counts as missing.
    """
    if raw is None:
        return None
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


def normalise_title(title: str) -> str:
    """The key of the duplicate-title rule: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def build_catalogue(
    raw: RawData,
    *,
    drop_missing_titles: bool,
    drop_unknown_items: bool,
    skipped: Counter[str],
    hygiene: Hygiene | None = None,
    hygiene_counts: Counter[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate items against interactions; return (items, interactions with `item_id`).

    `hygiene` (duplicates, consecutive repeats, k-core) is applied to the interactions of titled,
    known items, before the catalogue keeps the items that are still used; its counts go into
    `hygiene_counts`.

    items: item_id, source_id, title, extra columns, sorted by item_id. Only items that occur in at
    least one kept interaction enter the catalogue; ids are assigned in order of `source_id` sorted
    as strings, so the same raw data always gives the same ids.
    """
    items = raw.items
    duplicated = items.filter(pl.col("source_id").is_duplicated())
    if not duplicated.is_empty():
        row = duplicated.sort("line").row(1, named=True)
        raise DataError(
            f"item id {row['source_id']!r} appears more than once in the items file",
            file=raw.items_file,
            field="item id",
            **{raw.items_where: row["line"]},
        )
    items = items.with_columns(
        pl.Series("title", [clean_title(t) for t in items["title"].to_list()], dtype=pl.String)
    )
    untitled = items.filter(pl.col("title").is_null())
    if not untitled.is_empty():
        if not drop_missing_titles:
            row = untitled.row(0, named=True)
            raise DataError(
                f"item {row['source_id']!r} has no title (a title needs at least {MIN_TITLE_CHARS} characters)",
                file=raw.items_file,
                field="title",
                **{raw.items_where: row["line"]},
                hint="titles are what the model reads and writes; fix the file or drop such items",
            )
        skipped["items without a title (dropped)"] += untitled.height

    # One hash join over the (possibly 10M) interactions; everything after it works on integers.
    items = items.with_row_index("_item_row")
    lookup = items.select("source_id", "_item_row", pl.col("title").is_not_null().alias("_titled"))
    interactions = raw.interactions.join(lookup, on="source_id", how="left", maintain_order="left")
    unknown = interactions["_item_row"].is_null()
    if unknown.any():
        if not drop_unknown_items:
            row = interactions.filter(unknown).row(0, named=True)
            raise DataError(
                f"item id {row['source_id']!r} is not in the items file {raw.items_file}",
                file=raw.interactions_file,
                field="item id",
                **{raw.interactions_where: row["line"]},
            )
        skipped["interactions with an item id missing from the items file (dropped)"] += int(
            unknown.sum()
        )
    n_untitled = int((~unknown & ~interactions["_titled"].fill_null(True)).sum())
    if n_untitled:
        skipped["interactions with an item without a title (dropped)"] += n_untitled
    interactions = interactions.filter(pl.col("_titled").fill_null(False)).drop(
        "source_id", "_titled"
    )
    interactions = clean_interactions(
        interactions,
        "_item_row",
        hygiene or Hygiene(),
        Counter() if hygiene_counts is None else hygiene_counts,
    )
    if interactions.is_empty():
        raise DataError(
            "no interactions left after dropping unknown or untitled items",
            file=raw.interactions_file,
        )

    used_rows = np.sort(interactions["_item_row"].unique().to_numpy())
    titled = items.height - untitled.height
    if used_rows.size < titled:
        skipped["items with no interaction (not in the catalogue)"] += titled - used_rows.size
    catalogue = items[used_rows].sort("source_id")
    new_id = np.full(items.height, -1, dtype=np.int32)
    new_id[catalogue["_item_row"].to_numpy()] = np.arange(catalogue.height, dtype=np.int32)
    interactions = interactions.with_columns(
        pl.Series("item_id", new_id[interactions["_item_row"].to_numpy()], dtype=pl.Int32)
    ).drop("_item_row")
    catalogue = catalogue.drop("_item_row", "line").with_row_index("item_id")
    return catalogue.with_columns(pl.col("item_id").cast(pl.Int64)), interactions


def finish_catalogue(items: pl.DataFrame, popularity: pl.DataFrame) -> pl.DataFrame:
    """Add `popularity` (training split) and `canonical_item_id` (the duplicate-title rule).

    Items whose normalised titles are equal form a group; its canonical item is the one with the
    most training interactions, ties broken by the smallest item_id.
    """
    items = items.join(popularity, on="item_id", how="left").with_columns(
        pl.col("popularity").fill_null(0).cast(pl.Int64)
    )
    keys = pl.Series(
        "title_key", [normalise_title(t) for t in items["title"].to_list()], dtype=pl.String
    )
    items = items.with_columns(keys)
    canonical = (
        items.sort(["title_key", "popularity", "item_id"], descending=[False, True, False])
        .group_by("title_key", maintain_order=True)
        .agg(pl.col("item_id").first().alias("canonical_item_id"))
    )
    items = items.join(canonical, on="title_key", how="left").sort("item_id")
    extras = [
        c
        for c in items.columns
        if c
        not in ("item_id", "source_id", "title", "title_key", "canonical_item_id", "popularity")
    ]
    return items.select(
        "item_id",
        "source_id",
        "title",
        pl.col("canonical_item_id").cast(pl.Int64),
        "popularity",
        *[pl.col(c).cast(pl.String) for c in extras],
    )
