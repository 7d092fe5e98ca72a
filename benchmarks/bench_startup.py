"""CLI start-up on this machine: the wall and CPU time of `--help` and of an argument error (an
unknown flag) for every command of llmrec-data, llmrec-train and llmrec-eval, subcommands included,
and of bad input (a missing file) for the commands that run a model. Target: each under 2 s.

Each line is a fresh process, as a user runs it (the installed console script); CPU time is the
process's own user + system time, about what the wall time is on a quiet core.

    uv run python benchmarks/bench_startup.py            # every command
    uv run python benchmarks/bench_startup.py --quick    # each CLI's top level and the model commands
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import typer
from llmrec_cli.machine import machine_line

TARGET_S = 2.0
CLIS = {
    "llmrec-data": "llmrec_data.cli:app",
    "llmrec-train": "llmrec_train.cli:app",
    "llmrec-eval": "llmrec_eval.cli:app",
}


def command_paths(app_ref: str) -> list[list[str]]:
    """Every command path of a Typer app ("module:attribute"): [], ["train"], ["interests", ...]."""
    module, attribute = app_ref.split(":")
    root = typer.main.get_command(getattr(importlib.import_module(module), attribute))

    def walk(command, path: list[str]):
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    return list(walk(root, []))


def bad_input(tmp: Path) -> list[list[str]]:
    """A missing input file for each command that loads a model once its input is read: the
    error must come before torch & co are imported."""
    missing, items = str(tmp / "missing.jsonl"), str(tmp / "items.parquet")
    return [
        ["llmrec-data", "embed", "--data", str(tmp / "no-data")],
        ["llmrec-train", "train", "--train-file", missing, "--out", str(tmp / "adapter")],
        ["llmrec-train", "generate", "--examples", missing, "--out", str(tmp / "p.jsonl")],
        ["llmrec-train", "rank", "--examples", missing, "--items", items]
        + ["--candidates", str(tmp / "scores"), "--out", str(tmp / "rank")],
        ["llmrec-train", "recommend", "--model", "sasrec", "--train", missing, "--valid", missing]
        + ["--test", missing, "--items", items, "--out", str(tmp / "rec")],
        ["llmrec-eval", "evaluate", "--predictions", missing, "--examples", missing]
        + ["--items", items, "--embeddings", str(tmp / "e.npy"), "--out", str(tmp / "ev")],
    ]


def timed(argv: list[str]) -> tuple[int, float, float]:
    """(exit code, wall s, CPU s) of one fresh process."""
    exe = shutil.which(argv[0])
    if exe is None:
        raise SystemExit(f"{argv[0]} is not installed: run with `uv run`")
    before = os.times()
    start = time.perf_counter()
    code = subprocess.run([exe, *argv[1:]], capture_output=True, check=False).returncode
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return code, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="each CLI's top level and the bad-input lines only"
    )
    args = parser.parse_args()
    print(machine_line())
    lines: list[tuple[str, list[str]]] = []
    for cli, app in CLIS.items():
        paths = [[]] if args.quick else command_paths(app)
        for path in paths:
            lines.append(("help", [cli, *path, "--help"]))
            lines.append(("argument error", [cli, *path, "--no-such-flag"]))
    with tempfile.TemporaryDirectory() as tmp:
        lines += [("bad input", argv) for argv in bad_input(Path(tmp))]
        print(f"\n{len(lines)} command lines, one fresh process each; target < {TARGET_S:.0f} s\n")
        print("| command line | kind | exit | wall s | CPU s | < 2 s |")
        print("|---|---|---:|---:|---:|---|")
        results = []
        for kind, argv in lines:
            code, wall, cpu = timed(argv)
            shown = " ".join(argv).replace(tmp, "TMP")
            met = "yes" if wall < TARGET_S else "**no**"
            print(f"| `{shown}` | {kind} | {code} | {wall:.2f} | {cpu:.2f} | {met} |", flush=True)
            results.append((shown, wall, cpu))
    slowest = max(results, key=lambda r: r[1])
    missed = [r for r in results if r[1] >= TARGET_S]
    print(
        f"\nslowest: `{slowest[0]}` {slowest[1]:.2f} s wall, {slowest[2]:.2f} s CPU; "
        f"max CPU {max(r[2] for r in results):.2f} s"
    )
    verdict = "met" if not missed else f"NOT met ({len(missed)} of {len(results)} at >= 2 s wall)"
    print(f"target: every --help, argument error and bad input < {TARGET_S:.0f} s -> {verdict}")


if __name__ == "__main__":
    main()
