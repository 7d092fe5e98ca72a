"""The benchmark runner behind `invoke bench`: each benchmark script in turn (its target and
whether it was met are in its output), and docs/benchmarks.md with their output and the machine
they ran on. A script that loads torch holds the machine's torch lock (torch_lock) while it runs."""

from __future__ import annotations

import contextlib
import platform
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmrec_cli.machine import machine_line

from pipeline import ROOT
from pipeline.runs import device, git_commit, stage_env
from pipeline.torch_lock import torch_job

if TYPE_CHECKING:
    from invoke import Context


@dataclass(frozen=True)
class Benchmark:
    title: str
    script: str
    args: tuple[str, ...] = ()
    """Arguments of the full run (`invoke bench`)."""
    quick: tuple[str, ...] = ()
    """Arguments of `invoke bench --quick`: smaller sizes, to check that it runs."""
    torch: bool = True
    """Whether it loads torch (then it waits for the machine's torch lock)."""


BENCHMARKS = [
    Benchmark(
        "llmrec-data: prepare, MovieLens-10M size",
        "packages/llmrec-data/benchmarks/bench_prepare.py",
        quick=("--ratings", "500000", "--users", "3500"),
        torch=False,
    ),
    Benchmark(
        "llmrec-eval: grounding and metrics",
        "packages/llmrec-eval/benchmarks/bench_grounding.py",
        # case 2 at 100,000 predictions takes about 10 min a core; its target is a ratio to the
        # bare matmul of the same shapes, which 10,000 predictions measure as well.
        args=("--case2-preds", "10000"),
        quick=("--quick",),
    ),
    Benchmark(
        "llmrec-train: SFT throughput",
        "packages/llmrec-train/benchmarks/bench_train.py",
        quick=("--n", "32"),
    ),
    Benchmark(
        "llmrec-train: generation throughput and where the time goes",
        "packages/llmrec-train/benchmarks/bench_generate.py",
        # 300 prompts run every decoding and every lever for about 30 min on 2 cores; the target
        # is a ratio between levers measured in the same run, which 100 prompts measure as well.
        args=("--n", "100"),
        quick=("--n", "32"),
    ),
    Benchmark(
        "llmrec-train: recommenders (SASRec, transitions) on movie-small",
        "packages/llmrec-train/benchmarks/bench_recommend.py",
        quick=("--max-epochs", "2"),
    ),
    Benchmark(
        "llmrec-train: the LLM as a ranker (20, 50, 100 candidates)",
        "packages/llmrec-train/benchmarks/bench_rank.py",
        quick=("--n", "5", "--sizes", "20"),
    ),
    Benchmark(
        "CLI start-up: --help, argument errors, bad input",
        "benchmarks/bench_startup.py",
        quick=("--quick",),
        torch=False,
    ),
    Benchmark(
        "Pipeline: no-op re-run, paper profile, MovieLens-10M size",
        "benchmarks/bench_noop_rerun.py",
        quick=("--ratings", "500000", "--users", "3500"),
        torch=False,
    ),
]


def run_benchmarks(c: Context, only: str, quick: bool) -> Path:
    """Every benchmark whose title contains `only`; docs/benchmarks.md written (its path)."""
    sections = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine_line()}; "
        f"{platform.platform()}, device {device()}.",
        f"git commit {git_commit()}; `invoke bench{' --quick' if quick else ''}` wrote this file.",
        "",
    ]
    durations: list[str] = []
    env = stage_env()  # torch's thread count: every core this process may use, set deliberately
    for bench in BENCHMARKS:
        if only and only not in bench.title:
            continue
        argv = ["python", bench.script, *(bench.quick if quick else bench.args)]
        print(f"== {bench.title}: {shlex.join(argv)}", flush=True)
        with torch_job(f"invoke bench: {bench.title}") if bench.torch else contextlib.nullcontext():
            started = time.perf_counter()
            result = c.run(shlex.join(argv), pty=False, warn=True, env=env)
            seconds = time.perf_counter() - started
        durations.append(f"| {bench.title} | {seconds:.0f} |")
        out = result.stdout.strip() if result else ""
        sections += [f"## {bench.title}", "", f"`{shlex.join(argv)}` ({seconds:.0f} s)", ""]
        sections += [out or "(no output)", ""]
        if result is None or result.failed:
            sections += [f"**failed** (exit {result.exited if result else '?'})", ""]
    durations_table = ["| benchmark | wall s |", "|---|---:|", *durations]
    print("\n".join(["", *durations_table]))
    sections += ["## How long each benchmark took", "", *durations_table, ""]
    target = ROOT / "docs" / "benchmarks.md"
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text("\n".join(sections), encoding="utf-8")
    tmp.replace(target)
    return target
