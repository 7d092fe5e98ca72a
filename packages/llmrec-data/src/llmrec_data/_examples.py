"""Sequences, sliding windows, splits, sampling, and writing the JSONL examples (all vectorised)."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from tqdm.auto import tqdm

from llmrec_data._cleaning import is_consecutive_repeat
from llmrec_data._io import atomic_path
from llmrec_data.errors import DataError

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Prompt:
    """BIGRec's wording for one domain (SAI990323/BIGRec data/movie/process.ipynb; Bi-Step-Rec data/game/process.py)."""

    instruction: str
    history_prefix: str

    def render_input(self, titles: list[str]) -> str:
        # BIGRec writes no space after the colon and ends the input with "\n ".
        return self.history_prefix + ", ".join(f'"{t}"' for t in titles) + "\n "


PROMPTS = {
    "movie": Prompt(
        "Given a list of movies the user has watched before, please recommend a new movie that the user likes to the user.",
        "The user has watched the following movies before:",
    ),
    "game": Prompt(
        "Given a list of video games the user has played before, please recommend a new video game that the user likes to the user.",
        "The user has played the following video games before:",
    ),
    "item": Prompt(
        "Given a list of items the user has interacted with before, please recommend a new item that the user likes to the user.",
        "The user has interacted with the following items before:",
    ),
}


