"""Parsers on hand-written fixtures in the exact raw formats: MovieLens .dat and Amazon 2018 JSON lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest
from llmrec_data import PrepareConfig, clean_title, prepare

MOVIES = [
    ("1", "Toy Story (1995)", "Adventure|Animation"),
    ("2", "Château de ma mère, Le (1990)", "Comedy"),  # accents: the encoding matters
    ("3", '"Great Performances" Cats (1998)', "Musical"),  # quotes inside: kept
    ("4", "Ghost &amp; the Darkness, The (1996)", "Action"),  # HTML entity: decoded
    ("5", "Heat (1995)", "Action|Crime"),
    ("6", "heat  (1995)", "Action"),  # duplicate of 5 after normalisation
]


def write_movielens_dat(
    folder: Path, encoding: str, n_users: int = 3, n_ratings: int = 14
) -> list[tuple]:
    """ml-1m-style files: UserID::MovieID::Rating::Timestamp and MovieID::Title::Genres."""
    folder.mkdir(parents=True, exist_ok=True)
    movie_lines = "".join(f"{i}::{t}::{g}\n" for i, t, g in MOVIES)
    (folder / "movies.dat").write_bytes(movie_lines.encode(encoding))
    ratings = []
    for user in range(1, n_users + 1):
        for k in range(n_ratings):
            movie = (user + k) % len(MOVIES) + 1
            rating = 5 if (k + user) % 3 else 2
            ratings.append((user, movie, rating, 978300000 + 1000 * k + user))
    # users interleaved in time but grouped in the file, as in ratings.dat
    (folder / "ratings.dat").write_text("".join(f"{u}::{m}::{r}::{t}\n" for u, m, r, t in ratings))
    return ratings


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("encoding", ["iso-8859-1", "utf-8"])
def test_movielens_dat_either_encoding(tmp_path: Path, encoding: str):
    ratings = write_movielens_dat(tmp_path / "movielens" / "ml-1m", encoding)
    result = prepare(
        PrepareConfig(
            out=tmp_path / "out",
            dataset="movie-1m",
            data_home=tmp_path,
            download=False,
            min_history=3,
        )
    )
    items = pl.read_parquet(result.out / "items.parquet")
    titles = dict(zip(items["source_id"], items["title"], strict=True))
    assert titles["2"] == "Château de ma mère, Le (1990)"
    assert titles["3"] == '"Great Performances" Cats (1998)'
    assert titles["4"] == "Ghost & the Darkness, The (1996)"
    assert items["genres"].to_list()[0] == "Adventure|Animation"
    manifest = result.manifest
    assert manifest["inputs"][1]["encoding"] == encoding
    # examples: per user, every target i >= 3, whatever its rating (BIGRec)
    assert sum(result.examples.values()) == sum(
        len([r for r in ratings if r[0] == user]) - 3 for user in range(1, 4)
    )
    # duplicate rule: Heat (1995) and "heat  (1995)" share one canonical item
    heat = items.filter(pl.col("source_id").is_in(["5", "6"]))
    assert heat["canonical_item_id"].n_unique() == 1


def test_movielens_time_order_breaks_ties_by_file_line(tmp_path: Path):
    folder = tmp_path / "movielens" / "ml-1m"
    write_movielens_dat(folder, "utf-8")
    # user 9 rates movies 1..5 at the same second, then 6 later: the file order decides
    lines = [f"9::{m}::5::100\n" for m in (3, 1, 2, 5, 4)] + ["9::6::5::200\n"]
    with open(folder / "ratings.dat", "a") as f:
        f.writelines(lines)
    result = prepare(
        PrepareConfig(
            out=tmp_path / "out",
            dataset="movie-1m",
            data_home=tmp_path,
            download=False,
            min_history=5,
            split="leave-last-out",
            valid_sample=0,
            test_sample=0,
        )
    )
    items = pl.read_parquet(result.out / "items.parquet")
    source_of = dict(zip(items["item_id"], items["source_id"], strict=True))
    (test,) = [ex for ex in read_jsonl(result.out / "test.jsonl") if ex["user_id"] == "9"]
    assert [source_of[i] for i in test["history_item_ids"]] == ["3", "1", "2", "5", "4"]
    assert source_of[test["target_item_id"]] == "6"


def write_amazon(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    reviews = []
    # user A: 12 reviews (one example per i >= 10), B: 4 reviews (BIGRec's rule: only the last, i = 3),
    # C: one review without unixReviewTime (skipped), one of an asin without metadata (dropped).
    for k in range(12):
        reviews.append(
            {"reviewerID": "A", "asin": f"G{k % 8}", "overall": 5.0, "unixReviewTime": 1000 + k}
        )
    for k in range(4):
        reviews.append(
            {
                "reviewerID": "B",
                "asin": f"G{k}",
                "overall": 4.0,
                "unixReviewTime": 2000 + k,
                "vote": "2",
            }
        )
    reviews.append({"reviewerID": "C", "asin": "G1", "overall": 3.0})
    reviews.append({"reviewerID": "B", "asin": "NOMETA", "overall": 3.0, "unixReviewTime": 1500})
    reviews.append(
        {"reviewerID": "B", "asin": "G9", "overall": 3.0, "unixReviewTime": 1600}
    )  # untitled item
    with gzip.open(folder / "Video_Games_5.json.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in reviews)
    meta = [
        {"asin": f"G{k}", "title": f"Game {k} &amp; Co", "categories": ["Video Games"]}
        for k in range(8)
    ]
    meta.append({"asin": "G0", "title": "Game 0 again"})  # repeated asin: the last title wins
    meta.append({"asin": "G0", "title": ""})  # ... unless it has no title
    meta.append({"asin": "G9", "title": ""})  # no title
    with gzip.open(folder / "meta_Video_Games.json.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(m) + "\n" for m in meta)


def test_amazon_2018_json_with_bigrec_rules_and_counted_skips(tmp_path: Path):
    write_amazon(tmp_path / "amazon-2018")
    result = prepare(
        PrepareConfig(
            out=tmp_path / "out",
            dataset="game",
            data_home=tmp_path,
            download=False,
            valid_sample=0,
            test_sample=0,
        )
    )
    rows = [ex for s in ("train", "valid", "test") for ex in read_jsonl(result.out / f"{s}.jsonl")]
    by_user: dict[str, list[dict]] = {}
    for ex in rows:
        by_user.setdefault(ex["user_id"], []).append(ex)
    assert len(by_user["A"]) == 2  # i = 10, 11
    assert all(len(ex["history_item_ids"]) == 10 for ex in by_user["A"])
    assert (
        len(by_user["B"]) == 1 and len(by_user["B"][0]["history_item_ids"]) == 3
    )  # min(10, len-1)
    assert "C" not in by_user
    assert rows[0]["target_title"].endswith("& Co")
    assert rows[0]["instruction"].startswith(
        "Given a list of video games the user has played before"
    )
    skipped = result.manifest["skipped"]
    assert skipped["reviews without overall or unixReviewTime"] == 1
    assert skipped["metadata rows repeating an asin"] == 2
    assert skipped["items without a title (dropped)"] == 1
    assert skipped["interactions with an item without a title (dropped)"] == 1
    assert skipped["interactions with an item id missing from the items file (dropped)"] == 1
    items = pl.read_parquet(result.out / "items.parquet")
    assert items.filter(pl.col("source_id") == "G0")["title"].item() == "Game 0 again"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('  "Heat (1995)" ', "Heat (1995)"),
        ("Tony Hawk&amp;#39;s Pro Skater", "Tony Hawk's Pro Skater"),
        ("Line\nbreak\t title", "Line break title"),
        ('"Great Performances" Cats (1998)', '"Great Performances" Cats (1998)'),
        ("X", None),
        ("   ", None),
        (None, None),
    ],
)
def test_clean_title(raw: str | None, clean: str | None):
    assert clean_title(raw) == clean


@pytest.mark.parametrize("kind", ["jsonl", "parquet", "tsv"])
def test_custom_formats_and_column_names(tmp_path: Path, kind: str):
    rows = [
        {"uid": "u1", "sku": s, "ts": t} for s, t in (("b", 30), ("a", 10), ("c", 20), ("a", 40))
    ]
    items = [{"sku": s, "name": f"Item {s.upper()}", "brand": "Acme"} for s in "abc"]
    inter_path, items_path = tmp_path / f"clicks.{kind}", tmp_path / f"items.{kind}"
    if kind == "jsonl":
        inter_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        items_path.write_text("".join(json.dumps(r) + "\n" for r in items))
    elif kind == "parquet":
        pl.DataFrame(rows).write_parquet(inter_path)
        pl.DataFrame(items).write_parquet(items_path)
    else:
        pl.DataFrame(rows).write_csv(inter_path, separator="\t")
        pl.DataFrame(items).write_csv(items_path, separator="\t")
    result = prepare(
        PrepareConfig(
            out=tmp_path / "out",
            dataset="custom",
            interactions=inter_path,
            items=items_path,
            user_column="uid",
            item_column="sku",
            timestamp_column="ts",
            items_id_column="sku",
            title_column="name",
            extra_columns="brand",
            split="leave-last-out",
        )
    )
    test = read_jsonl(result.out / "test.jsonl")
    assert [(ex["history_titles"], ex["target_title"]) for ex in test] == [
        (["Item A", "Item C", "Item B"], "Item A")
    ]
    assert test[0]["instruction"].startswith("Given a list of items")
    catalogue = pl.read_parquet(result.out / "items.parquet")
    assert catalogue.columns == [
        "item_id",
        "source_id",
        "title",
        "canonical_item_id",
        "popularity",
        "brand",
    ]
    # time order a, c, b, a: the only train example is c after a; b is in valid only
    assert catalogue["popularity"].to_list() == [1, 0, 1]
