"""`fuse` at the decision profile's size: time of the weight search and of the whole command.

1,000 validation and 2,000 test examples, 5 sources x 200 scored items each, a 10,681-item catalogue
(MovieLens-10M's size, with duplicate groups), synthetic scores (each source lists the target with
its own hit rate), history excluded. Prints the time of one search evaluation, of the search
(1,001 simplex-grid points for 5 sources) and of `fuse` end to end with two ablation rows.

    uv run python packages/llmrec-eval/benchmarks/bench_fuse.py [--valid 1000] [--test 2000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from llmrec_cli.machine import machine_line
from llmrec_eval.config import FuseConfig
from llmrec_eval.fuse import _candidates, _read_split, fuse, parse_sources
from llmrec_eval.readers import read_items


def _timed(label: str, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label:<62} {time.perf_counter() - start:7.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--valid", type=int, default=1000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--top-n", type=int, default=200)
    parser.add_argument("--items", type=int, default=10681)
    args = parser.parse_args()
    print(machine_line())
    rng = np.random.default_rng(0)
    top, n_items = args.top_n, args.items
    tmp = Path(tempfile.mkdtemp(prefix="bench-fuse-"))
    dup = rng.choice(np.arange(1, n_items), size=n_items // 50, replace=False)
    canonical = np.where(
        np.isin(np.arange(n_items), dup), np.arange(n_items) - 1, np.arange(n_items)
    )
    while (canonical[canonical] != canonical).any():
        canonical = canonical[canonical]
    pl.DataFrame(
        {
            "item_id": pl.Series(range(n_items), dtype=pl.Int64),
            "title": [f"Item {i}" for i in range(n_items)],
            "canonical_item_id": pl.Series(canonical, dtype=pl.Int64),
            "popularity": pl.Series(rng.integers(0, 1000, n_items), dtype=pl.Int64),
        }
    ).write_parquet(tmp / "items.parquet")
    sources = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1, "e": 0.05}  # hit rates
    for split, n in (("valid", args.valid), ("test", args.test)):
        targets = rng.integers(0, n_items, n)
        with open(tmp / f"{split}.jsonl", "w") as f:
            for i in range(n):
                hist = rng.integers(0, n_items, 10).tolist()
                row = {"example_id": f"{split}-{i}", "history_item_ids": hist}
                f.write(json.dumps({**row, "target_item_id": int(targets[i])}) + "\n")
        for name, hit_rate in sources.items():
            items = np.stack([rng.choice(n_items, size=top, replace=False) for _ in range(n)])
            hits = rng.random(n) < hit_rate
            pos = rng.integers(0, top, n)
            items[hits, pos[hits]] = targets[hits]
            rows = [list(dict.fromkeys(r.tolist())) for r in items]
            ids = np.repeat([f"{split}-{i}" for i in range(n)], [len(r) for r in rows])
            flat = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows])
            folder = tmp / name / split
            folder.mkdir(parents=True, exist_ok=True)
            pl.DataFrame(
                {"example_id": ids, "item_id": flat, "score": rng.normal(size=flat.size)}
            ).write_parquet(folder / "scores.parquet")
    config = FuseConfig(
        source=[f"{name}={tmp / name}" for name in sources],
        examples=tmp / "test.jsonl",
        valid_examples=tmp / "valid.jsonl",
        items=tmp / "items.parquet",
        exclude_history=True,
        out=tmp / "eval" / "fusion",
        ablate=["ab=a,b", "e=e"],
    )
    print(
        f"{args.valid} valid + {args.test} test examples, {len(sources)} sources x {top} items, "
        f"{n_items} items"
    )
    catalogue = read_items(config.items)
    valid = _timed(
        "read + validate the 5 valid score files",
        lambda: _read_split(
            parse_sources(config.source), "valid", config.valid_examples, None, catalogue
        ),
    )
    cands = _timed(
        "fusion table (union of listed items, gains)",
        lambda: _candidates(valid, list(range(5)), config, [top] * 5, catalogue),
    )
    w = np.full(5, 0.2)
    _timed("one search evaluation (exact target ranks)", lambda: cands.ranks(w))
    start = time.perf_counter()
    for _ in range(20):
        cands.ranks(w)
    per = (time.perf_counter() - start) / 20
    print(f"{'  mean of 20 evaluations':<62} {per:7.3f} s -> 1,001 grid points ~{per * 1001:.0f} s")
    results = _timed(
        "fuse end to end: full row + 2 ablations (search, rank, write)", lambda: fuse(config)
    )
    for r in results:
        print(
            f"  {r['name']}: weights {r['fusion']['weights']}, {r['fusion']['evaluations']} evaluations"
        )


if __name__ == "__main__":
    main()
