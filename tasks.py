"""invoke tasks: wire the llmrec packages together through their CLIs and files.

Only the tasks and their help live here; what they run is in the `pipeline/` package beside this
file (profiles, run folders and stage skipping, the stage lists, benchmarks). Every stage is one
package's CLI, run in a run folder `runs/<dataset>/<run>/`; each stage's resolved settings are
written to RUN/configs/STAGE.toml and checked by its CLI before the first stage runs.

    invoke pipeline --dataset movie-small             # CPU-sized default profile
    invoke pipeline --dataset movie --profile paper   # BIGRec's settings (GPU)
    invoke pipeline --dataset movie-small --set train.epochs=2 --set generate.num_beams=8
    invoke grid --config small-cpu                    # BIGRec's experiment grid (configs/grids/)
"""

from __future__ import annotations

import sys
import time

from invoke import Context, task

from pipeline.bench import run_benchmarks
from pipeline.grid import AXES as GRID_AXES
from pipeline.grid import GridError, load_grid, run_grid
from pipeline.interests import run_interests
from pipeline.profiles import INTERESTS, profile_names
from pipeline.stages import (
    DATASETS,
    default_run,
    open_run,
    report_after,
    run_cli,
    run_folder,
    run_stages,
    write_report,
)


@task
def lint(c: Context) -> None:
    """ruff lint and format check, then mypy on the packages' sources."""
    c.run("ruff check .", pty=False)
    c.run("ruff format --check .", pty=False)
    c.run("mypy", pty=False)


# The fast tier: everything but the tests marked as loading a model (root pyproject's markers).
FAST_TESTS = "not slow and not torch"


@task(pre=[lint], help={"fast": f"only the fast tier: pytest -m '{FAST_TESTS}' (no model loaded)"})
def test(c: Context, fast: bool = False) -> None:
    """Lint, then every package's tests and the workspace's end-to-end tests (--fast: no model)."""
    c.run(f"pytest -m '{FAST_TESTS}'" if fast else "pytest", pty=False)


_HELP = {
    "dataset": f"one of {', '.join(DATASETS)}",
    "profile": f"settings profile: {', '.join(profile_names())} (configs/profiles/NAME.toml), "
    "or the path of a .toml file",
    "run": "run folder name under runs/<dataset>/ (default: the profile's name)",
    "set": "override one setting, STAGE.OPTION=VALUE (repeatable), e.g. train.epochs=2",
    "force": "redo stages even when their inputs and settings are unchanged",
}


def _stage_task(stage: str, doc: str, only: tuple[str, ...]):
    @task(name=stage, help=_HELP, iterable=["set_"])
    def run_stage(
        c: Context,
        dataset: str = "movie-small",
        profile: str = "cpu",
        run: str | None = None,
        set_: list[str] | None = None,
        force: bool = False,
    ) -> None:
        config, folder = open_run(dataset, profile, run, set_)
        run_stages(dataset, folder, config, force, only=only)

    run_stage.__doc__ = doc
    run_stage.body.__doc__ = doc
    return run_stage


data = _stage_task("data", "Prepare a dataset (llmrec-data prepare).", ("data",))
embed = _stage_task("embed", "Embed item titles (llmrec-data embed).", ("embed",))
train = _stage_task("train", "LoRA SFT (llmrec-train train); resumes a checkpoint.", ("train",))
generate = _stage_task("generate", "Generate for valid/test, LoRA on and off.", ("generate",))
recommend = _stage_task(
    "recommend", "Train SASRec and item transitions; scores for valid/test.", ("recommend",)
)
baselines = _stage_task("baselines", "Score the no-LLM baselines.", ("baseline",))
evaluate = _stage_task(
    "evaluate",
    "Ground and score LLM outputs and baselines; fuse them.",
    ("evaluate", "baseline", "fuse"),
)


