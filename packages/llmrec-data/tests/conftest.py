"""Shared fixtures: the real data home (CI always provides it) and prepared real datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from llmrec_data import PrepareConfig, PrepareResult, prepare


@pytest.fixture(scope="session")
def real_data_home() -> Path:
    home = os.environ.get("LLMREC_DATA_HOME")
    assert home, "LLMREC_DATA_HOME must point at the shared datasets folder (CI sets it)"
    path = Path(home)
    assert (path / "movielens" / "ml-latest-small" / "ratings.csv").is_file(), (
        f"no ml-latest-small under {path}"
    )
    assert (path / "amazon-video-games" / "interactions.csv").is_file(), (
        f"no amazon-video-games under {path}"
    )
    return path


@pytest.fixture(scope="session")
def movie_small_full(
    real_data_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> PrepareResult:
    """movie-small with every valid/test example written (no sampling), for exact checks."""
    out = tmp_path_factory.mktemp("movie-small-full")
    return prepare(
        PrepareConfig(
            out=out, dataset="movie-small", data_home=real_data_home, valid_sample=0, test_sample=0
        )
    )


@pytest.fixture(scope="session")
def game_small(real_data_home: Path, tmp_path_factory: pytest.TempPathFactory) -> PrepareResult:
    out = tmp_path_factory.mktemp("game-small")
    return prepare(
        PrepareConfig(
            out=out, dataset="game-small", data_home=real_data_home, valid_sample=0, test_sample=0
        )
    )
