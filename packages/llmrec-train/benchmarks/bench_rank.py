"""The LLM as a ranker on this machine: examples/s when scoring 20, 50 and 100 candidate titles per
example with SmolLM2-135M-Instruct (target: >= 1 example/s at 20 candidates).

Real movie-small prompts: the first --n examples of the test split of `llmrec-data prepare --dataset
movie-small` (prepared into a temporary folder through that CLI, or `--data DIR`). Candidates: the
top items of the item-to-item transition model (`llmrec-train recommend --model transition`, seconds
on the full train split), so titles have their real lengths. Each size is one `llmrec-train rank` run;
the figure is the scoring loop (model loading excluded), as recorded in its manifest.

    flock /tmp/llmrec-torch.lock uv run python packages/llmrec-train/benchmarks/bench_rank.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from llmrec_cli.machine import cpu_model, machine_line


def _prepare(folder: Path, dataset: str) -> Path:
    cli = shutil.which("llmrec-data")
    if cli is None:
        raise SystemExit(
            "llmrec-data is not installed: pass --data DIR (a prepared dataset folder)"
        )
    subprocess.run(
        [cli, "prepare", "--dataset", dataset, "--out", str(folder)],
        check=True,
        capture_output=True,
    )
    return folder


def _subset(data: Path, folder: Path, n: int) -> Path:
    """The first n test examples as both valid and test (recommend needs a valid file), full train."""
    folder.mkdir(parents=True)
    for name in ("items.parquet", "train.jsonl"):
        (folder / name).symlink_to((data / name).resolve())
    with (data / "test.jsonl").open(encoding="utf-8") as f:
        head = "".join(itertools.islice(f, n))
    for name in ("valid.jsonl", "test.jsonl"):
        (folder / name).write_text(head, encoding="utf-8")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None, help="a prepared dataset folder")
    parser.add_argument(
        "--dataset", default="movie-small", help="dataset to prepare when --data is not given"
    )
    parser.add_argument("--n", type=int, default=30, help="test examples ranked per size")
    parser.add_argument("--sizes", default="20,50,100", help="candidates per example")
    parser.add_argument("--batch-size", type=int, default=32, help="candidates per forward pass")
    parser.add_argument("--adapter", type=Path, default=None, help="a LoRA adapter (LoRA on)")
    args = parser.parse_args()
    print(machine_line())
    sizes = [int(s) for s in args.sizes.split(",")]

    import pyarrow.parquet as pq
    import torch
    from llmrec_train.config import RankConfig
    from llmrec_train.rank import rank
    from llmrec_train.recommenders import RecommendConfig, recommend

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or _prepare(Path(tmp) / "data", args.dataset)
        sub = _subset(data, Path(tmp) / "subset", args.n)
        recommend(
            RecommendConfig(
                model="transition",
                train=sub / "train.jsonl",
                valid=sub / "valid.jsonl",
                test=sub / "test.jsonl",
                items=sub / "items.parquet",
                out=Path(tmp) / "transition",
                top_n=max(sizes),
            )
        )
        candidates = Path(tmp) / "transition" / "test"
        results = []
        for size in sizes:
            out = Path(tmp) / f"rank-{size}"
            rank(
                RankConfig(
                    examples=sub / "test.jsonl",
                    items=sub / "items.parquet",
                    candidates=[f"{candidates}:{size}"],
                    out=out,
                    adapter=args.adapter,
                    batch_size=args.batch_size,
                )
            )
            manifest = json.loads((out / "manifest.json").read_text())
            tokens = pq.read_table(out / "likelihoods.parquet", columns=["n_tokens"])
            results.append((size, manifest, sum(tokens.column(0).to_pylist()) / tokens.num_rows))

        llm = results[0][1]["llm"]
        print(
            f"\n{args.data or args.dataset}: the first {args.n} test examples; CPU {cpu_model()}, "
            f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}, dtype {llm['dtype']}, "
            f"LoRA {'on' if llm['lora'] else 'off'}, candidate batch {args.batch_size}\n"
        )
        print(
            "| candidates per example | examples | candidates scored | mean title tokens | seconds | examples/s | candidates/s |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for size, m, mean_tokens in results:
            seconds = m["scoring_s"]
            print(
                f"| {size} | {m['n_examples']} | {m['n_candidates']:,} | {mean_tokens:.1f} | "
                f"{seconds:.1f} | {m['n_examples'] / seconds:.2f} | {m['n_candidates'] / seconds:.1f} |",
                flush=True,
            )
        at_20 = [m["n_examples"] / m["scoring_s"] for size, m, _ in results if size == 20]
        if at_20:
            verdict = "met" if at_20[0] >= 1 else "NOT met"
            print(f"\ntarget: >= 1 example/s at 20 candidates -> {verdict} ({at_20[0]:.2f}/s)")


if __name__ == "__main__":
    main()
