"""Top-N selection, the model-selection metric, and the score files (docs/contracts.md,
"scores.parquet + scores.meta.json")."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from llmrec_train._io import atomic_write_json, default_file_mode, sha256_file
from llmrec_train.errors import ContractError
from llmrec_train.recommenders.data import Examples

SCHEMA_VERSION = 1
SCORES_FILE, META_FILE = "scores.parquet", "scores.meta.json"
# Scores come in blocks of examples: [block, n_items] float arrays, one block at a time.
ScoreFn = Callable[[list[list[int]]], np.ndarray]


def mask_history(scores: np.ndarray, histories: list[list[int]]) -> None:
    """In place: an example's own history items get -inf (never listed, never ranked)."""
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.fromiter((i for h in histories for i in h), dtype=np.int64, count=len(rows))
    scores[rows, cols] = -np.inf


def blocks(
    examples: Examples, score: ScoreFn, exclude_history: bool, size: int = 512
) -> Iterator[tuple[int, np.ndarray]]:
    """(start, scores) for consecutive blocks of examples, history masked if asked."""
    for start in range(0, len(examples), size):
        hist = examples.histories[start : start + size]
        s = np.asarray(score(hist), dtype=np.float64)
        if exclude_history:
            mask_history(s, hist)
        yield start, s


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each target: items scoring strictly better, plus equal ones with a smaller id.
    A masked (-inf) target ranks last."""
    t = scores[np.arange(len(targets)), targets][:, None]
    ids = np.arange(scores.shape[1])[None, :]
    rank = (scores > t).sum(1) + ((scores == t) & (ids < targets[:, None])).sum(1)
    return np.where(np.isfinite(t[:, 0]), rank, scores.shape[1])


def ndcg_hr_at(
    examples: Examples, score: ScoreFn, exclude_history: bool, k: int = 10
) -> dict[str, float]:
    """Valid NDCG@k and HR@k over items (model selection; llmrec-eval's duplicate-title groups are
    not applied here, a difference of a handful of items)."""
    ranks = np.concatenate(
        [
            target_ranks(s, examples.targets[start : start + len(s)])
            for start, s in blocks(examples, score, exclude_history)
        ]
    )
    hit = ranks < k
    return {f"ndcg@{k}": float(np.mean(hit / np.log2(ranks + 2))), f"hr@{k}": float(np.mean(hit))}


def top_n_rows(scores: np.ndarray, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """(item ids, scores) of the best `top_n` finite scores, by score descending then item id
    ascending, for one example's score vector."""
    finite = np.flatnonzero(np.isfinite(scores))
    s = scores[finite]
    if len(finite) > top_n:
        # The top_n-th best score; keep everything above it, and the smallest ids among the ties.
        kth = np.partition(s, len(s) - top_n)[len(s) - top_n]
        above = finite[s > kth]
        ties = finite[s == kth][: top_n - len(above)]  # finite is sorted: smallest ids first
        finite = np.concatenate([above, ties])
        s = scores[finite]
    order = np.lexsort((finite, -s))
    return finite[order], s[order]


def write_scores(
    folder: Path,
    examples: Examples,
    score: ScoreFn,
    *,
    items: Path,
    model: str,
    top_n: int,
    exclude_history: bool,
    config: dict[str, Any],
    seed: int,
    versions: dict[str, str],
    extra: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write `folder/scores.parquet`, then `folder/scores.meta.json`, each through a temporary file."""
    import time

    import pyarrow as pa
    import pyarrow.parquet as pq

    start_time = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(
        [("example_id", pa.string()), ("item_id", pa.int64()), ("score", pa.float64())]
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{SCORES_FILE}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            for start, block in blocks(examples, score, exclude_history):
                ids_col: list[str] = []
                item_parts, score_parts = [], []
                for row, vector in enumerate(block):
                    item_ids, values = top_n_rows(vector, top_n)
                    eid = examples.example_ids[start + row]
                    if len(item_ids) == 0:
                        raise ContractError(
                            f"example {eid!r}: no candidate item left to score",
                            file=examples.path,
                        )
                    ids_col += [eid] * len(item_ids)
                    item_parts.append(item_ids)
                    score_parts.append(values)
                writer.write_table(
                    pa.table(
                        {
                            "example_id": pa.array(ids_col, pa.string()),
                            "item_id": pa.array(np.concatenate(item_parts).astype(np.int64)),
                            "score": pa.array(np.concatenate(score_parts).astype(np.float64)),
                        },
                        schema=schema,
                    )
                )
                if progress is not None:
                    progress(len(block))
        os.chmod(tmp, default_file_mode())  # mkstemp makes it private (0600)
        os.replace(tmp, folder / SCORES_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    meta = {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "examples": str(examples.path),
        "examples_sha256": sha256_file(examples.path),
        "items": str(items),
        "items_sha256": sha256_file(items),
        "n_examples": len(examples),
        "top_n": top_n,
        "exclude_history": exclude_history,
        "config": config,
        "seed": seed,
        "versions": versions,
        "wall_time_s": round(time.perf_counter() - start_time, 2),
        **(extra or {}),
    }
    atomic_write_json(folder / META_FILE, meta)
    return folder / SCORES_FILE


def read_scores(folder: Path) -> tuple[dict[str, Any], Any]:
    """(meta, pyarrow table) of a score folder, checked against the contract (used by tests and
    anyone reading the files without llmrec-eval)."""
    import json

    import pyarrow.parquet as pq

    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    table = pq.read_table(folder / SCORES_FILE)
    for name, kind in (("example_id", "string"), ("item_id", "int64"), ("score", "double")):
        if name not in table.column_names or str(table.schema.field(name).type) != kind:
            raise ContractError(f"expected type {kind}", file=folder / SCORES_FILE, field=name)
    for key in ("schema_version", "model", "n_examples", "top_n", "items_sha256"):
        if key not in meta:
            raise ContractError("missing", file=folder / META_FILE, field=key)
    return meta, table