@task(
    help={
        "dataset": _HELP["dataset"],
        "run": "run folder name(s) under runs/<dataset>/, comma-separated (default: the run with "
        "results, the latest if several)",
    }
)
def report(c: Context, dataset: str = "movie-small", run: str | None = None) -> None:
    """Markdown report of one run (or several, comma-separated, plus a comparison of them)."""
    names = run.split(",") if run else [default_run(dataset)]
    folders = [run_folder(dataset, name, name) for name in names]
    for folder in folders:
        print(f"wrote {write_report(c, folder)}")
    if len(folders) > 1:
        out = folders[0].parent / f"comparison-{'+'.join(names)}.md"
        run_cli(
            c, ["llmrec-eval", "compare-runs", *(f"--run={f}" for f in folders), "--out", str(out)]
        )
        print(f"wrote {out}")


@task(help=_HELP, iterable=["set_"])
def pipeline(
    c: Context,
    dataset: str = "movie-small",
    profile: str = "cpu",
    run: str | None = None,
    set_: list[str] | None = None,
    force: bool = False,
) -> None:
    """prepare -> embed -> train -> generate -> evaluate, then print the results table."""
    config, folder = open_run(dataset, profile, run, set_)
    start = time.perf_counter()
    runner = run_stages(dataset, folder, config, force, only=None)
    runner.record_wall_time(time.perf_counter() - start)
    status = report_after(c, folder, runner)
    print((folder / "results.md").read_text(), end="")
    print(status)


@task(
    help={
        **{k: v for k, v in _HELP.items() if k != "dataset"},
        "profile": f"settings profile: {', '.join(profile_names(INTERESTS))} "
        "(configs/interests/NAME.toml), or the path of a .toml file",
        "run": "run folder name under runs/interests/ (default: the profile's name)",
    },
    iterable=["set_"],
)
def interests(
    c: Context,
    profile: str = "cpu",
    run: str | None = None,
    set_: list[str] | None = None,
    force: bool = False,
) -> None:
    """Interest summaries end to end; writes report.md (LoRA OFF, ON free and ON constrained on the
    test set, the unseen-prompts set and the showcase prompts: metrics and cases). Each stage's
    settings are written to RUN/configs/STAGE.toml and checked before the first stage runs."""
    print(f"report: {run_interests(profile, run, set_ or [], force)}")


@task(
    help={
        "only": "run only the benchmarks whose title contains this text",
        "quick": "smaller sizes (checks that every benchmark runs; the figures mean little)",
    }
)
def bench(c: Context, only: str = "", quick: bool = False) -> None:
    """Run every benchmark (each package's, CLI start-up, no-op re-run), each printing its targets,
    and write docs/benchmarks.md with the figures and the machine."""
    print(f"wrote {run_benchmarks(c, only, quick)}")


@task(
    help={
        "config": "grid file: a name in configs/grids/ (small-cpu, bigrec-games-7b, ...) or the path "
        "of a .toml file; the flags below replace its axes",
        **{axis: f"comma-separated {text}" for axis, text in GRID_AXES.items()},
        "dataset": _HELP["dataset"],
        "name": "run folder name under runs/grids/ (default: the grid file's name)",
        "set": "override one stage setting, STAGE.OPTION=VALUE (repeatable), e.g. generate.batch_size=8",
        "force": _HELP["force"],
    },
    iterable=["set_"],
)
def grid(
    c: Context,
    config: str | None = None,
    models: str | None = None,
    samples: str | None = None,
    epochs: str | None = None,
    prompts: str | None = None,
    presets: str | None = None,
    dataset: str | None = None,
    name: str | None = None,
    set_: list[str] | None = None,
    force: bool = False,
) -> None:
    """BIGRec's experiment grid: models x training samples x epochs x prompt pairs x decoding presets;
    writes grid.md (the published layout), ndcg10_by_epoch.png and params.md. Re-running computes
    only the cells not yet computed."""
    axes = {"models": models, "samples": samples, "epochs": epochs, "prompts": prompts}
    axes |= {"presets": presets, "dataset": dataset}
    try:
        spec = load_grid(config, axes, set_ or [], name)
    except (GridError, SystemExit) as err:  # SystemExit: the profile helpers' (--set, a table)
        print(err if isinstance(err, GridError) else err.code, file=sys.stderr)
        raise SystemExit(2) from None
    run_grid(spec, force)
