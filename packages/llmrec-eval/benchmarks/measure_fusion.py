"""Measure the fusion methods on real data with predictions from a simple, LLM-free source.

The source imitates a 4-beam generator: for each example, the 4 items that most often followed the
user's last item in the training split (ties: popularity), then the next-most-popular items to fill
up, written as titles with LLM-like noise (a third verbatim, a third without the year, a third
lower-cased and truncated to the first words) so that most texts must be embedded. Each fusion
method then grounds the same files; the printed table is measured on the validation split.

    python benchmarks/measure_fusion.py DATA_DIR [--split valid] [--limit 5000]

DATA_DIR holds items.parquet, train/valid.jsonl and item_embeddings.*, e.g. from
`llmrec-data prepare --dataset movie-small --valid-sample 0 --test-sample 0 --out DATA_DIR` and
`llmrec-data embed --data DATA_DIR` (any folder in the docs/contracts.md formats will do).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import polars as pl
from llmrec_cli.machine import machine_line
from llmrec_eval import EvaluateConfig, evaluate, markdown_table


def noisy(title: str, rng: np.random.Generator) -> str:
    style = rng.integers(3)
    if style == 0:
        return f'"{title}"'
    if style == 1:
        return '"' + re.sub(r"\s*\(\d{4}\)\s*$", "", title) + '"'
    words = title.lower().split()
    return '"' + " ".join(words[: max(1, len(words) // 2 + 1)]) + '"'


def write_predictions(data: Path, split: str, out: Path, limit: int, seed: int = 0) -> Path:
    items = pl.read_parquet(data / "items.parquet")
    titles, pop = items["title"].to_list(), items["popularity"].to_numpy()
    follows: dict[int, Counter] = defaultdict(Counter)
    with open(data / "train.jsonl") as f:
        for line in f:
            ex = json.loads(line)
            if ex["history_item_ids"]:
                follows[ex["history_item_ids"][-1]][ex["target_item_id"]] += 1
    by_pop = np.argsort(-pop, kind="stable")
    rng = np.random.default_rng(seed)
    with open(data / f"{split}.jsonl") as f, open(out, "w") as w:
        for n, line in enumerate(f):
            if n >= limit:
                break
            ex = json.loads(line)
            last = ex["history_item_ids"][-1]
            ranked = sorted(follows[last].items(), key=lambda kv: (-kv[1], -pop[kv[0]]))
            picks = [i for i, _ in ranked if i not in ex["history_item_ids"]][:4]
            for i in by_pop:
                if len(picks) == 4:
                    break
                if i not in picks and i not in ex["history_item_ids"]:
                    picks.append(int(i))
            w.write(
                json.dumps(
                    {
                        "example_id": ex["example_id"],
                        "target_item_id": ex["target_item_id"],
                        "target_title": ex["target_title"],
                        "predictions": [noisy(titles[i], rng) for i in picks],
                        "scores": None,
                    }
                )
                + "\n"
            )
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--split", default="valid")
    ap.add_argument("--limit", type=int, default=5000)
    ap.add_argument("--out", type=Path, default=Path("fusion-runs"))
    args = ap.parse_args(argv)
    print(machine_line())
    args.out.mkdir(parents=True, exist_ok=True)
    preds = write_predictions(
        args.data, args.split, args.out / f"{args.split}.predictions.jsonl", args.limit
    )
    runs = []
    for fusion in ("first", "min", "interleave", "rrf"):
        started = time.perf_counter()
        result = evaluate(
            EvaluateConfig(
                predictions=preds,
                items=args.data / "items.parquet",
                embeddings=args.data / "item_embeddings.npy",
                out=args.out / fusion,
                name=fusion,
                fusion=fusion,
                bootstrap=1000,
            )
        )
        print(f"{fusion}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        runs.append(result)
    print(markdown_table(runs, ci=False))
    for r in runs:
        lo, hi = r["ci95"]["ndcg@10"]
        print(f"{r['name']}: NDCG@10 {r['metrics']['ndcg@10']:.4f} (95% CI {lo:.4f}-{hi:.4f})")


if __name__ == "__main__":
    main()
