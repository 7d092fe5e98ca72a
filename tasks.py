"""invoke tasks: wire the llmrec packages together through their CLIs and files.

Tasks hold no modelling logic: every stage is one package's CLI, run in a run folder
`runs/<dataset>/<run>/`. What lives here is only the wiring: profiles (which flags each CLI gets),
skipping stages whose command and inputs are unchanged, and the run manifest.

    invoke pipeline --dataset movie-small             # CPU-sized default profile
    invoke pipeline --dataset movie --profile paper   # BIGRec's settings (GPU)
    invoke pipeline --dataset movie-small --set train.epochs=2 --set generate.num_beams=8
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from invoke import Context, task

ROOT = Path(__file__).resolve().parent
# The package CLIs live beside this interpreter (the workspace venv), even when PATH lacks it.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
DATASETS = ("movie", "movie-1m", "movie-small", "game", "game-small", "custom")

# Each profile maps a stage to the flags of its CLI (`key` -> `--key`, bools -> `--key/--no-key`).
# `cpu` finishes movie-small on a 2-core CPU in under 20 minutes; `paper` is BIGRec's setting.
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "cpu": {
        "data": {"valid_sample": 150, "test_sample": 300, "seed": 42},
        "train": {"n_train": 128, "n_valid": 32, "epochs": 1, "batch_size": 16, "seed": 0},
        "generate": {
            "decoding": "beam",
            "num_beams": 4,
            "num_return_sequences": 4,
            "constrained": True,
            "batch_size": 16,
        },
        # rrf: best NDCG@10 of the four fusions on movie-small's validation predictions (README);
        # MovieLens users rate a movie once, so a history item is never the answer.
        "evaluate": {
            "reweight": "recent",
            "fusion": "rrf",
            "exclude_history": True,
            "bootstrap": 1000,
        },
    },
    # End-to-end checks in seconds (tests, CI): every stage runs, nothing is learned.
    "tiny": {
        "data": {"valid_sample": 6, "test_sample": 6, "train_sample": 64, "seed": 42},
        "train": {"n_train": 16, "n_valid": 4, "max_steps": 2, "batch_size": 4, "seed": 0},
        "generate": {
            "decoding": "beam",
            "num_beams": 2,
            "num_return_sequences": 2,
            "max_new_tokens": 12,
            "batch_size": 6,
        },
        "evaluate": {"reweight": "recent", "exclude_history": True, "bootstrap": 50},
    },
    "paper": {
        "data": {"valid_sample": 5000, "test_sample": 5000, "seed": 42},
        "train": {
            "n_train": 1024,
            "epochs": 50,
            "early_stopping_patience": 5,
            "learning_rate": 1e-4,
            "batch_size": 4,
            "grad_accum": 32,
            "max_length": 512,
            "train_on_inputs": True,
            "seed": 0,
        },
        "generate": {
            "decoding": "beam",
            "num_beams": 4,
            "num_return_sequences": 4,
            "max_new_tokens": 128,
            "batch_size": 8,
        },
        "evaluate": {"reweight": "popularity", "gamma_grid": "bigrec", "fusion": "first"},
    },
}


# --------------------------------------------------------------------------------------------
# wiring helpers


def _flags(options: dict[str, Any]) -> list[str]:
    """CLI flags from a profile section: `n_train=1024` -> `--n-train 1024`."""
    out: list[str] = []
    for key, value in options.items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + key.replace("_", "-"))
        else:
            out += [flag, str(value)]
    return out


def _parse_value(text: str) -> Any:
    """`--set` values: JSON where it parses (numbers, true/false, null), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _resolve_profile(
    profile: str, overrides: list[str], profiles: dict[str, dict[str, dict[str, Any]]] | None = None
) -> dict[str, dict[str, Any]]:
    profiles = PROFILES if profiles is None else profiles
    if profile not in profiles:
        raise SystemExit(f"unknown profile {profile!r}: expected one of {', '.join(profiles)}")
    config = copy.deepcopy(profiles[profile])
    for item in overrides:
        key, sep, value = item.partition("=")
        stage, dot, option = key.partition(".")
        if not sep or not dot or stage not in config:
            raise SystemExit(
                f"--set {item!r}: expected STAGE.OPTION=VALUE with STAGE one of {', '.join(config)}"
            )
        config[stage][option.replace("-", "_")] = _parse_value(value)
    return config


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(inputs: list[Path]) -> dict[str, str]:
    """Hashes of a stage's input files (folders: every file inside, sorted)."""
    files: list[Path] = []
    for p in inputs:
        files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    return {str(f): _sha256(f) for f in files}


