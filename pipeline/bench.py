"""The benchmark runner behind `invoke bench`: each package's benchmark script in turn, and
docs/benchmarks.md with their output and the machine they ran on."""

from __future__ import annotations

import os
import platform
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import ROOT
from pipeline.runs import device, git_commit

if TYPE_CHECKING:
    from invoke import Context

BENCHMARKS = [
    (
        "llmrec-data: prepare, MovieLens-10M size",
        "packages/llmrec-data/benchmarks/bench_prepare.py",
    ),
    ("llmrec-eval: grounding and metrics", "packages/llmrec-eval/benchmarks/bench_grounding.py"),
    ("llmrec-train: SFT throughput", "packages/llmrec-train/benchmarks/bench_train.py"),
    ("llmrec-train: generation throughput", "packages/llmrec-train/benchmarks/bench_generate.py"),
    (
        "llmrec-train: recommenders (SASRec, transitions) on movie-small",
        "packages/llmrec-train/benchmarks/bench_recommend.py",
    ),
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.platform()}, device {device()}"


# The smaller sizes of `invoke bench --quick`, per script.
QUICK_ARGS = {
    "bench_prepare.py": ["--ratings", "500000", "--users", "3500"],
    "bench_grounding.py": ["--quick"],
    "bench_train.py": ["--n", "32"],
    "bench_generate.py": ["--n", "32"],
    "bench_recommend.py": ["--max-epochs", "2"],
}


def run_benchmarks(c: Context, only: str, quick: bool) -> Path:
    """Every benchmark whose title contains `only`; docs/benchmarks.md written (its path)."""
    sections = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}.",
        f"git commit {git_commit()}; `invoke bench{' --quick' if quick else ''}` wrote this file.",
        "",
    ]
    for title, script in BENCHMARKS:
        if only and only not in title:
            continue
        argv = ["python", script, *(QUICK_ARGS[Path(script).name] if quick else [])]
        print(f"== {title}: {shlex.join(argv)}", flush=True)
        result = c.run(shlex.join(argv), pty=False, warn=True)
        out = result.stdout.strip() if result else ""
        sections += [f"## {title}", "", f"`{shlex.join(argv)}`", "", out or "(no output)", ""]
        if result is None or result.failed:
            sections += [f"**failed** (exit {result.exited if result else '?'})", ""]
    target = ROOT / "docs" / "benchmarks.md"
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text("\n".join(sections), encoding="utf-8")
    tmp.replace(target)
    return target
