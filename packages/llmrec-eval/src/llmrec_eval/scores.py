"""A ranking model's per-example item scores (`scores.parquet` + `scores.meta.json`, docs/contracts.md).

The reader validates the whole file before anything is ranked: every problem is an `InputError` that
names the file, the 0-based row, the field and what was expected. Items an example does not list
score below every listed item.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from llmrec_eval._io import atomic_write, write_json
from llmrec_eval.readers import InputError, _fail

SCORES_FILE = "scores.parquet"
META_FILE = "scores.meta.json"
SCHEMA_VERSION = 1


@dataclass
class Scores:
    """Scores of listed items per example, grouped in the order of `example_ids`.

    Inside an example: score descending, ties by item id. Example i's rows are
    `offsets[i]:offsets[i + 1]` of `item_ids` / `values`.
    """

    path: Path
    example_ids: list[str]
    offsets: np.ndarray  # int64 [n + 1]
    item_ids: np.ndarray  # int64 [rows]
    values: np.ndarray  # float64 [rows]
    meta: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.example_ids)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.offsets[i], self.offsets[i + 1]
        return self.item_ids[a:b], self.values[a:b]

    def select(self, example_ids: list[str]) -> Scores:
        """The same scores for these examples (each must be one of `self.example_ids`), in this order."""
        pos = {eid: i for i, eid in enumerate(self.example_ids)}
        missing = [e for e in example_ids if e not in pos]
        if missing:
            raise InputError(
                f"{self.path}: no scores for example_id {missing[0]!r} "
                f"({len(missing)} example(s) missing)"
            )
        rows = np.fromiter((pos[e] for e in example_ids), dtype=np.int64, count=len(example_ids))
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        lengths = ends - starts
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        take = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Scores(
            self.path, list(example_ids), offsets, self.item_ids[take], self.values[take], self.meta
        )

    def order_values(self) -> np.ndarray:
        """float32 [rows] ranking values, lower = better: each row's dense rank of its score within
        its example (equal scores, equal value; exact in float32 whatever the scores' scale)."""
        starts = self.offsets[:-1]  # every example has at least one row
        new_value = np.ones(self.values.size, dtype=bool)
        new_value[1:] = self.values[1:] != self.values[:-1]
        new_value[starts] = True
        dense = np.cumsum(new_value)
        return (dense - np.repeat(dense[starts], np.diff(self.offsets))).astype(np.float32)

    def ranking_rows(self, n_items: int) -> Any:
        """`rows(indices) -> float32 [B, n_items]` for `Ranker.run_rows`: listed items by their dense
        rank (0 = best), unlisted items after all of them (ties among those by item id)."""
        order = self.order_values()
        unlisted = np.float32(order.max() + 1 if order.size else 0)

        def rows(indices: np.ndarray) -> np.ndarray:
            out = np.full((len(indices), n_items), unlisted, dtype=np.float32)
            for r, i in enumerate(indices.tolist()):
                a, b = self.offsets[i], self.offsets[i + 1]
                out[r, self.item_ids[a:b]] = order[a:b]
            return out

        return rows

    def weights(self, n_items: int) -> Any:
        """`rows(indices) -> float32 [B, n_items]` weights W for BIGRec's re-weighting: each example's
        listed scores min-max normalised to [0, 1], unlisted items 0 (a constant row is all 0)."""

        def rows(indices: np.ndarray) -> np.ndarray:
            out = np.zeros((len(indices), n_items), dtype=np.float32)
            for r, i in enumerate(indices.tolist()):
                items, vals = self.row(i)
                lo, hi = float(vals.min()), float(vals.max())
                if hi > lo:
                    out[r, items] = (vals - lo) / (hi - lo)
            return out

        return rows


def scores_path(path: Path) -> Path:
    """`path` itself, or the `scores.parquet` inside it when it is a folder."""
    path = Path(path)
    return path / SCORES_FILE if path.is_dir() else path


def read_scores(
    path: Path,
    example_ids: list[str],
    n_items: int,
    *,
    examples_path: Path | None = None,
    items_sha256: str | None = None,
    partial: bool = False,
) -> Scores:
    """Read and validate a score file (a `scores.parquet` or the folder holding one).

    `example_ids`: every example of the examples file the scores answer (`examples_path`, named in
    errors), each of which must have at least one row, unless `partial`: then the file may score
    only some of them, and the result holds those it scores (in `example_ids` order).
    `items_sha256`: the catalogue's hash, checked against `scores.meta.json` when that file is
    present beside the parquet.
    """
    path = scores_path(path)
    where = f"the examples file {examples_path}" if examples_path else "the examples"
    if not path.is_file():
        raise InputError(f"{path}: score file not found (expected {SCORES_FILE} or its folder)")
    try:
        df = pl.read_parquet(path)
    except Exception as exc:
        raise InputError(f"{path}: not a readable parquet file ({exc})") from exc
    for col in ("example_id", "item_id", "score"):
        if col not in df.columns:
            raise _fail(path, f"missing column '{col}' (columns: {df.columns})")
    if df.height == 0:
        raise _fail(path, "no rows (expected scores for every example)")
    expected = {
        "example_id": ("strings", lambda t: t == pl.String),
        "item_id": ("integers (int64)", lambda t: t.is_integer()),
        "score": ("floats (float64)", lambda t: t.is_float()),
    }
    for col, (what, ok) in expected.items():
        dtype = df[col].dtype
        if not ok(dtype):
            raise _fail(path, f"expected {what}, got {dtype}", fld=col)
        nulls = df[col].is_null().arg_true()
        if len(nulls):
            raise _fail(path, f"expected {what}, got null", row=int(nulls[0]), fld=col)

    row_of = {eid: i for i, eid in enumerate(example_ids)}
    rows = df["example_id"].replace_strict(row_of, default=-1, return_dtype=pl.Int64).to_numpy()
    bad = np.flatnonzero(rows < 0)
    if bad.size:
        eid = df["example_id"][int(bad[0])]
        raise _fail(
            path, f"example_id {eid!r} is not in {where}", row=int(bad[0]), fld="example_id"
        )
    items = df["item_id"].cast(pl.Int64).to_numpy()
    bad = np.flatnonzero((items < 0) | (items >= n_items))
    if bad.size:
        raise _fail(
            path,
            f"expected an item id in 0..{n_items - 1}, got {items[bad[0]]}",
            row=int(bad[0]),
            fld="item_id",
        )
    values = df["score"].cast(pl.Float64).to_numpy()
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise _fail(
            path, f"expected a finite number, got {values[bad[0]]}", row=int(bad[0]), fld="score"
        )

    order = np.lexsort((items, -values, rows))  # by example, score descending, then item id
    rows_s, items_s = rows[order], items[order]
    same = (rows_s[1:] == rows_s[:-1]) & (items_s[1:] == items_s[:-1])
    if same.any():
        # among the duplicated pairs, the one whose second occurrence comes first in the file
        dup = int(np.min(np.maximum(order[1:][same], order[:-1][same])))
        first = int(np.flatnonzero((rows == rows[dup]) & (items == items[dup]))[0])
        raise _fail(
            path,
            f"duplicate (example_id {example_ids[rows[dup]]!r}, item_id {items[dup]}), "
            f"first at row {first}",
            row=dup,
            fld="item_id",
        )
    counts = np.bincount(rows, minlength=len(example_ids))
    missing = np.flatnonzero(counts == 0)
    if partial:
        example_ids = [e for e, c in zip(example_ids, counts, strict=True) if c]
        counts = counts[counts > 0]
    elif missing.size:
        raise _fail(
            path,
            f"no scores for example_id {example_ids[missing[0]]!r} of {where} "
            f"({missing.size} example(s) missing; every example needs at least one row)",
            fld="example_id",
        )
    meta = _read_meta(path, counts, items_sha256)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Scores(path, list(example_ids), offsets, items_s, values[order], meta)


def _read_meta(path: Path, counts: np.ndarray, items_sha256: str | None) -> dict[str, Any] | None:
    """`scores.meta.json` beside the parquet, if present: its contract fields are checked."""
    meta_path = path.with_name(META_FILE)
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _fail(meta_path, f"not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise _fail(meta_path, "expected a JSON object")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise _fail(
            meta_path,
            f"expected {SCHEMA_VERSION}, got {meta.get('schema_version')!r}",
            fld="schema_version",
        )
    for key, kind in (("model", str), ("n_examples", int), ("top_n", int)):
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise _fail(meta_path, f"expected {kind.__name__}, got {meta.get(key)!r}", fld=key)
    if meta["n_examples"] != counts.size:
        raise _fail(
            meta_path,
            f"{meta['n_examples']} examples, but {path} scores {counts.size}",
            fld="n_examples",
        )
    over = np.flatnonzero(counts > meta["top_n"])
    if over.size:
        raise _fail(
            path,
            f"{counts[over[0]]} rows for one example, more than top_n {meta['top_n']} "
            f"of {meta_path.name} ({over.size} example(s))",
            fld="example_id",
        )
    recorded = meta.get("items_sha256")
    if not isinstance(recorded, str):
        raise _fail(
            meta_path, f"expected the sha256 of items.parquet, got {recorded!r}", fld="items_sha256"
        )
    if items_sha256 and recorded != items_sha256:
        raise _fail(
            meta_path,
            f"scores computed for another items.parquet (sha256 {recorded[:12]}..., "
            f"the catalogue has {items_sha256[:12]}...)",
            fld="items_sha256",
        )
    return meta


def write_scores(
    folder: Path,
    example_ids: Sequence[str],
    top: np.ndarray,
    *,
    model: str,
    items_sha256: str | None,
    exclude_history: bool,
    values: np.ndarray | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a ranking as a score file: `folder/scores.parquet`, then `folder/scores.meta.json`.

    `top[i]`: example i's ranked item ids, best first (-1: an empty slot, skipped). The score of
    each listed item is `values[i, j]` when given (higher = better, in ranking order), else its
    negated 0-based position (0, -1, -2, ...): a grounded or fused ranking has no calibrated score,
    only an order. Every example must list at least one item (the contract's rule). Each file is
    written to a temporary file and renamed into place.
    """
    folder = Path(folder)
    top = np.asarray(top, dtype=np.int64)
    listed = top >= 0
    counts = listed.sum(axis=1)
    if (counts == 0).any():
        eid = example_ids[int(np.argmax(counts == 0))]
        raise InputError(
            f"{folder}: example_id {eid!r} has no ranked item to write "
            "(the scores contract needs at least one row per example)"
        )
    position = np.broadcast_to(np.arange(top.shape[1], dtype=np.float64), top.shape)
    scores = -position if values is None else np.asarray(values, dtype=np.float64)
    frame = pl.DataFrame(
        {
            "example_id": pl.Series(np.repeat(np.asarray(example_ids, dtype=object), counts)),
            "item_id": pl.Series(top[listed], dtype=pl.Int64),
            "score": pl.Series(scores[listed], dtype=pl.Float64),
        },
        schema={"example_id": pl.String, "item_id": pl.Int64, "score": pl.Float64},
    )
    meta = {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "n_examples": len(example_ids),
        "top_n": int(top.shape[1]),
        "items_sha256": items_sha256,
        "exclude_history": exclude_history,
        "score": "negated 0-based position in the ranking" if values is None else "value",
        **(extra or {}),
    }
    atomic_write(folder / SCORES_FILE, lambda tmp: frame.write_parquet(tmp))
    write_json(folder / META_FILE, meta)
    return folder / SCORES_FILE
