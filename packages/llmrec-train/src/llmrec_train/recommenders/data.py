"""Read the recommenders' inputs (contract items.parquet and examples JSONL), validated."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from llmrec_train.errors import ContractError, UsageError


@dataclass
class Catalogue:
    path: Path
    n_items: int


@dataclass
class Examples:
    """One examples file: ids, histories (oldest first) and targets (-1 where absent)."""

    path: Path
    example_ids: list[str]
    histories: list[list[int]]
    targets: np.ndarray  # int64, -1 = no target

    def __len__(self) -> int:
        return len(self.example_ids)


def read_catalogue(path: Path) -> Catalogue:
    import pyarrow.parquet as pq

    if not path.is_file():
        raise UsageError("items file not found", file=path)
    try:
        table = pq.read_table(path, columns=["item_id"])
    except Exception as e:  # pyarrow raises several types for a bad file or a missing column
        raise ContractError(
            f"cannot read the column of items.parquet: {e}", file=path, field="item_id"
        ) from e
    ids = np.asarray(table.column("item_id").to_numpy(zero_copy_only=False))
    bad = np.flatnonzero(ids != np.arange(len(ids)))
    if len(bad):
        row = int(bad[0])
        raise ContractError(
            f"expected {row} (ids 0..n_items-1 in row order), got {ids[row]}",
            file=path,
            row=row,
            field="item_id",
        )
    if len(ids) == 0:
        raise ContractError("the catalogue is empty; expected items", file=path)
    return Catalogue(path=path, n_items=len(ids))


def read_examples(path: Path, n_items: int, *, need_target: bool) -> Examples:
    """Every line needs `example_id` (unique string) and `history_item_ids` (catalogue ids);
    `target_item_id` too when `need_target` (train and valid)."""
    if not path.is_file():
        raise UsageError("examples file not found", file=path)
    ids: list[str] = []
    histories: list[list[int]] = []
    targets: list[int] = []
    seen: set[str] = set()

    def item_ok(v: object) -> TypeGuard[int]:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n_items

    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where: dict[str, Any] = {"file": path, "line": line_no}
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ContractError(f"not valid JSON ({e.msg})", **where) from e
            if not isinstance(row, dict):
                raise ContractError("expected a JSON object", **where)
            eid = row.get("example_id")
            if not isinstance(eid, str) or not eid:
                raise ContractError(
                    f"expected a non-empty string, got {eid!r}", **where, field="example_id"
                )
            if eid in seen:
                raise ContractError(
                    f"{eid!r} appears twice; expected unique ids", **where, field="example_id"
                )
            seen.add(eid)
            hist = row.get("history_item_ids")
            if not isinstance(hist, list) or not all(item_ok(v) for v in hist):
                raise ContractError(
                    f"expected a list of item ids in 0..{n_items - 1} (items.parquet), got {hist!r}",
                    **where,
                    field="history_item_ids",
                )
            target = row.get("target_item_id")
            if target is None and not need_target:
                target = -1
            elif not item_ok(target):
                raise ContractError(
                    f"expected an item id in 0..{n_items - 1} (items.parquet), got {target!r}",
                    **where,
                    field="target_item_id",
                )
            ids.append(eid)
            histories.append(hist)
            targets.append(target)
    if not ids:
        raise ContractError("no examples; expected at least one line", file=path)
    return Examples(
        path=path, example_ids=ids, histories=histories, targets=np.asarray(targets, np.int64)
    )


def padded_histories(histories: list[list[int]], max_len: int, pad: int) -> np.ndarray:
    """[n, max_len] int64: the last `max_len` items of each history, left-padded with `pad`."""
    out = np.full((len(histories), max_len), pad, dtype=np.int64)
    for row, hist in enumerate(histories):
        tail = hist[-max_len:]
        if tail:
            out[row, max_len - len(tail) :] = tail
    return out
