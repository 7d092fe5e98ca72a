"""The interest-summary pipeline (`invoke interests`): prepare -> baseline (no model, for each
examples set) -> train -> generate (LoRA off, on, and on with constrained decoding, for each
examples set) -> report, as a stage list run by the same
Run machinery as the recommendation pipeline. Its profiles are TOML files in configs/interests/,
read by the same reader (`pipeline.profiles`); each stage's settings go to RUN/configs/STAGE.toml
and are checked by the stage's CLI before the first stage runs, as in `invoke pipeline`."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pipeline.profiles import INTERESTS, Settings, default_run_name, resolve_profile
from pipeline.runs import Run, device, git_commit, runs_dir, versions
from pipeline.stages import Stage, StageConfig, check_then_run, opts, with_config_files

INTEREST_SETS = {
    "test": "test (prompts as in training)",
    "unseen": "unseen prompts (wordings and layouts never seen in training)",
    "showcase": "showcase prompts",
}
"""The examples files `interests prepare` writes that are generated for, and their report titles."""


# The generation runs per examples set: LoRA off, on (free decoding) and on constrained.
def _generation_runs(adapter: Path) -> dict[str, list[str]]:
    return {
        "off": [],
        "on": ["--adapter", str(adapter)],
        "constrained": ["--adapter", str(adapter), "--constrained-interests"],
    }


def _label_counts() -> Path:
    """YouTube-8M vocabulary.csv, which `interests prepare` reads too (the baseline skips its
    generic labels)."""
    return Path(os.environ.get("LLMREC_DATA_HOME", "")) / "youtube8m" / "vocabulary.csv"


def _baseline_stages(sets: dict[str, Path], out: Path) -> list[Stage]:
    """`baseline-SET`: `llmrec-eval interests baseline` on each examples set."""
    counts = _label_counts()
    return [
        (
            f"baseline-{set_name}",
            ["llmrec-eval", "interests", "baseline", "--examples", str(examples)]
            + ["--out", str(out / f"{set_name}.jsonl"), "--label-counts", str(counts)],
            [examples, counts],
            [out / f"{set_name}.jsonl"],
            None,
        )
        for set_name, examples in sets.items()
    ]


def interest_stages(
    folder: Path, config: Settings, configs: dict[Path, StageConfig] | None = None
) -> list[Stage]:
    """Every stage as (name, argv, inputs, outputs, reads manifest), in order. The settings of
    prepare, train and each generate are in their config file RUN/configs/NAME.toml (`--config`,
    one of the stage's inputs); `configs`, if given, receives each file's text. The report stage
    has no settings (only paths): it takes flags and no config file."""
    data, adapter, preds = folder / "data", folder / "adapter", folder / "predictions"
    train, valid = data / "train.jsonl", data / "valid.jsonl"
    # Scored on the in-distribution test set and on prompts never seen in training; the showcase
    # prompts are shown. Each through LoRA OFF, LoRA ON (free decoding) and LoRA ON constrained.
    sets = {name: data / f"{name}.jsonl" for name in INTEREST_SETS}
    gen = opts(config.get("generate", {}), "generate")
    weights = adapter / "adapter_model.safetensors"
    runs = _generation_runs(adapter)
    baselines = preds / "no_model"  # the no-model profiles (`llmrec-eval interests baseline`)
    commands: list[tuple[str, list[Any], list[Path], list[Path], Path | None]] = [
        (
            "data",
            ["llmrec-data", "interests", "prepare", "--out", str(data)]
            + [opts(config.get("data", {}), "data")],
            [],
            [train, valid, *sets.values()],
            data / "manifest.json",
        ),
        (
            "train",
            ["llmrec-train", "train", "--train-file", str(train), "--valid-file", str(valid)]
            + ["--output-dir", str(adapter), opts(config.get("train", {}), "train")]
            + ["--resume", "auto"],
            [train, valid],
            [weights],
            None,
        ),
    ]
    report_flags = []
    for set_name, examples in sets.items():
        for run_name, extra in runs.items():
            out = preds / run_name / f"{set_name}.jsonl"
            argv = ["llmrec-train", "generate", "--examples", str(examples), "--out", str(out)]
            inputs = [examples] if run_name == "off" else [examples, weights]
            commands.append(
                (f"generate-{run_name}-{set_name}", [*argv, gen, *extra], inputs, [out], None)
            )
        report_flags += ["--examples", f"{INTEREST_SETS[set_name]}={examples}"]
        report_flags += [f"--{flag}={preds / flag / f'{set_name}.jsonl'}" for flag in runs]
        report_flags += [f"--baseline={baselines / f'{set_name}.jsonl'}"]
    stages = with_config_files(commands, folder, config.origins, configs)
    # The no-model reference point (llmrec-eval, no torch, seconds): it has no settings, so like the
    # report it takes flags and no config file. After the data stage, so it is there early.
    baseline_stages = _baseline_stages(sets, baselines)
    stages[1:1] = baseline_stages
    stages.append(
        (
            "report",
            ["llmrec-eval", "interests", "report", *report_flags]
            + ["--out", str(folder / "report.md"), "--metrics-out", str(folder / "metrics.json")],
            [*sets.values()]
            + [preds / r / f"{s}.jsonl" for s in sets for r in runs]
            + [baselines / f"{s}.jsonl" for s in sets],
            [folder / "report.md"],
            None,
        )
    )
    return stages


def run_interests(profile: str, run: str | None, overrides: list[str], force: bool) -> Path:
    """The interest pipeline in runs/interests/RUN (default: the profile's name); its report path.
    Every stage's settings are written and checked before the first stage runs."""
    config = resolve_profile(profile, overrides, INTERESTS)
    folder = runs_dir() / "interests" / (run or default_run_name(profile))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"llmrec interests: profile={profile} device={device()} run={folder}")
    runner = Run(folder, force)
    runner.manifest.update({"task": "interests", "config": config, "versions": versions()})
    runner.manifest.update({"git_commit": git_commit(), "device": device()})
    start = time.perf_counter()
    configs: dict[Path, StageConfig] = {}
    check_then_run(runner, interest_stages(folder, config, configs), configs)
    runner.record_wall_time(time.perf_counter() - start)
    return folder / "report.md"
