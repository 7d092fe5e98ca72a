"""The BIGRec presets reproduce BIGRec's own processing: the same examples, splits and sampled rows.

The references below follow BIGRec's current `data/movie/process.ipynb` and the maintained fork's
`data/game/process.py` step by step in plain Python, and pandas' `sample(n=5000, random_state=42)`
is the oracle for the sampled rows (pandas is a test-only dependency).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from llmrec_data import PrepareConfig, PrepareResult, prepare

Example = tuple[str, tuple[str, ...], str, int]  # user, history source ids, target source id, time


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def bigrec_movie(ratings: list[tuple[str, str, int]]) -> list[Example]:
    """process.ipynb: per user (in order of first appearance) sort by int(timestamp), stable; every
    i >= 10 is a target with the 10 items before it; then a stable sort of all by target time."""
    per_user: dict[str, list[tuple[str, int]]] = {}
    for user, movie, timestamp in ratings:
        per_user.setdefault(user, []).append((movie, timestamp))
    examples = []
    for user, rows in per_user.items():
        rows = sorted(rows, key=lambda x: x[1])
        for i in range(10, len(rows)):
            history = tuple(m for m, _ in rows[i - 10 : i])
            examples.append((user, history, rows[i][0], rows[i][1]))
    return sorted(examples, key=lambda x: x[-1])


def bigrec_game(reviews: list[dict], meta: list[dict]) -> list[Example]:
    """The fork's process.py: titled items (len(title) > 1), reviews with overall and time, per
    user sorted by int(time), targets from i = min(10, n - 1), history = up to 10 previous items."""
    id_title = {m["asin"]: m["title"] for m in meta if len(m["title"]) > 1}
    users: dict[str, list[tuple[str, int]]] = {}
    for review in reviews:
        if review["asin"] not in id_title or "unixReviewTime" not in review:
            continue
        users.setdefault(review["reviewerID"], []).append(
            (review["asin"], review["unixReviewTime"])
        )
    examples = []
    for user, rows in users.items():
        rows = sorted(rows, key=lambda x: int(x[1]))
        for i in range(min(10, len(rows) - 1), len(rows)):
            history = tuple(a for a, _ in rows[max(i - 10, 0) : i])
            examples.append((user, history, rows[i][0], int(rows[i][1])))
    return sorted(examples, key=lambda x: x[-1])


def split_and_sample(examples: list[Example]) -> dict[str, list[Example]]:
    """BIGRec's cut at int(n * 0.8) / int(n * 0.9), then pandas' sample of valid and test."""
    n = len(examples)
    parts = {
        "train": examples[: int(n * 0.8)],
        "valid": examples[int(n * 0.8) : int(n * 0.9)],
        "test": examples[int(n * 0.9) :],
    }
    for name in ("valid", "test"):
        frame = pd.DataFrame({"row": range(len(parts[name]))})
        rows = frame.sample(n=5000, random_state=42)["row"].tolist()
        parts[name + "_5000"] = [parts[name][r] for r in rows]
    return parts


def written(result: PrepareResult, split: str) -> list[Example]:
    items = pl.read_parquet(result.out / "items.parquet")
    source = dict(zip(items["item_id"].to_list(), items["source_id"].to_list(), strict=True))
    return [
        (
            ex["user_id"],
            tuple(source[i] for i in ex["history_item_ids"]),
            source[ex["target_item_id"]],
            ex["timestamp"],
        )
        for ex in read_jsonl(result.out / f"{split}.jsonl")
    ]


def check_against_bigrec(result: PrepareResult, reference: list[Example]) -> None:
    expected = split_and_sample(reference)
    assert result.examples == {s: len(expected[s]) for s in ("train", "valid", "test")}
    assert written(result, "train") == expected["train"]  # same rows, same order
    for name in ("valid", "test"):
        assert written(result, name) == expected[name + "_5000"], name  # row for row


def test_movie_small_is_bigrec_movie_processing(real_data_home: Path, tmp_path: Path):
    with open(real_data_home / "movielens/ml-latest-small/ratings.csv", newline="") as f:
        ratings = [(r["userId"], r["movieId"], int(r["timestamp"])) for r in csv.DictReader(f)]
    result = prepare(PrepareConfig(out=tmp_path, dataset="movie-small", data_home=real_data_home))
    # every rating from the 11th on is a target: 100,836 ratings of 610 users
    assert sum(result.examples.values()) == len(ratings) - 10 * 610
    check_against_bigrec(result, bigrec_movie(ratings))
    assert "pandas sample" in result.sampling


def synthetic_movielens_10m(folder: Path, seed: int = 0) -> list[tuple[str, str, int]]:
    """ml-10m-format files: 1,500 users of 11-80 ratings, shuffled lines, many equal timestamps."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    movies = [(m, f"Movie {m} (19{m % 100:02d})", "Drama") for m in range(1, 601)]
    (folder / "movies.dat").write_text("".join(f"{m}::{t}::{g}\n" for m, t, g in movies))
    lines, ratings = [], []
    for user in range(1, 1501):
        for movie in rng.sample(range(1, 601), rng.randint(11, 80)):
            timestamp = 1_000_000_000 + rng.randrange(20_000) * 60  # coarse: ties are common
            rating = rng.choice([0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0])
            lines.append(f"{user}::{movie}::{rating}::{timestamp}\n")
    rng.shuffle(lines)  # users interleaved: BIGRec's user order is first appearance
    for line in lines:
        user, movie, _, timestamp = line.strip().split("::")
        ratings.append((user, movie, int(timestamp)))
    (folder / "ratings.dat").write_text("".join(lines))
    return ratings


