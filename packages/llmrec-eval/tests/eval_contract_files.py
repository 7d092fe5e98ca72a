"""Write small catalogues and JSONL files in the contract formats (shared by the eval tests).

A plain module, not conftest: test modules import it by name (`pythonpath` in the pytest config).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl


def write_catalogue(
    folder: Path,
    titles: list[str],
    vectors: np.ndarray,
    *,
    canonical: list[int] | None = None,
    popularity: list[int] | None = None,
    model: str = "sentence-transformers/all-MiniLM-L6-v2",
) -> tuple[Path, Path]:
    """items.parquet + item_embeddings.npy/.json in the contract formats."""
    import hashlib

    n = len(titles)
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "item_id": pl.Series(range(n), dtype=pl.Int64),
            "source_id": [str(i) for i in range(n)],
            "title": titles,
            "canonical_item_id": pl.Series(canonical or list(range(n)), dtype=pl.Int64),
            "popularity": pl.Series(popularity or [1] * n, dtype=pl.Int64),
        }
    ).write_parquet(folder / "items.parquet")
    np.save(folder / "item_embeddings.npy", np.asarray(vectors, dtype=np.float32))
    meta = {
        "model": model,
        "dim": int(vectors.shape[1]),
        "normalized": False,
        "n_items": n,
        "text_field": "title",
        "items_sha256": hashlib.sha256((folder / "items.parquet").read_bytes()).hexdigest(),
    }
    (folder / "item_embeddings.json").write_text(json.dumps(meta))
    return folder / "items.parquet", folder / "item_embeddings.npy"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
