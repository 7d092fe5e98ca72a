"""Shared fixtures: a real MovieLens catalogue in the contract formats, and tiny hand-made ones."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load_builder():
    spec = importlib.util.spec_from_file_location(
        "llmrec_eval_bench_movielens", BENCH / "_movielens.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ml_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ml-latest-small's 300 most-rated movies and 60 users, with real MiniLM title embeddings."""
    out = tmp_path_factory.mktemp("ml300")
    return _load_builder().build(out, max_items=300, max_users=60, embed=True)
