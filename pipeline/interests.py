"""The interest-summary pipeline (`invoke interests`): prepare -> train -> generate (LoRA off, on,
and on with constrained decoding, for each examples set) -> report, as a stage list run by the same
Run machinery as the recommendation pipeline. Its profiles are the dicts below."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipeline.profiles import resolve_profile
from pipeline.runs import Run, device, git_commit, runs_dir, versions
from pipeline.stages import Stage, flags

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
        "data": {"n_train": 16, "n_valid": 4, "n_test": 4, "n_unseen": 4, "seed": 0},
        "train": {"n_train": 16, "n_valid": 4, "max_steps": 2, "batch_size": 4, "seed": 0},
        "generate": {"decoding": "greedy", "max_new_tokens": 24, "batch_size": 4},
    },
}


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


def interest_stages(folder: Path, config: dict[str, dict[str, Any]]) -> list[Stage]:
    """Every stage as (name, argv, inputs, outputs, reads manifest), in order."""
    data, adapter, preds = folder / "data", folder / "adapter", folder / "predictions"
    train, valid = data / "train.jsonl", data / "valid.jsonl"
    # Scored on the in-distribution test set and on prompts never seen in training; the showcase
    # prompts are shown. Each through LoRA OFF, LoRA ON (free decoding) and LoRA ON constrained.
    sets = {name: data / f"{name}.jsonl" for name in INTEREST_SETS}
    gen = flags(config["generate"])
    weights = adapter / "adapter_model.safetensors"
    runs = _generation_runs(adapter)
    stages: list[Stage] = [
        (
            "data",
            ["llmrec-data", "interests", "prepare", "--out", str(data), *flags(config["data"])],
            [],
            [train, valid, *sets.values()],
            data / "manifest.json",
        ),
        (
            "train",
            ["llmrec-train", "train", "--train-file", str(train), "--valid-file", str(valid)]
            + ["--output-dir", str(adapter), *flags(config["train"]), "--resume", "auto"],
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
            stages.append(
                (f"generate-{run_name}-{set_name}", argv + gen + extra, inputs, [out], None)
            )
        report_flags += ["--examples", f"{INTEREST_SETS[set_name]}={examples}"]
        report_flags += [f"--{flag}={preds / flag / f'{set_name}.jsonl'}" for flag in runs]
    stages.append(
        (
            "report",
            ["llmrec-eval", "interests", "report", *report_flags]
            + ["--out", str(folder / "report.md"), "--metrics-out", str(folder / "metrics.json")],
            [*sets.values()] + [preds / r / f"{s}.jsonl" for s in sets for r in runs],
            [folder / "report.md"],
            None,
        )
    )
    return stages


def run_interests(profile: str, run: str | None, overrides: list[str], force: bool) -> Path:
    """The interest pipeline in runs/interests/RUN (default: the profile's name); its report path."""
    config = resolve_profile(profile, overrides, INTEREST_PROFILES)
    folder = runs_dir() / "interests" / (run or profile)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"llmrec interests: profile={profile} device={device()} run={folder}")
    runner = Run(folder, force)
    runner.manifest.update({"task": "interests", "config": config, "versions": versions()})
    runner.manifest.update({"git_commit": git_commit(), "device": device()})
    start = time.perf_counter()
    for name, argv, inputs, outputs, reads in interest_stages(folder, config):
        runner.stage(name, argv, inputs, outputs, reads)
    runner.record_wall_time(time.perf_counter() - start)
    return folder / "report.md"
