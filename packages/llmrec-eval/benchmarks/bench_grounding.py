"""Benchmark grounding + metrics (not a test: prints time and peak memory).

Case 1: 5,000 examples x 4 generated texts against 10,681 items (MovieLens-10M size): the real
ml-latest-small titles, padded with synthetic titles, embedded with all-MiniLM-L6-v2 (cached in
--cache). Query vectors are given (a catalogue title's vector plus noise, or the exact title), so
the timing is ranking + metrics only; embedding throughput (texts/s) is measured separately.
Case 2: 100,000 predictions against 1,000,000 items, 384-dim synthetic unit vectors (memory-mapped
from a temporary .npy, as real embeddings are read). `--quick` shrinks case 2 to 10,000 x 100,000.

    uv run python packages/llmrec-eval/benchmarks/bench_grounding.py [--quick] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import polars as pl
from llmrec_eval import ItemSpace, QuerySet, Ranker, bootstrap_ci, coverage, metrics_from_ranks
from llmrec_eval._embed import MINILM_ID, embed_texts

KS = (1, 3, 5, 10, 20, 50)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Measure:
    """Wall time and tracemalloc peak (numpy allocations included) of a block."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> Measure:
        tracemalloc.start()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(
            f"  {self.label:<44} {self.seconds:8.2f} s   peak {self.peak_mib:8.1f} MiB", flush=True
        )


def catalogue_titles(n_items: int) -> list[str]:
    home = os.environ.get("LLMREC_DATA_HOME")
    if not home:
        sys.exit("set LLMREC_DATA_HOME to the shared datasets folder")
    real = pl.read_csv(Path(home) / "movielens/ml-latest-small/movies.csv")["title"].to_list()
    rng = np.random.default_rng(0)
    words = sorted({w for t in real for w in t.split()[:-1] if w.isalpha()})
    synthetic = [
        " ".join(rng.choice(words, size=rng.integers(1, 4))) + f" ({rng.integers(1930, 2009)})"
        for _ in range(n_items - len(real))
    ]
    return (real + synthetic)[:n_items]


def case1(cache: Path, fusions: list[str]) -> None:
    n_items, n_examples, n_texts = 10_681, 5_000, 4
    print(
        f"case 1: {n_examples:,} examples x {n_texts} texts vs {n_items:,} items (MiniLM, 384-dim)"
    )
    titles = catalogue_titles(n_items)
    emb_file = cache / f"bench_items_{n_items}.npy"
    if emb_file.is_file():
        items = np.load(emb_file)
    else:
        t0 = time.perf_counter()
        items = embed_texts(titles, MINILM_ID, normalize=True, progress=False)
        dt = time.perf_counter() - t0
        print(
            f"  embedded {n_items:,} catalogue titles: {n_items / dt:,.0f} texts/s (incl. model load)"
        )
        cache.mkdir(parents=True, exist_ok=True)
        np.save(emb_file, items)
    rng = np.random.default_rng(1)
    targets = rng.integers(0, n_items, size=n_examples)
    # texts: a third exact titles (pinned to their item), the rest near a related item
    base = np.where(
        rng.random((n_examples, n_texts)) < 0.3,
        targets[:, None],
        rng.integers(0, n_items, (n_examples, n_texts)),
    )
    exact = rng.random((n_examples, n_texts)) < 0.3
    vectors = items[base.ravel()] + rng.normal(scale=0.05, size=(base.size, items.shape[1])).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = QuerySet(
        vectors.astype(np.float32),
        np.arange(base.size).reshape(n_examples, n_texts),
        np.where(exact.ravel(), base.ravel(), -1),
    )
    canonical = np.arange(n_items)
    canonical[-200::2] = canonical[-199::2]  # 100 duplicate pairs, as real catalogues have
    canonical[-199::2] = canonical[-199::2]
    space = ItemSpace(items, canonical)
    for fusion in fusions:
        ranker = Ranker(space, fusion=fusion)
        with Measure(f"rank ({fusion})") as m_rank:
            ranks, top = ranker.run(queries, canonical[targets], top_n=50)
        with Measure("metrics + 1000 bootstrap + coverage") as m_met:
            metrics_from_ranks(ranks[0], KS)
            bootstrap_ci(ranks[0], KS, n_resamples=1000, seed=0)
            coverage(top, KS, n_items)
        print(
            f"  => ranking + metrics ({fusion}): {m_rank.seconds + m_met.seconds:.2f} s (target < 2 s)"
        )
    # embedding throughput on generated-looking strings (distinct, not catalogue titles)
    sample = [t.lower().rsplit(" (", 1)[0] + f" part {i % 7}" for i, t in enumerate(titles[:2000])]
    embed_texts(sample[:8], MINILM_ID, normalize=True)  # load the model outside the timing
    t0 = time.perf_counter()
    embed_texts(sample, MINILM_ID, normalize=True)
    dt = time.perf_counter() - t0
    print(
        f"  embedding throughput: {len(sample) / dt:,.0f} texts/s ({len(sample):,} texts, CPU, batch 256)"
    )


