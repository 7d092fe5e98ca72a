"""Read the recommenders' inputs (contract items.parquet and examples JSONL), validated."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmrec_train.errors import ContractError


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
        raise FileNotFoundError(f"{path}: items file not found")
    try:
        table = pq.read_table(path, columns=["item_id"])
    except Exception as e:  # pyarrow raises several types for a bad file or a missing column
        raise ContractError(f"{path}: cannot read column 'item_id' of items.parquet: {e}") from e
    ids = np.asarray(table.column("item_id").to_numpy(zero_copy_only=False))
    bad = np.flatnonzero(ids != np.arange(len(ids)))
    if len(bad):
        row = int(bad[0])
        raise ContractError(
            f"{path}: row {row}, field 'item_id': expected {row} (ids 0..n_items-1 in row order), got {ids[row]}"
        )
    if len(ids) == 0:
        raise ContractError(f"{path}: the catalogue is empty")
    return Catalogue(path=path, n_items=len(ids))


def read_examples(path: Path, n_items: int, *, need_target: bool) -> Examples:
    """Every line needs `example_id` (unique string) and `history_item_ids` (catalogue ids);
    `target_item_id` too when `need_target` (train and valid)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: examples file not found")
    ids: list[str] = []
    histories: list[list[int]] = []
    targets: list[int] = []
    seen: set[str] = set()

    def item_ok(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n_items

    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ContractError(f"{where}: not valid JSON ({e.msg})") from e
            if not isinstance(row, dict):
                raise ContractError(f"{where}: expected a JSON object")
            eid = row.get("example_id")
            if not isinstance(eid, str) or not eid:
                raise ContractError(
                    f"{where}: field 'example_id': expected a non-empty string, got {eid!r}"
                )
            if eid in seen:
                raise ContractError(f"{where}: field 'example_id': {eid!r} appears twice")
            seen.add(eid)
            hist = row.get("history_item_ids")
            if not isinstance(hist, list) or not all(item_ok(v) for v in hist):
                raise ContractError(
                    f"{where}: field 'history_item_ids': expected a list of item ids in 0..{n_items - 1} "
                    f"(items.parquet), got {hist!r}"
                )
            target = row.get("target_item_id")
            if target is None and not need_target:
                target = -1
            elif not item_ok(target):
                raise ContractError(
                    f"{where}: field 'target_item_id': expected an item id in 0..{n_items - 1} (items.parquet), got {target!r}"
                )
            ids.append(eid)
            histories.append(hist)
            targets.append(target)
    if not ids:
        raise ContractError(f"{path}: no examples")
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