def _write_json(path: Path, data: Any) -> None:
    """Atomic write: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


class Run:
    """A run folder and its stage stamps: a stage is skipped when its command line and input
    hashes equal those of its last successful run and its outputs still exist."""

    def __init__(self, c: Context, folder: Path, force: bool) -> None:
        self.c, self.folder, self.force = c, folder, force
        self.stamps = folder / ".stages"
        self.manifest_path = folder / "manifest.json"
        self.manifest: dict[str, Any] = (
            json.loads(self.manifest_path.read_text()) if self.manifest_path.exists() else {}
        )

    def stage(self, name: str, argv: list[str], inputs: list[Path], outputs: list[Path]) -> None:
        missing = [str(p) for p in inputs if not p.exists()]
        if missing:
            raise SystemExit(
                f"stage {name}: missing input(s) {', '.join(missing)}: run the earlier stages first"
            )
        # Resuming changes how a stage gets to its outputs, not what they are.
        key = {"argv": [a for a in argv if a != "--resume"], "inputs": _fingerprint(inputs)}
        stamp = self.stamps / f"{name}.json"
        if (
            not self.force
            and stamp.exists()
            and json.loads(stamp.read_text()).get("key") == key
            and all(o.exists() for o in outputs)
        ):
            print(f"[skip] {name}: inputs and settings unchanged")
            return
        print(f"[run ] {name}: {shlex.join(argv)}", flush=True)
        start = time.perf_counter()
        self.c.run(shlex.join(argv), pty=False)
        seconds = round(time.perf_counter() - start, 1)
        _write_json(stamp, {"key": key, "wall_time_s": seconds})
        self.manifest.setdefault("stages", {})[name] = {"argv": argv, "wall_time_s": seconds}
        _write_json(self.manifest_path, self.manifest)


def _versions() -> dict[str, str]:
    names = ["llmrec-data", "llmrec-train", "llmrec-eval", "torch", "transformers", "trl", "peft"]
    names += ["polars", "sentence-transformers", "numpy"]
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    return f"cuda x{torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"


# --------------------------------------------------------------------------------------------
# tasks


@task
def lint(c: Context) -> None:
    """ruff lint and format check."""
    c.run("ruff check .", pty=False)
    c.run("ruff format --check .", pty=False)


@task(pre=[lint])
def test(c: Context) -> None:
    """Lint, then every package's tests and the workspace's end-to-end tests."""
    c.run("pytest", pty=False)


# --------------------------------------------------------------------------------------------
# the recommendation pipeline: stages as (name, argv, inputs, outputs)


def _run_folder(dataset: str, run: str | None, profile: str) -> Path:
    if dataset not in DATASETS:
        raise SystemExit(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    runs = Path(os.environ.get("LLMREC_RUNS_DIR", ROOT / "runs"))
    return runs / dataset / (run or profile)


def _stages(
    dataset: str, folder: Path, config: dict[str, dict[str, Any]]
) -> list[tuple[str, list[str], list[Path], list[Path]]]:
    data, adapter, preds, ev = (folder / n for n in ("data", "adapter", "predictions", "eval"))
    items, emb = data / "items.parquet", data / "item_embeddings.npy"
    train, valid, test = (data / f"{s}.jsonl" for s in ("train", "valid", "test"))
    # Generation uses the base model the adapter was trained on, unless told otherwise.
    inherited = {k: v for k, v in config["train"].items() if k in ("model", "quantization")}
    gen = _flags({**inherited, **config["generate"]})
    evaluate = config["evaluate"]
    eval_common = ["--items", str(items), "--embeddings", str(emb), "--train", str(train)]

    def generate(
        split: Path, out: str, lora: bool
    ) -> tuple[str, list[str], list[Path], list[Path]]:
        argv = ["llmrec-train", "generate", "--examples", str(split), "--items", str(items)]
        argv += ["--out", str(preds / out / "predictions.jsonl"), *gen]
        inputs = [split, items]
        if lora:
            argv += ["--adapter", str(adapter)]
            inputs.append(adapter / "adapter_model.safetensors")
        return f"generate-{out}", argv, inputs, [preds / out / "predictions.jsonl"]

    def score(name: str, argv: list[str], inputs: list[Path], stage: str = "evaluate"):
        out = ev / name
        return (
            f"{stage}-{name}",
            [*argv, "--out", str(out), "--name", name],
            inputs,
            [out / "metrics.json"],
        )

    llm_eval = ["llmrec-eval", "evaluate", *eval_common, "--examples", str(test)]
    # Popularity baselines skip the user's own history when the LLM runs do (the content
    # baseline always does): the same candidate set for every row of the table.
    pop_flags = ["--exclude-history"] if evaluate.get("exclude_history") else []
    reweighted = {k: v for k, v in evaluate.items()}
    raw = {k: v for k, v in evaluate.items() if k not in ("reweight", "gamma_grid")}
    base_inputs = [items, emb, train]
    return [
        (
            "data",
            ["llmrec-data", "prepare", "--dataset", dataset, "--out", str(data)]
            + _flags(config["data"]),
            [],
            [items, train, valid, test],
        ),
        ("embed", ["llmrec-data", "embed", "--data", str(data)], [items], [emb]),
        (
            "train",
            # LLMREC_TRAIN_LAUNCHER swaps the command, e.g. for several GPUs:
            # "accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m llmrec_train"
            shlex.split(os.environ.get("LLMREC_TRAIN_LAUNCHER", "llmrec-train"))
            + ["train", "--train-file", str(train), "--valid-file", str(valid)]
            + ["--output-dir", str(adapter), *_flags(config["train"])]
            + (["--resume"] if any((adapter / "checkpoints").glob("checkpoint-*")) else []),
            [train, valid],
            [adapter / "adapter_model.safetensors"],
        ),
        generate(valid, "valid-lora", lora=True),
        generate(test, "test-lora", lora=True),
        generate(test, "test-base", lora=False),
        score(
            "llm-lora",
            [*llm_eval, "--predictions", str(preds / "test-lora/predictions.jsonl"), *_flags(raw)],
            [*base_inputs, preds / "test-lora/predictions.jsonl"],
        ),
        score(
            f"llm-lora+{evaluate.get('reweight', 'none')}",
            [*llm_eval, "--predictions", str(preds / "test-lora/predictions.jsonl")]
            + ["--valid-predictions", str(preds / "valid-lora/predictions.jsonl")]
            + ["--valid-examples", str(valid), *_flags(reweighted)],
            [*base_inputs, preds / "test-lora/predictions.jsonl"]
            + [preds / "valid-lora/predictions.jsonl"],
        ),
        score(
            "llm-base",
            [*llm_eval, "--predictions", str(preds / "test-base/predictions.jsonl"), *_flags(raw)],
            [*base_inputs, preds / "test-base/predictions.jsonl"],
        ),
        score(
            "most-popular",
            ["llmrec-eval", "baseline", "most-popular", "--examples", str(test)]
            + ["--items", str(items), "--train", str(train), *pop_flags],
            [test, items, train],
            "baseline",
        ),
        score(
            "recent-popular",
            ["llmrec-eval", "baseline", "recent-popular", "--examples", str(test)]
            + ["--items", str(items), "--train", str(train), *pop_flags],
            [test, items, train],
            "baseline",
        ),
        score(
            "content",
            ["llmrec-eval", "baseline", "content", "--examples", str(test), *eval_common]
            + ["--valid", str(valid)],
            [test, valid, items, emb, train],
            "baseline",
        ),
    ]


def _start(dataset: str, profile: str, run: str | None, overrides: list[str] | None, force: bool):
    config = _resolve_profile(profile, overrides or [])
    folder = _run_folder(dataset, run, profile)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"llmrec: dataset={dataset} profile={profile} device={_device()} run={folder}")
    return config, folder, force


def _run_stages(
    c: Context, dataset: str, folder: Path, config, force: bool, only: tuple[str, ...] | None
):
    run = Run(c, folder, force)
    run.manifest.update(
        {
            "dataset": dataset,
            "config": config,
            "versions": _versions(),
            "git_commit": _git_commit(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "device": _device(),
        }
    )
    for name, argv, inputs, outputs in _stages(dataset, folder, config):
        if only is None or name.split("-")[0] in only:
            run.stage(name, argv, inputs, outputs)
    return run


_HELP = {
    "dataset": f"one of {', '.join(DATASETS)}",
    "profile": f"settings profile: {', '.join(PROFILES)}",
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
        config, folder, force = _start(dataset, profile, run, set_, force)
        _run_stages(c, dataset, folder, config, force, only=only)

    run_stage.__doc__ = doc
    run_stage.body.__doc__ = doc
    return run_stage


data = _stage_task("data", "Prepare a dataset (llmrec-data prepare).", ("data",))
embed = _stage_task("embed", "Embed item titles (llmrec-data embed).", ("embed",))
train = _stage_task("train", "LoRA SFT (llmrec-train train); resumes a checkpoint.", ("train",))
generate = _stage_task("generate", "Generate for valid/test, LoRA on and off.", ("generate",))
baselines = _stage_task("baselines", "Score the no-LLM baselines.", ("baseline",))
evaluate = _stage_task(
    "evaluate", "Ground and score LLM outputs and baselines.", ("evaluate", "baseline")
)


# Rows of the results table, LLM runs first; names as the evaluate/baseline stages write them.
def _result_folders(folder: Path) -> list[Path]:
    order = ["llm-lora+", "llm-lora", "llm-base", "content", "recent-popular", "most-popular"]

    def rank(p: Path) -> tuple[int, str]:
        return next((i for i, o in enumerate(order) if p.name.startswith(o)), len(order)), p.name

    return sorted((p.parent for p in (folder / "eval").glob("*/metrics.json")), key=rank)


def _write_report(c: Context, dataset: str, folder: Path) -> Path:
    """report.md: results table (95% CIs), NDCG/HR@K plot, training curves, samples."""
    evals = _result_folders(folder)
    if not evals:
        raise SystemExit(f"{folder}: no evaluation results yet: run `invoke pipeline` first")
    results = [str(p) for p in evals]
    c.run(
        shlex.join(["llmrec-eval", "table", *results, "--out", str(folder / "results.md")]),
        hide=True,
    )
    c.run(
        shlex.join(
            ["llmrec-eval", "table", "--ci", *results, "--out", str(folder / "results_ci.md")]
        ),
        hide=True,
    )
    c.run(
        shlex.join(["llmrec-eval", "plot", *results, "--out", str(folder / "metrics.png")]),
        hide=True,
    )
    data = folder / "data"
    c.run(
        shlex.join(
            ["llmrec-eval", "samples", "--examples", str(data / "test.jsonl")]
            + ["--items", str(data / "items.parquet"), "--out", str(folder / "samples.md")]
            + [a for p in evals for a in ("--run", f"{p.name}={p}")]
        ),
        hide=True,
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    stages = manifest.get("stages", {})
    lines = [
        f"# llmrec run: {dataset} / {folder.name}",
        "",
        f"Device {manifest.get('device')}, git commit {manifest.get('git_commit')}, "
        f"total wall time {manifest.get('wall_time_s', '?')} s.",
        "",
        "## Results (test split, full ranking)",
        "",
        (folder / "results.md").read_text(),
        "With 95% bootstrap intervals:",
        "",
        (folder / "results_ci.md").read_text(),
        "![NDCG@K and HR@K](metrics.png)",
        "",
    ]
    if (folder / "adapter" / "loss.png").exists():
        lines += ["## Training", "", "![training and validation loss](adapter/loss.png)", ""]
    lines += [
        "## Samples: history, target, and what each run ranked (LoRA on vs off)",
        "",
        (folder / "samples.md").read_text(),
        "## Stages",
        "",
        "| stage | wall time (s) |",
        "|---|---:|",
        *(f"| {name} | {info['wall_time_s']} |" for name, info in stages.items()),
        "",
        "Settings: `manifest.json`.",
        "",
    ]
    report = folder / "report.md"
    tmp = report.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(report)
    return report


@task(
    help={
        "dataset": _HELP["dataset"],
        "run": "run folder name(s) under runs/<dataset>/, comma-separated",
    }
)
def report(c: Context, dataset: str = "movie-small", run: str = "cpu") -> None:
    """Markdown report of one run (or several, comma-separated, plus a comparison of them)."""
    folders = [_run_folder(dataset, name, name) for name in run.split(",")]
    for folder in folders:
        print(f"wrote {_write_report(c, dataset, folder)}")
    if len(folders) > 1:
        print(f"wrote {_write_comparison(dataset, folders)}")


def _flatten(config: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {f"{stage}.{k}": v for stage, opts in config.items() for k, v in opts.items()}


def _write_comparison(dataset: str, folders: list[Path]) -> Path:
    """comparison-<a>+<b>.md beside the runs: the settings that differ, then each run's results table."""
    manifests = [json.loads((f / "manifest.json").read_text()) for f in folders]
    configs = [_flatten(m.get("config", {})) for m in manifests]
    keys = sorted({k for cfg in configs for k in cfg})
    differing = [k for k in keys if len({json.dumps(cfg.get(k)) for cfg in configs}) > 1]
    names = [f.name for f in folders]
    lines = [f"# llmrec comparison: {dataset}, runs {', '.join(names)}", ""]
    lines += ["## Settings that differ", ""]
    if differing:
        lines += ["| setting | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        lines += [
            f"| {k} | " + " | ".join(f"`{cfg.get(k)}`" for cfg in configs) + " |" for k in differing
        ]
    else:
        lines += ["(none: same resolved config)"]
    for folder, manifest in zip(folders, manifests, strict=True):
        lines += ["", f"## {folder.name} ([report]({folder.name}/report.md))", ""]
        lines += [
            f"git commit {manifest.get('git_commit')}, wall time {manifest.get('wall_time_s', '?')} s.",
            "",
        ]
        lines += [(folder / "results.md").read_text()]
    target = folders[0].parent / f"comparison-{'+'.join(names)}.md"
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(target)
    return target


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
    config, folder, force = _start(dataset, profile, run, set_, force)
    start = time.perf_counter()
    runner = _run_stages(c, dataset, folder, config, force, only=None)
    runner.manifest["wall_time_s"] = round(time.perf_counter() - start, 1)
    _write_json(runner.manifest_path, runner.manifest)
    report = _write_report(c, dataset, folder)
    print((folder / "results.md").read_text(), end="")
    print(f"wrote {report}")


