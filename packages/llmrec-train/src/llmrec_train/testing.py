"""Small real inputs in the contract formats, for this package's tests and benchmarks.

Built from MovieLens ml-latest-small under $LLMREC_DATA_HOME (BIGRec's wording: the last 10 watched
titles, in double quotes, predict the next). This is not the data package's `prepare` (which is the
reference implementation): it only makes a few hundred examples in the same format.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from llmrec_train._io import atomic_write_jsonl

INSTRUCTION = (
    "Given a list of movies the user has watched before, please recommend a new movie that the user "
    "likes to the user."
)


def movielens_small_dir() -> Path:
    home = os.environ.get("LLMREC_DATA_HOME")
    if not home:
        raise RuntimeError(
            "LLMREC_DATA_HOME is not set (it should point at the shared datasets folder)"
        )
    folder = Path(home) / "movielens" / "ml-latest-small"
    if not (folder / "ratings.csv").is_file():
        raise FileNotFoundError(f"{folder}/ratings.csv not found (LLMREC_DATA_HOME={home})")
    return folder


def build_movielens_examples(
    n_examples: int, *, history: int = 10, max_users: int = 60
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(examples, items): up to `n_examples` contract rows from the first users' histories, and the catalogue."""
    folder = movielens_small_dir()
    with (folder / "movies.csv").open(encoding="utf-8", newline="") as f:
        movies = {row["movieId"]: row["title"].strip() for row in csv.DictReader(f)}
    raw_ids = sorted(movies)  # item ids: raw ids sorted as strings, as the contract says
    item_of = {raw: i for i, raw in enumerate(raw_ids)}
    items = [
        {"item_id": i, "source_id": raw, "title": movies[raw]} for i, raw in enumerate(raw_ids)
    ]

    by_user: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with (folder / "ratings.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_user[row["userId"]].append((int(row["timestamp"]), row["movieId"]))
    examples: list[dict[str, Any]] = []
    for user in sorted(by_user, key=int)[:max_users]:
        seq = sorted(by_user[user])
        # A few examples per user, spread over the history, so that many users appear.
        for i in range(history, len(seq), max(1, len(seq) // 4)):
            hist = seq[i - history : i]
            ts, target = seq[i]
            titles = [movies[m] for _, m in hist]
            examples.append(
                {
                    "example_id": f"ex-{len(examples):06d}",
                    "user_id": user,
                    "history_item_ids": [item_of[m] for _, m in hist],
                    "history_titles": titles,
                    "target_item_id": item_of[target],
                    "target_title": movies[target],
                    "timestamp": ts,
                    "instruction": INSTRUCTION,
                    "input": "The user has watched the following movies before: "
                    + ", ".join(f'"{t}"' for t in titles),
                    "output": f'"{movies[target]}"',
                }
            )
            if len(examples) >= n_examples:
                return examples, items
    return examples, items


def write_items_parquet(items: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "item_id": pa.array([r["item_id"] for r in items], pa.int64()),
            "source_id": pa.array([r["source_id"] for r in items], pa.string()),
            "title": pa.array([r["title"] for r in items], pa.string()),
            "canonical_item_id": pa.array([r["item_id"] for r in items], pa.int64()),
            "popularity": pa.array([0] * len(items), pa.int64()),
        }
    )
    pq.write_table(table, path)


def write_movielens_dataset(folder: Path, *, n_train: int, n_valid: int, n_test: int) -> Path:
    """A tiny prepared dataset folder: train/valid/test.jsonl and items.parquet (all items)."""
    folder.mkdir(parents=True, exist_ok=True)
    examples, items = build_movielens_examples(
        n_train + n_valid + n_test, max_users=max(60, (n_train + n_valid + n_test) // 3)
    )
    train, valid, test = (
        examples[:n_train],
        examples[n_train : n_train + n_valid],
        examples[n_train + n_valid : n_train + n_valid + n_test],
    )
    for name, rows, prefix in (
        ("train", train, "train"),
        ("valid", valid, "valid"),
        ("test", test, "test"),
    ):
        for k, r in enumerate(rows):
            r["example_id"] = f"{prefix}-{k:06d}"
        atomic_write_jsonl(folder / f"{name}.jsonl", rows)
    write_items_parquet(items, folder / "items.parquet")
    return folder


def write_movielens_sequences(
    folder: Path,
    *,
    n_train: int | None = None,
    n_valid: int = 1000,
    n_test: int = 500,
    seed: int = 0,
) -> Path:
    """A next-item dataset for the recommenders' tests and benchmarks, from all of ml-latest-small:
    one example per rating after a user's first (history: the previous ratings, up to 10), split by
    the target's time (the first 80% of targets train, the next 10% valid, the rest test), valid and
    test sampled with `seed`; `n_train` keeps only the most recent training examples. The same shape as `llmrec-data prepare --dataset movie-small`, not its
    exact rules (no rating filter, shorter first histories kept)."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    source = movielens_small_dir()
    with (source / "movies.csv").open(encoding="utf-8", newline="") as f:
        movies = {row["movieId"]: row["title"].strip() for row in csv.DictReader(f)}
    raw_ids = sorted(movies)
    item_of = {raw: i for i, raw in enumerate(raw_ids)}
    items = [
        {"item_id": i, "source_id": raw, "title": movies[raw]} for i, raw in enumerate(raw_ids)
    ]
    by_user: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with (source / "ratings.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_user[row["userId"]].append((int(row["timestamp"]), item_of[row["movieId"]]))
    rows: list[dict[str, Any]] = []
    for user in sorted(by_user, key=int):
        seq = sorted(by_user[user])
        for i in range(1, len(seq)):
            rows.append(
                {
                    "user_id": user,
                    "history_item_ids": [m for _, m in seq[max(0, i - 10) : i]],
                    "target_item_id": seq[i][1],
                    "timestamp": seq[i][0],
                }
            )
    rows.sort(key=lambda r: (r["timestamp"], int(r["user_id"])))
    a, b = int(0.8 * len(rows)), int(0.9 * len(rows))
    rng = np.random.default_rng(seed)
    splits = {
        "train": rows[:a][-n_train:] if n_train else rows[:a],
        "valid": [rows[a + i] for i in sorted(rng.choice(b - a, n_valid, replace=False))],
        "test": [rows[b + i] for i in sorted(rng.choice(len(rows) - b, n_test, replace=False))],
    }
    for name, split in splits.items():
        atomic_write_jsonl(
            folder / f"{name}.jsonl",
            ({"example_id": f"{name}-{k:06d}", **r} for k, r in enumerate(split)),
        )
    write_items_parquet(items, folder / "items.parquet")
    return folder