def case2(n_items: int, n_preds: int, dim: int = 384) -> None:
    print(f"case 2: {n_preds:,} predictions vs {n_items:,} items, {dim}-dim synthetic")
    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        path = Path(tmp) / "items.npy"
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_items, dim))
        for a in range(0, n_items, 100_000):
            block = rng.normal(size=(min(100_000, n_items - a), dim)).astype(np.float32)
            out[a : a + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
        out.flush()
        del out
        items = np.load(path, mmap_mode="r")
        targets = rng.integers(0, n_items, size=n_preds)
        queries = np.asarray(items[np.sort(targets)], dtype=np.float32)[
            np.argsort(np.argsort(targets))
        ]
        queries += rng.normal(scale=0.06, size=queries.shape).astype(np.float32)
        q = QuerySet(queries, np.arange(n_preds)[:, None], np.full(n_preds, -1))
        with Measure("build item matrix") as m_build:
            space = ItemSpace(items, np.arange(n_items))
        ranker = Ranker(space, fusion="first")
        done = [0]
        t0 = time.perf_counter()

        def progress(n: int) -> None:
            done[0] += n
            if done[0] % max(1, n_preds // 10) < n:
                print(
                    f"    {done[0]:,}/{n_preds:,} after {time.perf_counter() - t0:.0f} s",
                    flush=True,
                )

        with Measure("rank (first) + top-50 lists") as m_rank:
            ranks, top = ranker.run(q, targets, top_n=50, progress=progress)
        with Measure("metrics + 1000 bootstrap + coverage") as m_met:
            m = metrics_from_ranks(ranks[0], KS)
            bootstrap_ci(ranks[0], KS, n_resamples=1000, seed=0)
            coverage(top, KS, n_items)
        total = m_build.seconds + m_rank.seconds + m_met.seconds
        print(
            f"  => total {total:.1f} s ({total / 60:.1f} min; target < 10 min), HR@10 {m['hr@10']:.3f}"
        )
        print(f"  throughput {n_preds * n_items / m_rank.seconds / 1e9:.2f} G item-distances/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="case 2 at 10,000 x 100,000 (smoke run)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "llmrec-eval-bench")
    ap.add_argument("--skip", choices=["1", "2"], help="skip a case")
    ap.add_argument("--fusions", default="interleave,first", help="fusions timed in case 1")
    ap.add_argument("--case2-items", type=int, help="case 2 catalogue size (default 1,000,000)")
    ap.add_argument("--case2-preds", type=int, help="case 2 predictions (default 100,000)")
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}, python {platform.python_version()}"
    )
    if args.skip != "1":
        case1(args.cache, args.fusions.split(","))
    if args.skip != "2":
        items, preds = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
        case2(args.case2_items or items, args.case2_preds or preds)
    print(f"process peak RSS: {rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