# --------------------------------------------------------------------------------------------
# interest summaries: prepare -> train -> generate (LoRA off and on) -> report

INTEREST_PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "cpu": {
        "data": {"seed": 0},
        "train": {
            "n_train": -1,
            "n_valid": 32,
            "max_steps": 80,
            "batch_size": 8,
            "learning_rate": 2e-3,
            "lora_r": 16,
            "lora_alpha": 32,
            "lora_target_modules": "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
            "seed": 0,
        },
        "generate": {"decoding": "greedy", "max_new_tokens": 96, "batch_size": 10},
    },
    "tiny": {
        "data": {"n_train": 16, "n_valid": 4, "n_test": 4, "seed": 0},
        "train": {"n_train": 16, "n_valid": 4, "max_steps": 2, "batch_size": 4, "seed": 0},
        "generate": {"decoding": "greedy", "max_new_tokens": 24, "batch_size": 4},
    },
}


@task(
    help={
        **{k: v for k, v in _HELP.items() if k != "dataset"},
        "profile": f"one of {', '.join(INTEREST_PROFILES)}",
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
    """Interest summaries end to end; writes report.md (LoRA OFF vs ON, cases and metrics)."""
    config = _resolve_profile(profile, set_ or [], INTEREST_PROFILES)
    runs = Path(os.environ.get("LLMREC_RUNS_DIR", ROOT / "runs"))
    folder = runs / "interests" / (run or profile)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"llmrec interests: profile={profile} device={_device()} run={folder}")
    data, adapter, preds = folder / "data", folder / "adapter", folder / "predictions"
    train, valid, test = (data / f"{s}.jsonl" for s in ("train", "valid", "test"))
    gen = _flags(config["generate"])
    runner = Run(c, folder, force)
    runner.manifest.update({"task": "interests", "config": config, "versions": _versions()})
    runner.manifest.update({"git_commit": _git_commit(), "device": _device()})
    start = time.perf_counter()
    runner.stage(
        "data",
        ["llmrec-data", "interests", "prepare", "--out", str(data), *_flags(config["data"])],
        [],
        [train, valid, test],
    )
    runner.stage(
        "train",
        ["llmrec-train", "train", "--train-file", str(train), "--valid-file", str(valid)]
        + ["--output-dir", str(adapter), *_flags(config["train"])]
        + (["--resume"] if any((adapter / "checkpoints").glob("checkpoint-*")) else []),
        [train, valid],
        [adapter / "adapter_model.safetensors"],
    )
    for name, extra, inputs in (
        ("off", [], [test]),
        ("on", ["--adapter", str(adapter)], [test, adapter / "adapter_model.safetensors"]),
    ):
        out = preds / name / "predictions.jsonl"
        argv = ["llmrec-train", "generate", "--examples", str(test), "--out", str(out), *gen]
        runner.stage(f"generate-{name}", argv + extra, inputs, [out])
    off, on = preds / "off" / "predictions.jsonl", preds / "on" / "predictions.jsonl"
    runner.stage(
        "report",
        ["llmrec-eval", "interests", "report", "--examples", str(test), "--off", str(off)]
        + ["--on", str(on), "--out", str(folder / "report.md")]
        + ["--metrics-out", str(folder / "metrics.json")],
        [test, off, on],
        [folder / "report.md"],
    )
    runner.manifest["wall_time_s"] = round(time.perf_counter() - start, 1)
    _write_json(runner.manifest_path, runner.manifest)
    print(f"report: {folder / 'report.md'}")


# --------------------------------------------------------------------------------------------
# benchmarks

BENCHMARKS = [
    (
        "llmrec-data: prepare, MovieLens-10M size",
        "packages/llmrec-data/benchmarks/bench_prepare.py",
    ),
    ("llmrec-eval: grounding and metrics", "packages/llmrec-eval/benchmarks/bench_grounding.py"),
    ("llmrec-train: SFT throughput", "packages/llmrec-train/benchmarks/bench_train.py"),
    ("llmrec-train: generation throughput", "packages/llmrec-train/benchmarks/bench_generate.py"),
]


def _machine() -> str:
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
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.platform()}, device {_device()}"


@task(
    help={
        "only": "run only the benchmarks whose title contains this text",
        "quick": "smaller sizes",
    }
)
def bench(c: Context, only: str = "", quick: bool = False) -> None:
    """Run every package's benchmark and write docs/benchmarks.md with the figures and the machine."""
    quick_args = {
        "bench_prepare.py": ["--ratings", "500000", "--users", "3500"],
        "bench_grounding.py": ["--quick"],
        "bench_train.py": ["--n", "32"],
        "bench_generate.py": ["--n", "32"],
    }
    sections = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {_machine()}.",
        f"git commit {_git_commit()}; `invoke bench{' --quick' if quick else ''}` wrote this file.",
        "",
    ]
    for title, script in BENCHMARKS:
        if only and only not in title:
            continue
        argv = ["python", script, *(quick_args[Path(script).name] if quick else [])]
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
    print(f"wrote {target}")
