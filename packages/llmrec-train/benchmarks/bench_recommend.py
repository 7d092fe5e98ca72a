"""Recommenders on this machine: training time on movie-small's full train split, and the time to
write top-200 scores for 5,000 test examples (targets: SASRec trains in <= 5 min, scores are written
in <= 30 s). Prints a Markdown table with the valid metrics, so a speed-up that loses accuracy shows.

The data is `llmrec-data prepare --dataset movie-small` (5,000 valid and 5,000 test examples),
prepared into a temporary folder through that CLI, or `--data DIR` for a prepared folder.

    flock /tmp/llmrec-torch.lock uv run python packages/llmrec-train/benchmarks/bench_recommend.py
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a prepared dataset folder (default: prepare movie-small)",
    )
    parser.add_argument(
        "--dataset", default="movie-small", help="dataset to prepare when --data is not given"
    )
    parser.add_argument(
        "--models", default="transition,sasrec", help="comma-separated models to run"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument(
        "--max-epochs", type=int, default=30, help="SASRec: at most this many epochs"
    )
    args = parser.parse_args()
    print(machine_line())

    from llmrec_train.recommenders import RecommendConfig, recommend

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or _prepare(Path(tmp) / "data", args.dataset)
        counts = {
            s: sum(1 for _ in (data / f"{s}.jsonl").open()) for s in ("train", "valid", "test")
        }
        print(
            f"{args.data or args.dataset}: {counts['train']:,} train, {counts['valid']:,} valid, "
            f"{counts['test']:,} test examples; CPU {cpu_model()}, torch threads {args.threads}\n"
        )
        print(
            "| model | fit (s) | epochs (best) | s/epoch | write 5,000 test scores (s) | valid NDCG@10 | valid HR@10 |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        verdicts = []  # printed after the table
        for model in args.models.split(","):
            out = Path(tmp) / model
            start = time.perf_counter()
            recommend(
                RecommendConfig(
                    model=model,
                    train=data / "train.jsonl",
                    valid=data / "valid.jsonl",
                    test=data / "test.jsonl",
                    items=data / "items.parquet",
                    out=out,
                    threads=args.threads,
                    max_epochs=args.max_epochs,
                )
            )
            total = time.perf_counter() - start
            m = json.loads((out / "manifest.json").read_text())
            t, sel = m["timings_s"], m["selection"]
            if model == "sasrec":
                epochs = sel["epochs"]
                per_epoch = sum(e["seconds"] for e in epochs) / len(epochs)
                ep = f"{len(epochs)} ({sel['selected']['epoch']})"
                per = f"{per_epoch:.1f}"
            else:
                ep, per = f"grid of {len(sel['grid'])}", "-"
            v = m["valid_metrics"]
            print(
                f"| {model} | {t['fit']:.1f} | {ep} | {per} | {t['write_test']:.1f} | {v['ndcg@10']:.4f} | {v['hr@10']:.4f} |",
                flush=True,
            )
            print(f"<!-- {model}: whole command {total:.1f} s -->")
            met = t["write_test"] <= 30 and (model != "sasrec" or t["fit"] <= 300)
            what = "fit <= 5 min and " if model == "sasrec" else ""
            verdicts.append(
                f"target ({model}): {what}test scores written <= 30 s -> "
                f"{'met' if met else 'NOT met'}"
            )
        print("\n" + "\n".join(verdicts))


if __name__ == "__main__":
    main()
