"""Properties of the prepared real datasets, checked against direct computations on the raw files."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
from llmrec_data import PROMPTS, PrepareConfig, PrepareResult, normalise_title, prepare


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def movielens_sequences(home: Path) -> dict[str, list[tuple[int, str, float]]]:
    """user -> [(timestamp, movieId, rating)] in time order, ties in file order: plain Python."""
    per_user: dict[str, list[tuple[int, int, str, float]]] = defaultdict(list)
    with open(home / "movielens/ml-latest-small/ratings.csv", newline="") as f:
        for line_no, row in enumerate(csv.DictReader(f)):
            per_user[row["userId"]].append(
                (int(row["timestamp"]), line_no, row["movieId"], float(row["rating"]))
            )
    return {u: [(t, m, r) for t, _, m, r in sorted(rows)] for u, rows in per_user.items()}


def test_movie_small_examples_equal_a_direct_computation(
    movie_small_full: PrepareResult, real_data_home: Path
):
    out = movie_small_full.out
    items = pl.read_parquet(out / "items.parquet")
    source_of = dict(zip(items["item_id"].to_list(), items["source_id"].to_list(), strict=True))
    written = {s: read_jsonl(out / f"{s}.jsonl") for s in ("train", "valid", "test")}

    # BIGRec: every target i >= 10 (any rating), history = the 10 items before it
    expected = []
    for user, rows in movielens_sequences(real_data_home).items():
        for i in range(10, len(rows)):
            expected.append(
                (rows[i][0], user, tuple(m for _, m, _ in rows[i - 10 : i]), rows[i][1])
            )
    got = [
        (
            ex["timestamp"],
            ex["user_id"],
            tuple(source_of[i] for i in ex["history_item_ids"]),
            source_of[ex["target_item_id"]],
        )
        for split in ("train", "valid", "test")
        for ex in written[split]
    ]
    assert sorted(got) == sorted(expected)
    assert movie_small_full.examples == {s: len(written[s]) for s in written}
    n = len(expected)  # BIGRec's cut at exactly 80 % and 90 %
    assert [len(written[s]) for s in written] == [
        int(0.8 * n),
        int(0.9 * n) - int(0.8 * n),
        n - int(0.9 * n),
    ]
    assert items.height == len(
        {m for rows in movielens_sequences(real_data_home).values() for _, m, _ in rows}
    )


def test_no_target_precedes_its_history_and_splits_follow_each_other_in_time(
    movie_small_full: PrepareResult, real_data_home: Path
):
    out = movie_small_full.out
    items = pl.read_parquet(out / "items.parquet")
    source_of = dict(zip(items["item_id"].to_list(), items["source_id"].to_list(), strict=True))
    rated_at = {
        (user, movie): t
        for user, rows in movielens_sequences(real_data_home).items()
        for t, movie, _ in rows
    }
    spans = {}
    for split in ("train", "valid", "test"):
        rows = read_jsonl(out / f"{split}.jsonl")
        for ex in rows:
            history_times = [
                rated_at[(ex["user_id"], source_of[i])] for i in ex["history_item_ids"]
            ]
            assert max(history_times) <= ex["timestamp"]
            assert history_times == sorted(history_times)
        times = [ex["timestamp"] for ex in rows]
        assert times == sorted(times)  # files are in time order
        spans[split] = (min(times), max(times))
    # BIGRec's exact cut: a timestamp may straddle a boundary, never go backwards
    assert spans["train"][1] <= spans["valid"][0]
    assert spans["valid"][1] <= spans["test"][0]


def test_popularity_counts_training_interactions_once(movie_small_full: PrepareResult):
    out = movie_small_full.out
    covered: set[tuple[str, int]] = (
        set()
    )  # (user, timestamp-free key): the interaction's item in the user's sequence
    for ex in read_jsonl(out / "train.jsonl"):
        for item in [*ex["history_item_ids"], ex["target_item_id"]]:
            covered.add((ex["user_id"], item))  # ml-latest-small has one rating per (user, movie)
    expected = Counter(item for _, item in covered)
    items = pl.read_parquet(out / "items.parquet")
    assert dict(zip(items["item_id"].to_list(), items["popularity"].to_list(), strict=True)) == {
        i: expected.get(i, 0) for i in items["item_id"].to_list()
    }


def test_items_follow_the_contract_and_the_duplicate_rule(
    movie_small_full: PrepareResult, game_small: PrepareResult
):
    for result in (movie_small_full, game_small):
        items = pl.read_parquet(result.out / "items.parquet")
        assert items.columns[:5] == [
            "item_id",
            "source_id",
            "title",
            "canonical_item_id",
            "popularity",
        ]
        assert items.schema["item_id"] == pl.Int64 and items.schema["popularity"] == pl.Int64
        assert items["item_id"].to_list() == list(range(items.height))
        assert items["source_id"].to_list() == sorted(items["source_id"].to_list())
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in items.iter_rows(named=True):
            groups[normalise_title(row["title"])].append(row)
        n_duplicates = 0
        for rows in groups.values():
            best = min(rows, key=lambda r: (-r["popularity"], r["item_id"]))
            assert {r["canonical_item_id"] for r in rows} == {best["item_id"]}
            n_duplicates += len(rows) - 1
        assert n_duplicates == result.manifest["counts"]["duplicate_title_items"]
    # the real data does have duplicates, and HTML entities are decoded
    games = pl.read_parquet(game_small.out / "items.parquet")
    assert game_small.manifest["counts"]["duplicate_title_items"] > 100
    assert not games.filter(pl.col("title").str.contains("&amp;|&#39;|&quot;")).height
    assert (
        games.filter(pl.col("title") == "Dark Messiah of Might & Magic Elements - Xbox 360").height
        == 1
    )


def test_game_small_is_leave_last_out_by_position(game_small: PrepareResult, real_data_home: Path):
    sequences: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with open(real_data_home / "amazon-video-games/interactions.csv", newline="") as f:
        for row in csv.DictReader(f):
            sequences[row["user_id"]].append((int(row["position"]), row["item_id"]))
    items = pl.read_parquet(game_small.out / "items.parquet")
    source_of = dict(zip(items["item_id"].to_list(), items["source_id"].to_list(), strict=True))
    last = {u: [i for _, i in sorted(rows)] for u, rows in sequences.items()}
    for split, from_end in (("test", 1), ("valid", 2)):
        rows = read_jsonl(game_small.out / f"{split}.jsonl")
        assert len(rows) == sum(1 for s in last.values() if len(s) >= from_end + 1)
        for ex in rows:
            seq = last[ex["user_id"]]
            target = len(seq) - from_end
            assert source_of[ex["target_item_id"]] == seq[target]
            assert [source_of[i] for i in ex["history_item_ids"]] == seq[
                max(0, target - 10) : target
            ]
            assert ex["timestamp"] is None
    n_train = sum(max(0, len(s) - 3) for s in last.values())
    assert game_small.examples["train"] == n_train


def test_prompts_use_bigrec_wording(movie_small_full: PrepareResult, game_small: PrepareResult):
    for result, domain in ((movie_small_full, "movie"), (game_small, "game")):
        prompt = PROMPTS[domain]
        for ex in read_jsonl(result.out / "test.jsonl")[:300]:
            assert ex["instruction"] == prompt.instruction
            assert (
                ex["input"]
                == prompt.history_prefix + ", ".join(f'"{t}"' for t in ex["history_titles"]) + "\n "
            )
            assert ex["output"] == f'"{ex["target_title"]}"'
    ex = read_jsonl(movie_small_full.out / "test.jsonl")[0]
    assert ex["instruction"] == (
        "Given a list of movies the user has watched before, please recommend a new movie that the user likes to the user."
    )
    assert ex["input"].startswith('The user has watched the following movies before:"')


def test_same_seed_same_bytes_and_sampling(
    real_data_home: Path, tmp_path: Path, movie_small_full: PrepareResult
):
    outs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        outs.append(
            prepare(
                PrepareConfig(
                    out=tmp_path / name,
                    dataset="movie-small",
                    data_home=real_data_home,
                    seed=seed,
                    valid_sample=500,
                    test_sample=500,
                    train_sample=1024,
                )
            ).out
        )
    a, b, c = outs
    for name in ("items.parquet", "train.jsonl", "valid.jsonl", "test.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "valid.jsonl").read_bytes() != (c / "valid.jsonl").read_bytes()
    full_valid = {
        (ex["user_id"], ex["target_item_id"], ex["timestamp"])
        for ex in read_jsonl(movie_small_full.out / "valid.jsonl")
    }
    sampled = read_jsonl(a / "valid.jsonl")
    assert len(sampled) == 500 and len(read_jsonl(a / "train.jsonl")) == 1024
    assert {(ex["user_id"], ex["target_item_id"], ex["timestamp"]) for ex in sampled} <= full_valid
    assert [ex["example_id"] for ex in sampled] == [f"valid-{i:06d}" for i in range(500)]
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["config"]["dataset"] == "movie-small"
    assert {i["path"].rsplit("/", 1)[-1] for i in manifest["inputs"]} == {
        "ratings.csv",
        "movies.csv",
    }
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert manifest["counts"]["written"] == {"train": 1024, "valid": 500, "test": 500}