def order_interactions(
    interactions: pl.DataFrame,
    order_by: str,
    *,
    drop_consecutive_repeats: bool = False,
    counts: Counter[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Sort each user's interactions by `order_by` (timestamp or position), ties by file line.

    Returns (users, sequences): users has user_rank (order of first appearance in the file) and
    user_id; sequences has seq_row (its row index), user_rank, pos (0-based), n (the user's length),
    item_id, timestamp, rating. Consecutive repeats of an item are counted into
    `counts["consecutive_repeats"]` and dropped on request.
    """
    interactions = interactions.sort("line")
    users = interactions.select(pl.col("user_id").unique(maintain_order=True)).with_row_index(
        "user_rank"
    )
    sequences = (
        interactions.join(users, on="user_id", how="left")
        .drop("user_id")
        .sort(["user_rank", order_by, "line"])
    )
    repeat = is_consecutive_repeat("user_rank", "item_id")
    n_repeats = int(sequences.select(repeat.sum()).item())
    if counts is not None:
        counts["consecutive_repeats"] += n_repeats
    if n_repeats and drop_consecutive_repeats:
        sequences = sequences.filter(~repeat)
    # rows are grouped by user: a row's position is its index minus the index of its user's first row
    sequences = sequences.with_row_index("seq_row").with_columns(
        pos=(pl.col("seq_row") - pl.col("seq_row").min().over("user_rank")).cast(pl.Int32),
        n=pl.len().over("user_rank").cast(pl.Int32),
    )
    return users, sequences


def history_columns(max_history: int) -> list[str]:
    """Names of the history columns, oldest first: h10 ... h1 (h1 is the item just before the target)."""
    return [f"h{k}" for k in range(max_history, 0, -1)]


def make_examples(
    sequences: pl.DataFrame,
    *,
    max_history: int,
    min_history: int,
    short_users_last_item: bool,
    target_rating_above: float | None,
) -> pl.DataFrame:
    """One example per target interaction, with up to `max_history` previous items as history.

    A target at 0-based position i qualifies when i >= min_history, or (short_users_last_item) when
    it is the user's last item and the user has fewer than min_history + 1 items: BIGRec's Amazon
    rule, i >= min(min_history, n - 1). Every example has at least one history item.
    """
    pos, n = pl.col("pos"), pl.col("n")
    start = pl.lit(min_history)
    if short_users_last_item:
        start = pl.min_horizontal(start, n - 1)
    qualifies = pos >= pl.max_horizontal(start, pl.lit(1))
    if target_rating_above is not None:
        qualifies = qualifies & (pl.col("rating") > target_rating_above)
    # `sequences` is sorted by user then position, so a plain shift by k is the item k steps back
    # whenever pos >= k; the guard keeps other users' items out.
    history = [
        pl.when(pos >= k).then(pl.col("item_id").shift(k)).alias(f"h{k}")
        for k in range(max_history, 0, -1)
    ]
    return sequences.with_columns(history).filter(qualifies).drop("line", strict=False)


def assign_splits(
    examples: pl.DataFrame,
    *,
    split: str,
    train_ratio: float,
    valid_ratio: float,
    ties: str = "earlier",
) -> pl.DataFrame:
    """Add `split` and sort examples in file order.

    time: sort by the target's timestamp (ties by user, then position), first train_ratio to train,
    next valid_ratio to valid, rest to test. ties="straddle" cuts at exactly int(n * ratio) as
    BIGRec does (equal timestamps may fall on both sides); ties="earlier" moves a cut past equal
    timestamps so that the whole tie goes to the earlier split and the splits are disjoint in time.
    leave-last-out: per user, the last item's example is test, the one before valid, the rest train.
    """
    if split == "time":
        if examples["timestamp"].null_count():
            raise DataError(
                "the time split needs a timestamp for every interaction; this data has positions only",
                hint="use --split leave-last-out",
            )
        examples = examples.sort(["timestamp", "user_rank", "pos"])
        ts = examples["timestamp"].to_numpy()
        count = len(ts)
        cuts = []
        for fraction in (train_ratio, round(train_ratio + valid_ratio, 12)):
            cut = int(count * fraction)
            if ties == "earlier" and 0 < cut < count:
                cut = int(np.searchsorted(ts, ts[cut - 1], side="right"))
            cuts.append(cut)
        index = pl.int_range(pl.len())
        label = (
            pl.when(index < cuts[0])
            .then(pl.lit("train"))
            .when(index < cuts[1])
            .then(pl.lit("valid"))
        )
        return examples.with_columns(split=label.otherwise(pl.lit("test")))
    if split == "leave-last-out":
        pos, n = pl.col("pos"), pl.col("n")
        label = pl.when(pos == n - 1).then(pl.lit("test")).when(pos == n - 2).then(pl.lit("valid"))
        return examples.sort(["user_rank", "pos"]).with_columns(
            split=label.otherwise(pl.lit("train"))
        )
    raise DataError(f"unknown split {split!r}: expected 'time' or 'leave-last-out'")


def training_popularity(
    sequences: pl.DataFrame, examples: pl.DataFrame, max_history: int, n_items: int
) -> pl.DataFrame:
    """Interactions per item in the training split: those that are a train example's target or in its history.

    An interaction at sequence row r is covered when the nearest train target at or after it (row t,
    same user) has t - r <= max_history. Each raw interaction counts once. Vectorised with numpy:
    `sequences` rows are grouped by user, so "same user" is "t is within the user's remaining rows".
    """
    train_rows = np.sort(examples.filter(pl.col("split") == "train")["seq_row"].to_numpy())
    rows = np.arange(sequences.height)
    if train_rows.size == 0:
        counts = np.zeros(n_items, dtype=np.int64)
    else:
        nearest = np.searchsorted(train_rows, rows)  # first train target row >= r
        has_next = nearest < train_rows.size
        gap = np.where(has_next, train_rows[np.minimum(nearest, train_rows.size - 1)] - rows, -1)
        remaining = (sequences["n"] - 1 - sequences["pos"]).to_numpy()
        covered = has_next & (gap <= max_history) & (gap <= remaining)
        counts = np.bincount(sequences["item_id"].to_numpy()[covered], minlength=n_items)
    return pl.DataFrame(
        {"item_id": np.arange(n_items, dtype=np.int64), "popularity": counts.astype(np.int64)}
    )


SAMPLINGS = ("bigrec", "seeded")


def sample_rows(
    frame: pl.DataFrame, size: int, seed: int, stream: int, how: str = "seeded"
) -> pl.DataFrame:
    """A seeded random subset of `size` rows (all rows, in order, if size <= 0 or above height).

    how="bigrec": the rows pandas' `frame.sample(n=size, random_state=seed)` returns, in its order
    (pandas draws `RandomState(seed).permutation(height)[:size]`), so `valid_5000`/`test_5000` are
    BIGRec's very rows. how="seeded": numpy's PCG64 (`default_rng([seed, stream])`), one uniform key
    per row, the `size` smallest keys win, kept in file order.
    """
    if size <= 0:
        return frame
    if how == "bigrec" and size <= frame.height:  # (pandas refuses size > height: all rows then)
        return frame[np.random.RandomState(seed).permutation(frame.height)[:size]]
    if size >= frame.height:
        return frame
    keys = np.random.default_rng([seed, stream]).random(frame.height)
    chosen = np.sort(np.argsort(keys, kind="stable")[:size])
    return frame[chosen]


def _json_series(values: list[str]) -> pl.Series:
    return pl.Series([json.dumps(v, ensure_ascii=False) for v in values], dtype=pl.String)


def write_examples_jsonl(
    path: Path,
    examples: pl.DataFrame,
    *,
    split: str,
    titles: list[str],
    users: pl.DataFrame,
    prompt: Prompt,
    max_history: int,
    chunk_rows: int = 100_000,
) -> None:
    """Write examples as JSON lines, one object per line, fields in contract order.

    The lines are built with Polars string concatenation from per-item JSON fragments (each title is
    JSON-encoded once), which is several times faster than building list columns and serialising
    them; the tests parse every line back and compare it to a plain-Python rendering.
    """
    title_json = pl.lit(_json_series(titles))  # "Heat (1995)"
    quoted_body = pl.lit(  # \"Heat (1995)\" (a fragment inside the input string)
        pl.Series([json.dumps(f'"{t}"', ensure_ascii=False)[1:-1] for t in titles], dtype=pl.String)
    )
    quoted_json = pl.lit(_json_series([f'"{t}"' for t in titles]))  # "\"Heat (1995)\""
    user_json = pl.lit(_json_series(users.sort("user_rank")["user_id"].to_list()))
    hist = history_columns(max_history)
    width = max(6, len(str(max(examples.height - 1, 0))))

    def esc(text: str) -> str:  # a JSON string body (no surrounding quotes)
        return json.dumps(text, ensure_ascii=False)[1:-1]

    def line(offset: int) -> pl.Expr:
        return pl.concat_str(
            [
                pl.lit(f'{{"example_id":"{split}-'),
                (pl.int_range(pl.len()) + offset).cast(pl.String).str.zfill(width),
                pl.lit('","user_id":'),
                user_json.gather(pl.col("user_rank")),
                pl.lit(',"history_item_ids":['),
                pl.concat_str(
                    [pl.col(h).cast(pl.String) for h in hist], separator=",", ignore_nulls=True
                ),
                pl.lit('],"history_titles":['),
                pl.concat_str(
                    [title_json.gather(pl.col(h)) for h in hist], separator=",", ignore_nulls=True
                ),
                pl.lit('],"target_item_id":'),
                pl.col("item_id").cast(pl.String),
                pl.lit(',"target_title":'),
                title_json.gather(pl.col("item_id")),
                pl.lit(',"timestamp":'),
                pl.col("timestamp").cast(pl.String).fill_null("null"),
                pl.lit(f',"instruction":{json.dumps(prompt.instruction, ensure_ascii=False)}'),
                pl.lit(f',"input":"{esc(prompt.history_prefix)}'),
                pl.concat_str(
                    [quoted_body.gather(pl.col(h)) for h in hist], separator=", ", ignore_nulls=True
                ),
                pl.lit(esc("\n ") + '","output":'),
                quoted_json.gather(pl.col("item_id")),
                pl.lit("}"),
            ]
        ).alias("line")

    columns = ["user_rank", "item_id", "timestamp", *hist]
    # Render chunk k+1 while a writer thread writes chunk k: for the full MovieLens-10M train split
    # (~4 GiB) the disk is as slow as the rendering. Both release the GIL.
    with (
        atomic_path(path) as tmp,
        open(tmp, "wb") as out,
        ThreadPoolExecutor(max_workers=1) as writer,
    ):
        pending = None
        starts = range(0, examples.height, chunk_rows)
        # a bar only for long files on a terminal (tqdm's disable=None: off when not a TTY)
        for start in tqdm(
            starts, desc=path.name, unit="chunk", disable=None if len(starts) > 5 else True
        ):
            chunk = examples.slice(start, chunk_rows).select(columns)
            lines = chunk.lazy().select(line(start)).collect(engine="streaming")
            if pending is not None:
                pending.result()
            pending = writer.submit(lines.write_csv, out, include_header=False, quote_style="never")
        if pending is not None:
            pending.result()


def example_record(
    *,
    example_id: str,
    user_id: str,
    history_item_ids: list[int],
    titles: list[str],
    target_item_id: int,
    timestamp: int | None,
    prompt: Prompt,
) -> dict:
    """One example as a plain dict, the reference the fast writer is tested against."""
    history_titles = [titles[i] for i in history_item_ids]
    return {
        "example_id": example_id,
        "user_id": user_id,
        "history_item_ids": history_item_ids,
        "history_titles": history_titles,
        "target_item_id": target_item_id,
        "target_title": titles[target_item_id],
        "timestamp": timestamp,
        "instruction": prompt.instruction,
        "input": prompt.render_input(history_titles),
        "output": f'"{titles[target_item_id]}"',
    }
