"""A no-op pipeline re-run on this machine: the `paper` profile's data stage on MovieLens-10M-sized
data, run once and then again with nothing changed (target: the re-run under 10 s).

MovieLens-10M may not be redistributed, so the raw files are written in its exact format (10M
ratings, 69,878 users, 10,681 movies) by llmrec-data's prepare benchmark into a temporary data home
(or read from $LLMREC_DATA_HOME with --data-home). The runs go to a temporary $LLMREC_RUNS_DIR.
`invoke data` checks every stage's settings and runs the data stage; the re-run must only find that
nothing changed. The stages after it (train, generate, ...) need a GPU on this profile; what their
re-run costs beyond their start-up is hashing their inputs, the prepared files: that is timed
directly, with the input-hash cache (a stat per file) and without it (every byte read).

    uv run python benchmarks/bench_noop_rerun.py
    uv run python benchmarks/bench_noop_rerun.py --ratings 500000 --users 3500   # quick
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from llmrec_cli.machine import machine_line

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the pipeline package (what `invoke` runs)

from pipeline.runs import fingerprint  # noqa: E402

TARGET_S = 10.0


def _synthetic_movielens(home: Path, ratings: int, users: int) -> None:
    """ml-10M100K/ratings.dat and movies.dat under `home`, by the prepare benchmark's generator."""
    path = ROOT / "packages" / "llmrec-data" / "benchmarks" / "bench_prepare.py"
    spec = importlib.util.spec_from_file_location("bench_prepare", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(home / "movielens" / "ml-10M100K", ratings, users, 10_681)


def _invoke(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the process tree, its output) of one `invoke` command."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "invoke", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = os.times()
    if done.returncode:
        sys.exit(f"`invoke {' '.join(argv)}` failed ({done.returncode}):\n{done.stderr}")
    cpu = (
        after.children_user - before.children_user + after.children_system - before.children_system
    )
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ratings", type=int, default=10_000_054)
    parser.add_argument("--users", type=int, default=69_878)
    parser.add_argument("--profile", default="paper")
    parser.add_argument(
        "--data-home",
        type=Path,
        default=None,
        help="read the real ml-10M100K from here instead of writing a synthetic one",
    )
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp:
        home = args.data_home or Path(tmp) / "home"
        if args.data_home is None:
            _synthetic_movielens(home, args.ratings, args.users)
            print(f"synthetic MovieLens-10M format: {args.ratings:,} ratings, {args.users:,} users")
        env = {**os.environ, "LLMREC_DATA_HOME": str(home), "LLMREC_RUNS_DIR": f"{tmp}/runs"}
        task = ["data", "--dataset", "movie", "--profile", args.profile]
        print(f"`invoke {' '.join(task)}` in a new run folder, then again with nothing changed\n")
        first_wall, first_cpu, _ = _invoke(task, env)
        again_wall, again_cpu, out = _invoke(task, env)
        skipped = [line for line in out.splitlines() if line.startswith(("[skip]", "[run ]"))]
        print("| run | wall s | CPU s |")
        print("|---|---:|---:|")
        print(f"| first (prepare) | {first_wall:.1f} | {first_cpu:.1f} |")
        print(f"| re-run, nothing changed | {again_wall:.1f} | {again_cpu:.1f} |")
        print("\nre-run: " + "; ".join(skipped))

        data = Path(tmp) / "runs" / "movie" / args.profile / "data"
        files = sorted(p for p in data.iterdir() if p.suffix in (".jsonl", ".parquet"))
        size = sum(p.stat().st_size for p in files)
        cache: dict[str, dict] = {}
        start = time.perf_counter()
        fingerprint(files, cache)  # no cache: every byte read (the state before issue 15)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        fingerprint(files, cache)  # the re-run: size, mtime and inode unchanged
        warm = time.perf_counter() - start
        print(
            f"\nthe later stages' inputs ({len(files)} prepared files, {size / 2**30:.2f} GiB): "
            f"hashed {cold:.2f} s without the input-hash cache, {warm * 1000:.1f} ms with it"
        )
    verdict = "met" if again_wall < TARGET_S else "NOT met"
    print(f"target: no-op re-run < {TARGET_S:.0f} s -> {verdict} ({again_wall:.1f} s wall)")


if __name__ == "__main__":
    main()
