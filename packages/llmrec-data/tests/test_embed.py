"""`embed` on a handful of real titles with the bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from llmrec_data import DataError, EmbedConfig, embed_items

TITLES = ["Heat (1995)", "Casino (1995)", "Fargo (1996)", "Toy Story (1995)", "Super Mario Galaxy"]


def write_items(folder: Path, titles: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(titles)
    pl.DataFrame(
        {
            "item_id": list(range(n)),
            "source_id": [str(i + 1) for i in range(n)],
            "title": titles,
            "canonical_item_id": list(range(n)),
            "popularity": [1] * n,
        }
    ).write_parquet(folder / "items.parquet")
    return folder


@pytest.mark.torch
def test_embed_writes_contract_files(tmp_path: Path):
    data = write_items(tmp_path, TITLES)
    meta = embed_items(EmbedConfig(data=data, batch_size=2))
    vectors = np.load(data / "item_embeddings.npy")
    assert vectors.dtype == np.float32 and vectors.shape == (5, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    written = json.loads((data / "item_embeddings.json").read_text())
    assert written == meta
    assert written["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert (written["dim"], written["n_items"], written["normalized"], written["text_field"]) == (
        384,
        5,
        True,
        "title",
    )
    assert (
        written["items_sha256"] == hashlib.sha256((data / "items.parquet").read_bytes()).hexdigest()
    )
    # a real model: the two 1995 crime films are closer to each other than to a video game
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 4]


def test_embed_checks_items(tmp_path: Path):
    with pytest.raises(DataError, match="file not found"):
        embed_items(EmbedConfig(data=tmp_path))
    data = write_items(tmp_path, ["Heat (1995)", " "])
    with pytest.raises(DataError) as info:
        embed_items(EmbedConfig(data=data))
    assert (info.value.row, info.value.field) == (1, "title")
