"""Benchmark `llmrec-data prepare` on a synthetic MovieLens-10M-sized input (not a test).

    uv run python packages/llmrec-data/benchmarks/bench_prepare.py            # 10M ratings, 69,878 users
    uv run python packages/llmrec-data/benchmarks/bench_prepare.py --ratings 200000 --users 1400   # quick

Writes ratings.dat / movies.dat in the exact ml-10m '::' format into a temporary data home, runs the
`movie` preset (BIGRec protocol, every training example written) in a fresh child process, and prints
wall time and peak memory (max RSS of that process, from getrusage). Target: < 30 s and < 4 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from llmrec_cli.machine import machine_line

# ML-10M's rating values and their approximate shares
RATINGS = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0])
SHARES = np.array([0.01, 0.04, 0.01, 0.08, 0.04, 0.24, 0.09, 0.29, 0.06, 0.14])


def generate(folder: Path, n_ratings: int, n_users: int, n_movies: int, seed: int = 0) -> None:
    """ratings.dat grouped by user (movies ascending within a user, as in ml-10m), movies.dat in UTF-8."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    # per-user counts: at least 20 (as in MovieLens), heavy-tailed, summing to n_ratings
    weights = rng.lognormal(mean=0.0, sigma=1.2, size=n_users)
    counts = 20 + np.floor(weights / weights.sum() * (n_ratings - 20 * n_users)).astype(np.int64)
    counts[: n_ratings - counts.sum()] += 1
    counts = np.minimum(counts, n_movies)
    users = np.repeat(np.arange(1, n_users + 1), counts)
    # movies by a Zipf-like popularity; a user may rate a movie twice here, which prepare accepts
    popularity = 1.0 / np.arange(1, n_movies + 1) ** 0.9
    movies = rng.choice(n_movies, size=users.size, p=popularity / popularity.sum()) + 1
    order = np.lexsort((movies, users))
    users, movies = users[order], movies[order]
    start = rng.integers(822_873_600, 1_200_000_000, size=n_users)  # 1996 .. 2008
    times = np.repeat(start, counts) + rng.integers(0, 30_000_000, size=users.size)
    ratings = rng.choice(RATINGS, size=users.size, p=SHARES)
    empty = pl.lit(None, pl.String)
    pl.DataFrame({"u": users, "m": movies, "r": ratings, "t": times}).select(
        "u", empty.alias("a"), "m", empty.alias("b"), "r", empty.alias("c"), "t"
    ).write_csv(folder / "ratings.dat", separator=":", include_header=False, null_value="")
    genres = ["Action", "Comedy", "Drama", "Thriller", "Romance", "Sci-Fi", "Children"]
    with open(folder / "movies.dat", "w", encoding="utf-8") as f:
        for movie in range(1, n_movies + 1):
            title = (
                f"Synthetic Movie {movie % 10_000} (19{50 + movie % 50})"  # some duplicate titles
            )
            if movie % 97 == 0:
                title = f"Château {movie}, Le (1990)"
            f.write(f"{movie}::{title}::{genres[movie % 7]}|{genres[(movie * 3) % 7]}\n")


def child(home: Path, out: Path, train_sample: int) -> None:
    from llmrec_data import PrepareConfig, prepare

    started = time.perf_counter()
    config = PrepareConfig(
        out=out, dataset="movie", data_home=home, download=False, train_sample=train_sample
    )
    result = prepare(config)
    seconds = time.perf_counter() - started
    timings = result.manifest["timings_s"]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "examples": result.examples,
                "written": result.written,
                "timings": timings,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ratings", type=int, default=10_000_054)
    parser.add_argument("--users", type=int, default=69_878)
    parser.add_argument("--movies", type=int, default=10_681)
    parser.add_argument(
        "--train-sample",
        type=int,
        default=0,
        help="examples written to train.jsonl (0: all, the default)",
    )
    parser.add_argument("--child", nargs=2, metavar=("HOME", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.train_sample)
        return

    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        home, out = Path(tmp) / "home", Path(tmp) / "out"
        started = time.perf_counter()
        generate(home / "movielens" / "ml-10M100K", args.ratings, args.users, args.movies)
        generated = time.perf_counter() - started
        size = (home / "movielens" / "ml-10M100K" / "ratings.dat").stat().st_size
        print(f"generated {args.ratings:,} ratings ({size / 2**20:,.0f} MiB) in {generated:.1f} s")

        started = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(home),
                str(out),
                "--train-sample",
                str(args.train_sample),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if proc.returncode:
            sys.exit(proc.stderr)
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_gib = usage.ru_maxrss * 1024 / 2**30
        outputs = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
        print(
            f"prepare (movie preset): {report['seconds']:.1f} s inside, {wall:.1f} s with interpreter start"
        )
        print(f"CPU time: user {usage.ru_utime:.1f} s, system {usage.ru_stime:.1f} s")
        print(f"peak memory (max RSS): {peak_gib:.2f} GiB")
        print("stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in report["timings"].items()))
        print(f"examples per split: {report['examples']}; written: {report['written']}")
        print("outputs: " + ", ".join(f"{k} {v / 2**20:,.1f} MiB" for k, v in outputs.items()))
        print(f"target: < 30 s and < 4 GiB -> {'met' if wall < 30 and peak_gib < 4 else 'NOT met'}")


if __name__ == "__main__":
    main()
