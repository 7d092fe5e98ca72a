"""Interaction hygiene on real data: duplicates counted and dropped, repeats and k-core on request."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from llmrec_data import PrepareConfig, prepare
from llmrec_data.cli import app
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def ratings(real_data_home: Path) -> pl.DataFrame:
    return pl.read_csv(real_data_home / "movielens/ml-latest-small/ratings.csv")


def custom(
    tmp_path: Path, real_data_home: Path, ratings: pl.DataFrame, **settings
) -> PrepareConfig:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "ratings.csv"
    ratings.write_csv(path)
    return PrepareConfig(
        out=tmp_path / "out",
        dataset="custom",
        interactions=path,
        items=real_data_home / "movielens/ml-latest-small/movies.csv",
        user_column="userId",
        item_column="movieId",
        items_id_column="movieId",
        valid_sample=0,
        test_sample=0,
        **settings,
    )


def targets_in_own_history(out: Path) -> int:
    count = 0
    for split in ("train", "valid", "test"):
        with open(out / f"{split}.jsonl", encoding="utf-8") as f:
            for line in f:
                ex = json.loads(line)
                count += ex["target_item_id"] in ex["history_item_ids"]
    return count


def test_exact_duplicates_are_counted_and_dropped(
    tmp_path: Path, real_data_home: Path, ratings: pl.DataFrame
):
    # 200 repeated (user, item, timestamp) rows appended at the end of the file
    doubled = pl.concat([ratings, ratings.sample(200, seed=0)])
    clean = prepare(custom(tmp_path / "a", real_data_home, ratings))
    dropped = prepare(custom(tmp_path / "b", real_data_home, doubled))
    assert dropped.hygiene["duplicate_interactions"] == 200
    assert dropped.manifest["counts"]["duplicate_interactions"] == 200
    assert dropped.examples == clean.examples
    assert targets_in_own_history(dropped.out) == targets_in_own_history(clean.out) == 0
    for split in ("train", "valid", "test"):
        assert (dropped.out / f"{split}.jsonl").read_bytes() == (
            clean.out / f"{split}.jsonl"
        ).read_bytes()

    kept = prepare(custom(tmp_path / "c", real_data_home, doubled, keep_duplicates=True))
    assert kept.hygiene["duplicate_interactions"] == 200
    assert sum(kept.examples.values()) == sum(clean.examples.values()) + 200
    assert targets_in_own_history(kept.out) > 0


def test_consecutive_repeats_and_k_core(
    tmp_path: Path, real_data_home: Path, ratings: pl.DataFrame
):
    # user 1 re-rates the movie of their last rating one second later: a consecutive repeat
    last = ratings.filter(pl.col("userId") == 1).sort("timestamp", maintain_order=True).tail(1)
    repeated = pl.concat([ratings, last.with_columns(pl.col("timestamp") + 1)])
    found = prepare(custom(tmp_path / "a", real_data_home, repeated))
    assert found.hygiene["consecutive_repeats"] >= 1
    assert not any("consecutive" in reason for reason in found.skipped)
    dropped = prepare(
        custom(tmp_path / "b", real_data_home, repeated, drop_consecutive_repeats=True)
    )
    assert dropped.n_interactions == found.n_interactions - found.hygiene["consecutive_repeats"]

    core = prepare(custom(tmp_path / "c", real_data_home, ratings, k_core=20))
    expected = ratings  # the 20-core by a direct loop
    while True:
        kept = expected.filter((pl.len().over("userId") >= 20) & (pl.len().over("movieId") >= 20))
        if kept.height == expected.height:
            break
        expected = kept
    assert 0 < core.n_interactions == expected.height < ratings.height
    assert core.hygiene["k_core_dropped_interactions"] == ratings.height - expected.height
    items = pl.read_parquet(core.out / "items.parquet")
    assert set(items["source_id"].to_list()) == {str(m) for m in expected["movieId"].unique()}


def test_cli_summary_names_sampling_and_duplicates(real_data_home: Path, tmp_path: Path):
    result = CliRunner().invoke(
        app,
        [
            "prepare",
            "--dataset",
            "movie-small",
            "--data-home",
            str(real_data_home),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "valid 5,000/9,474" in result.output and "test 5,000/9,474" in result.output
    assert "pandas sample(n, random_state=42)" in result.output
    assert "0 exact duplicate interactions" in result.output


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--sampling", "pandas", "--sampling"),
        ("--split-ties", "late", "--split-ties"),
        ("--k-core", "-1", "--k-core"),
    ],
)
def test_bad_settings_fail_before_reading(tmp_path: Path, flag: str, value: str, expected: str):
    result = CliRunner().invoke(
        app, ["prepare", "--dataset", "movie-small", "--out", str(tmp_path / "o"), flag, value]
    )
    assert result.exit_code == 2 and expected in result.output
    assert not (tmp_path / "o").exists()
