"""Each class of bad input gives a DataError naming the file, the line (or row) and the field."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest
from llmrec_data import DataError, PrepareConfig, prepare


def movie_1m(
    tmp_path: Path,
    ratings: str,
    movies: bytes = b"1::Heat (1995)::Action\n2::Fargo (1996)::Crime\n",
):
    folder = tmp_path / "movielens" / "ml-1m"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text(ratings)
    (folder / "movies.dat").write_bytes(movies)
    return PrepareConfig(
        out=tmp_path / "out", dataset="movie-1m", data_home=tmp_path, download=False, min_history=1
    )


GOOD = "1::1::5::100\n1::2::5::200\n"


def error_of(config: PrepareConfig) -> DataError:
    with pytest.raises(DataError) as info:
        prepare(config)
    return info.value


def test_malformed_line_names_file_and_line(tmp_path: Path):
    err = error_of(movie_1m(tmp_path, GOOD + "1::2::5\n"))
    assert err.file.endswith("ratings.dat") and err.line == 3
    assert "expected 4 fields separated by '::'" in str(err)


def test_wrong_separator(tmp_path: Path):
    err = error_of(movie_1m(tmp_path, "1,1,5,100\n1,2,5,200\n"))
    assert err.line == 1 and "'::'" in err.message


def test_non_numeric_value_names_the_field(tmp_path: Path):
    err = error_of(movie_1m(tmp_path, GOOD + "1::2::five::300\n"))
    assert (err.line, err.field) == (3, "Rating")


def test_unknown_item_id(tmp_path: Path):
    err = error_of(movie_1m(tmp_path, GOOD + "2::7::4::300\n"))
    assert err.file.endswith("ratings.dat") and err.line == 3
    assert "'7' is not in the items file" in err.message


def test_missing_title(tmp_path: Path):
    err = error_of(movie_1m(tmp_path, GOOD, movies=b"1::Heat (1995)::Action\n2::  ::Crime\n"))
    assert err.file.endswith("movies.dat") and (err.line, err.field) == (2, "title")


def test_malformed_movies_line(tmp_path: Path):
    err = error_of(
        movie_1m(tmp_path, GOOD, movies=b"1::Heat (1995)::Action\n2|Fargo (1996)|Crime\n")
    )
    assert err.file.endswith("movies.dat") and err.line == 2


@pytest.mark.parametrize("which", ["ratings.dat", "movies.dat"])
def test_empty_file(tmp_path: Path, which: str):
    config = movie_1m(tmp_path, GOOD)
    (tmp_path / "movielens" / "ml-1m" / which).write_bytes(b"")
    err = error_of(config)
    assert err.file.endswith(which) and "empty" in err.message


def test_wrong_encoding_is_an_error_when_utf8_is_demanded(tmp_path: Path):
    movies = "1::Heat (1995)::Action\n2::Château, Le (1990)::Drama\n".encode("iso-8859-1")
    config = movie_1m(tmp_path, GOOD, movies=movies)
    config.encoding = "utf-8"
    err = error_of(config)
    assert err.file.endswith("movies.dat") and err.line == 2 and "UTF-8" in err.message
    config.encoding = "auto"  # the movie presets' default: falls back to ISO-8859-1
    assert prepare(config).n_items == 2


def custom(
    tmp_path: Path,
    interactions: str,
    items: str = "item_id,title\n1,Heat\n2,Fargo\n",
    suffix: str = ".csv",
):
    (tmp_path / f"inter{suffix}").write_text(interactions)
    (tmp_path / "items.csv").write_text(items)
    return PrepareConfig(
        out=tmp_path / "out",
        dataset="custom",
        interactions=tmp_path / f"inter{suffix}",
        items=tmp_path / "items.csv",
        min_history=1,
    )


def test_custom_csv_wrong_separator(tmp_path: Path):
    err = error_of(custom(tmp_path, "user_id;item_id;timestamp\nu;1;5\n"))
    assert err.line == 1 and err.field == "user_id" and "wrong separator" in err.message


def test_custom_csv_ragged_row(tmp_path: Path):
    err = error_of(custom(tmp_path, "user_id,item_id,timestamp\nu,1,5\nu,2,6,7\n"))
    assert err.line == 3


def test_custom_bad_timestamp_and_missing_user(tmp_path: Path):
    err = error_of(custom(tmp_path, "user_id,item_id,timestamp\nu,1,5\nu,2,yesterday\n"))
    assert (err.line, err.field) == (3, "timestamp")
    err = error_of(custom(tmp_path, "user_id,item_id,timestamp\nu,1,5\n,2,6\n"))
    assert (err.line, err.field) == (3, "user_id")


def test_custom_jsonl_malformed_line(tmp_path: Path):
    lines = '{"user_id": "u", "item_id": 1, "timestamp": 5}\n\n{"user_id": "u", "item_id": 2, "timestamp": 6\n'
    err = error_of(custom(tmp_path, lines, suffix=".jsonl"))
    assert err.file.endswith("inter.jsonl") and err.line == 3 and "malformed JSON" in err.message


def test_custom_parquet_rows_are_named(tmp_path: Path):
    pl.DataFrame({"user_id": ["u", "u"], "item_id": [1, 2], "timestamp": [5, 6]}).write_parquet(
        tmp_path / "i.parquet"
    )
    pl.DataFrame({"item_id": [1, 2], "title": ["Heat", None]}).write_parquet(
        tmp_path / "items.parquet"
    )
    config = PrepareConfig(
        out=tmp_path / "out",
        dataset="custom",
        interactions=tmp_path / "i.parquet",
        items=tmp_path / "items.parquet",
    )
    err = error_of(config)
    assert err.file.endswith("items.parquet") and (err.row, err.field) == (1, "title")


def test_custom_duplicate_item_rows(tmp_path: Path):
    err = error_of(
        custom(
            tmp_path,
            "user_id,item_id,timestamp\nu,1,5\nu,2,6\n",
            "item_id,title\n1,A1\n2,B2\n1,C3\n",
        )
    )
    assert err.file.endswith("items.csv") and err.line == 4


def test_custom_positions_need_leave_last_out(tmp_path: Path):
    config = custom(tmp_path, "user_id,item_id,position\nu,1,0\nu,2,1\nu,1,2\nu,2,3\n")
    config.position_column = "position"
    config.split = "time"
    err = error_of(config)
    assert "leave-last-out" in str(err)
    config.split = "auto"
    assert prepare(config).examples == {"train": 1, "valid": 1, "test": 1}


def test_malformed_amazon_json(tmp_path: Path):
    folder = tmp_path / "amazon-2018"
    folder.mkdir()
    with gzip.open(folder / "Video_Games_5.json.gz", "wt") as f:
        f.write(
            '{"reviewerID": "A", "asin": "G1", "overall": 5.0, "unixReviewTime": 1}\n{"reviewerID": "A", \n'
        )
    with gzip.open(folder / "meta_Video_Games.json.gz", "wt") as f:
        f.write('{"asin": "G1", "title": "Game"}\n')
    err = error_of(
        PrepareConfig(out=tmp_path / "out", dataset="game", data_home=tmp_path, download=False)
    )
    assert err.file.endswith("Video_Games_5.json.gz") and err.line == 2


def test_failed_run_leaves_no_partial_files(tmp_path: Path):
    config = movie_1m(tmp_path, GOOD + "oops\n")
    with pytest.raises(DataError):
        prepare(config)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_windows_newlines_are_fine(tmp_path: Path):
    config = movie_1m(
        tmp_path,
        GOOD.replace("\n", "\r\n"),
        movies=b"1::Heat (1995)::Action\r\n2::Fargo (1996)::Crime\r\n",
    )
    result = prepare(config)
    assert result.n_interactions == 2 and result.n_items == 2