def test_movie_preset_on_movielens_10m_format_is_bigrec(tmp_path: Path):
    ratings = synthetic_movielens_10m(tmp_path / "home/movielens/ml-10M100K")
    result = prepare(
        PrepareConfig(out=tmp_path / "out", dataset="movie", data_home=tmp_path / "home")
    )
    check_against_bigrec(result, bigrec_movie(ratings))
    # BIGRec's cut lets one timestamp straddle a boundary; the tie-safe rule never does
    safe = prepare(
        PrepareConfig(
            out=tmp_path / "safe",
            dataset="movie",
            data_home=tmp_path / "home",
            split_ties="earlier",
            valid_sample=0,
            test_sample=0,
        )
    )
    times = {s: [ex[3] for ex in written(safe, s)] for s in ("train", "valid", "test")}
    assert max(times["train"]) < min(times["valid"]) and max(times["valid"]) < min(times["test"])
    assert safe.examples != result.examples  # the synthetic file has ties at the cuts


def test_first_version_rating_filter_is_an_option(tmp_path: Path):
    ratings_home = tmp_path / "home/movielens/ml-10M100K"
    synthetic_movielens_10m(ratings_home)
    result = prepare(
        PrepareConfig(
            out=tmp_path / "out",
            dataset="movie",
            data_home=tmp_path / "home",
            target_rating_above=3.0,
            valid_sample=0,
            test_sample=0,
        )
    )
    rated = {}
    for line in (ratings_home / "ratings.dat").read_text().splitlines():
        user, movie, rating, _ = line.split("::")
        rated[(user, movie)] = float(rating)
    targets = [(u, t) for s in ("train", "valid", "test") for u, _, t, _ in written(result, s)]
    assert targets and all(rated[key] > 3.0 for key in targets)


def synthetic_amazon(folder: Path, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Amazon 2018 format: 6,000 users of 5-40 reviews, some untitled items, a repeated asin."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    meta = [{"asin": f"B{k:05d}", "title": f"Game {k}"} for k in range(800)]
    for k in range(0, 800, 97):
        meta[k]["title"] = "" if k % 2 else "X"  # untitled: dropped with their reviews
    meta.append({"asin": "B00001", "title": "Game 1, Deluxe Edition"})  # the later title wins
    reviews = []
    for user in range(6000):
        for asin in rng.sample(range(800), rng.randint(5, 40)):
            reviews.append(
                {
                    "reviewerID": f"U{user}",
                    "asin": f"B{asin:05d}",
                    "overall": float(rng.randint(1, 5)),
                    "unixReviewTime": 1_300_000_000 + rng.randrange(3000) * 86400,
                }
            )
    rng.shuffle(reviews)
    for name, rows in (("Video_Games_5.json.gz", reviews), ("meta_Video_Games.json.gz", meta)):
        with gzip.open(folder / name, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    return reviews, meta


def test_game_preset_is_the_forks_game_processing(tmp_path: Path):
    reviews, meta = synthetic_amazon(tmp_path / "home/amazon-2018")
    result = prepare(
        PrepareConfig(out=tmp_path / "out", dataset="game", data_home=tmp_path / "home")
    )
    check_against_bigrec(result, bigrec_game(reviews, meta))
    items = pl.read_parquet(result.out / "items.parquet")
    assert items.filter(pl.col("source_id") == "B00001")["title"].item() == (
        "Game 1, Deluxe Edition"
    )


@pytest.mark.parametrize("size", [3, 7])
def test_bigrec_sampling_equals_pandas_for_any_size(real_data_home: Path, tmp_path: Path, size):
    full = prepare(
        PrepareConfig(
            out=tmp_path / "full", dataset="movie-small", data_home=real_data_home, test_sample=0
        )
    )
    sampled = prepare(
        PrepareConfig(
            out=tmp_path / "s", dataset="movie-small", data_home=real_data_home, test_sample=size
        )
    )
    rows = written(full, "test")
    oracle = pd.DataFrame({"row": range(len(rows))}).sample(n=size, random_state=42)["row"]
    assert written(sampled, "test") == [rows[r] for r in oracle]
