"""Benchmark grounding + metrics (not a test: prints time and peak memory).

Every timing is given as wall seconds and CPU seconds (this process's user + system time). On a busy
or shared machine the wall time depends on the neighbours; the CPU time is about what the wall time
would be on one quiet core (BLAS threads add up, so with several threads it is their sum).

Case 1: 5,000 examples x 4 generated texts against 10,681 items (MovieLens-10M size): the real
ml-latest-small titles, padded with synthetic titles, embedded with all-MiniLM-L6-v2 (cached in
--cache). Query vectors are given (a catalogue title's vector plus noise, or the exact title), so
the timing is ranking + metrics only; embedding throughput (texts/s) is measured separately.
Every fusion is timed, beside the floor of exact float32 ranking: the bare matrix multiply of the
same shapes, blocked as the ranker blocks it (one per text slot; `first` uses one slot).
Case 2: 100,000 predictions against 1,000,000 items, 384-dim synthetic unit vectors (memory-mapped
from a temporary .npy, as real embeddings are read), fusion `first`, top-50 lists. Its target is a
ratio: grounding within 1.3x of the bare matrix multiply of the same shapes. The two alternate, one
slice of predictions at a time, so a neighbour's load weighs on both alike. `--quick` shrinks case 2
to 10,000 x 100,000; `--case2-preds` and `--case2-items` set any shape.

    uv run python packages/llmrec-eval/benchmarks/bench_grounding.py [--quick] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import polars as pl
from llmrec_cli.machine import machine_line
from llmrec_eval import ItemSpace, QuerySet, Ranker, bootstrap_ci, coverage, metrics_from_ranks
from llmrec_eval._embed import MINILM_ID, embed_texts
from llmrec_eval._ranking import FUSIONS

KS = (1, 3, 5, 10, 20, 50)
EXACT_CHECK = 200  # examples per fusion checked against `reference_ranking` (outside the timing)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Measure:
    """Wall time, CPU time and tracemalloc peak (numpy allocations included) of a block."""

    def __init__(self, label: str, *, memory: bool = True) -> None:
        self.label, self.memory = label, memory

    def __enter__(self) -> Measure:
        if self.memory:
            tracemalloc.start()
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0
        peak = ""
        if self.memory:
            peak = f"   peak {tracemalloc.get_traced_memory()[1] / 2**20:8.1f} MiB"
            tracemalloc.stop()
        print(
            f"  {self.label:<44} {self.seconds:8.2f} s wall {self.cpu:8.2f} s CPU{peak}", flush=True
        )


def bare_matmul(ranker: Ranker, queries: np.ndarray, n_slots: int) -> None:
    """The floor of exact float32 ranking: the distance matrix multiply alone, blocked over examples
    as `ranker` blocks it (`n_slots` matrices per block), nothing else."""
    aug = ranker.space.augment(queries)
    per_slot = len(aug) // n_slots
    for rows in ranker._chunks(per_slot, n_slots):
        for slot in range(n_slots):
            aug[slot * per_slot + rows] @ ranker.space.matrix.T


def reference_ranking(
    ranker: Ranker, queries: QuerySet, targets: np.ndarray, examples: np.ndarray, top_n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks and top lists of `examples` by full stable sorts, one example at a time: the check that
    the ranker's shortcuts (bounded top lists, fused passes) change no result. The distances are the
    ranker's own; duplicates, fusion and ordering are redone the plain way."""
    space, n = ranker.space, ranker.space.n_items
    aug = space.augment(queries.vectors)
    n_slots = 1 if ranker.fusion == "first" else queries.slots.shape[1]
    per_slot = [ranker._distances(queries, aug, examples, j, False) for j in range(n_slots)]
    ranks, tops = np.empty(len(examples), dtype=np.int64), np.full((len(examples), top_n), -1)
    for e, target in enumerate(targets[examples].tolist()):
        texts = []  # each text's scores per canonical item (+inf: not canonical)
        for dist in per_slot:
            col = np.full(n, np.inf, dtype=np.float32)
            np.minimum.at(col, space.canonical, dist[e])
            texts.append(col)
        fused_min = np.minimum.reduce(texts)
        by_min = [
            i for i in np.lexsort((np.arange(n), fused_min)).tolist() if fused_min[i] < np.inf
        ]
        if ranker.fusion in ("first", "min"):
            order = by_min
        else:
            lists = [
                [i for i in np.argsort(t, kind="stable")[: ranker.depth].tolist() if t[i] < np.inf]
                for t in texts
            ]
            if ranker.fusion == "interleave":
                fused = list(
                    dict.fromkeys(
                        lst[r] for r in range(ranker.depth) for lst in lists if r < len(lst)
                    )
                )
            else:
                gain: dict[int, float] = {}
                for lst in lists:
                    for r, item in enumerate(lst):
                        gain[item] = gain.get(item, 0.0) + 1 / (ranker.rrf_k + r + 1)
                fused = sorted(gain, key=lambda item: (-gain[item], item))
            listed = set(fused)
            order = fused + [i for i in by_min if i not in listed]
        ranks[e] = order.index(target)
        tops[e, : min(top_n, len(order))] = order[:top_n]
    return ranks, tops


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


