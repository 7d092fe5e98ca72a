"""Score files and paired comparisons: time of each step at BIGRec's test size. Prints figures.

5,000 examples x 200 scored items against a 10,681-item catalogue (MovieLens-10M's size, with
duplicate groups), synthetic scores: writing the parquet, reading and validating it, ranking it
as a row (`baseline scores`, metrics and ranks.parquet included), the re-weighting weights, and a
paired comparison of two rows (1,000 resamples) and the table's best-row marking.

    uv run python packages/llmrec-eval/benchmarks/bench_scores.py [--examples 5000] [--top-n 200]
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
from llmrec_eval.compare import compare, find_leader
from llmrec_eval.config import ScoresConfig
from llmrec_eval.readers import read_example_ids
from llmrec_eval.report import load_metrics
from llmrec_eval.score_baseline import baseline_scores
from llmrec_eval.scores import read_scores


def _timed(label: str, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label:<58} {time.perf_counter() - start:7.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--top-n", type=int, default=200)
    parser.add_argument("--items", type=int, default=10681)
    args = parser.parse_args()
    print(machine_line())
    rng = np.random.default_rng(0)
    n, top, n_items = args.examples, args.top_n, args.items
    tmp = Path(tempfile.mkdtemp(prefix="bench-scores-"))
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
    targets = rng.integers(0, n_items, n)
    with open(tmp / "test.jsonl", "w") as f:
        for i in range(n):
            hist = rng.integers(0, n_items, 10).tolist()
            f.write(
                json.dumps(
                    {
                        "example_id": f"ex{i}",
                        "history_item_ids": hist,
                        "target_item_id": int(targets[i]),
                    }
                )
                + "\n"
            )

    def write(folder: Path, hit_rate: float) -> None:
        items = np.stack([rng.choice(n_items, size=top, replace=False) for _ in range(n)])
        hits = rng.random(n) < hit_rate
        pos = rng.integers(0, top, n)
        items[hits, pos[hits]] = targets[hits]
        rows = [list(dict.fromkeys(r.tolist())) for r in items]  # the target may repeat an item
        ids = np.repeat([f"ex{i}" for i in range(n)], [len(r) for r in rows])
        flat = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows])
        scores = -np.sort(-rng.random(flat.size))
        folder.mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"example_id": ids, "item_id": flat, "score": scores}).write_parquet(
            folder / "scores.parquet"
        )

    print(
        f"{n} examples x {top} scores, {n_items} items ({int((canonical != np.arange(n_items)).sum())} duplicates)"
    )
    _timed("write scores.parquet (polars)", lambda: write(tmp / "a", 0.4))
    write(tmp / "b", 0.3)
    ids = read_example_ids(tmp / "test.jsonl")
    scores = _timed("read + validate scores.parquet", lambda: read_scores(tmp / "a", ids, n_items))
    _timed("re-weighting weights W, all rows", lambda: scores.weights(n_items)(np.arange(n)))
    for name in ("a", "b"):
        _timed(
            f"baseline scores {name} (read, rank, metrics+CIs, write)",
            lambda name=name: baseline_scores(
                ScoresConfig(
                    scores=tmp / name,
                    examples=tmp / "test.jsonl",
                    items=tmp / "items.parquet",
                    out=tmp / f"eval-{name}",
                    exclude_history=True,
                )
            ),
        )
    cmp = _timed(
        "compare a b (paired bootstrap, 1000 resamples, 12 metrics)",
        lambda: compare(tmp / "eval-a", tmp / "eval-b"),
    )
    print(cmp.markdown())
    runs = [load_metrics(tmp / f"eval-{x}") for x in ("a", "b")]
    _timed(
        "table best-row marking (1 metric)",
        lambda: find_leader(runs, [tmp / "eval-a", tmp / "eval-b"]),
    )


if __name__ == "__main__":
    main()