def case1(cache: Path, fusions: list[str], embedding_throughput: bool = True) -> None:
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
        n_slots = 1 if fusion == "first" else n_texts
        # the slots' vectors are rows slot * n_examples + example (queries.slots is example-major)
        by_slot = queries.vectors[queries.slots[:, :n_slots].T.ravel()]
        with Measure(f"bare matmul, {n_slots} slot(s)", memory=False) as m_floor:
            bare_matmul(ranker, by_slot, n_slots)
        with Measure(f"rank ({fusion})") as m_rank:
            ranks, top = ranker.run(queries, canonical[targets], top_n=50)
        with Measure("metrics + 1000 bootstrap + coverage") as m_met:
            metrics_from_ranks(ranks[0], KS)
            bootstrap_ci(ranks[0], KS, n_resamples=1000, seed=0)
            coverage(top, KS, n_items)
        check = np.random.default_rng(4).choice(n_examples, size=EXACT_CHECK, replace=False)
        ref_ranks, ref_top = reference_ranking(ranker, queries, canonical[targets], check, 50)
        if not (np.array_equal(ranks[0, check], ref_ranks) and np.array_equal(top[check], ref_top)):
            sys.exit(f"rank ({fusion}) differs from the full-sort reference")
        print(
            f"  exact: ranks and top-50 lists of {EXACT_CHECK} examples equal a full-sort reference"
        )
        wall = m_rank.seconds + m_met.seconds
        print(
            f"  => ranking + metrics ({fusion}): {wall:.2f} s wall, "
            f"{m_rank.cpu + m_met.cpu:.2f} s CPU; ranking / bare matmul "
            f"{m_rank.cpu / m_floor.cpu:.2f}x in CPU time"
        )
        print(f"  target ({fusion}): < 2 s wall -> {'met' if wall < 2 else 'NOT met'}")
    if not embedding_throughput:
        return
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
        ranks = np.empty(n_preds, dtype=np.int64)
        top = np.empty((n_preds, 50), dtype=np.int64)
        wall = {"bare": 0.0, "grounding": 0.0}
        cpu = {"bare": 0.0, "grounding": 0.0}
        # ten slices, each a whole number of the ranker's blocks: bare matmul, then grounding
        block = len(next(ranker._chunks(n_preds, 1)))
        step = max(block, -(-n_preds // 10) // block * block)
        for a in range(0, n_preds, step):
            rows = np.arange(a, min(n_preds, a + step))
            for what in ("bare", "grounding"):
                t, c = time.perf_counter(), time.process_time()
                if what == "bare":
                    bare_matmul(ranker, queries[rows], 1)
                else:
                    sl = QuerySet(queries[rows], np.arange(len(rows))[:, None], q.forced[rows])
                    r, tl = ranker.run(sl, targets[rows], top_n=50)
                    ranks[rows], top[rows] = r[0], tl
                wall[what] += time.perf_counter() - t
                cpu[what] += time.process_time() - c
            print(
                f"    {rows[-1] + 1:,}/{n_preds:,}: bare matmul {cpu['bare']:.1f} s CPU, "
                f"grounding {cpu['grounding']:.1f} s CPU",
                flush=True,
            )
        for what, label in (
            ("bare", "bare matmul, same shapes and blocks"),
            ("grounding", "rank (first) + top-50 lists"),
        ):
            print(f"  {label:<44} {wall[what]:8.2f} s wall {cpu[what]:8.2f} s CPU")
        with Measure("metrics + 1000 bootstrap + coverage") as m_met:
            m = metrics_from_ranks(ranks, KS)
            bootstrap_ci(ranks, KS, n_resamples=1000, seed=0)
            coverage(top, KS, n_items)
        total_cpu = m_build.cpu + cpu["grounding"] + m_met.cpu
        total_wall = m_build.seconds + wall["grounding"] + m_met.seconds
        print(
            f"  => grounding / bare matmul: {cpu['grounding'] / cpu['bare']:.3f}x in CPU time, "
            f"{wall['grounding'] / wall['bare']:.3f}x in wall time (target <= 1.3x); with the item "
            f"matrix build and the metrics {total_cpu / cpu['bare']:.3f}x in CPU time"
        )
        ratio = cpu["grounding"] / cpu["bare"]
        print(
            f"  target: <= 1.3x the bare matmul (CPU time) -> {'met' if ratio <= 1.3 else 'NOT met'}"
        )
        print(
            f"  => total {total_wall:.1f} s wall, {total_cpu:.1f} s CPU; HR@10 {m['hr@10']:.3f}; "
            f"{n_preds * n_items / cpu['grounding'] / 1e9:.2f} G item-distances per CPU second"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="case 2 at 10,000 x 100,000 (smoke run)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "llmrec-eval-bench")
    ap.add_argument("--skip", choices=["1", "2"], help="skip a case")
    ap.add_argument("--fusions", default=",".join(FUSIONS), help="fusions timed in case 1")
    ap.add_argument(
        "--no-embedding-throughput",
        action="store_true",
        help="case 1 without the embedding measurement: no model is loaded once --cache holds the "
        "catalogue's vectors",
    )
    ap.add_argument("--case2-items", type=int, help="case 2 catalogue size (default 1,000,000)")
    ap.add_argument("--case2-preds", type=int, help="case 2 predictions (default 100,000)")
    args = ap.parse_args()
    print(machine_line())
    threads = {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")}
    print(
        f"numpy {np.__version__}, python {sys.version.split()[0]}, thread settings {threads or 'none'}"
    )
    if args.skip != "1":
        case1(args.cache, args.fusions.split(","), not args.no_embedding_throughput)
    if args.skip != "2":
        items, preds = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
        case2(args.case2_items or items, args.case2_preds or preds)
    print(f"process peak RSS: {rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
