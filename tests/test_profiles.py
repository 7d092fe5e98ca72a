"""Profiles are TOML files (configs/profiles/, and configs/interests/ for `invoke interests`); their
resolved values are pinned here, so moving them out of Python dicts (tasks.py, pipeline/interests.py)
or editing a file changes nothing unnoticed.
No stage runs: each test takes well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.profiles import INTERESTS, profile_names, resolve_profile

ROOT = Path(__file__).resolve().parents[1]

_CPU = {
    "data": {"valid_sample": 150, "test_sample": 300, "seed": 42},
    "train": {"n_train": 128, "n_valid": 32, "epochs": 1, "batch_size": 16, "seed": 0},
    "generate": {
        "decoding": "beam",
        "num_beams": 4,
        "num_return_sequences": 4,
        "constrained": True,
        "batch_size": 16,
    },
    "evaluate": {"reweight": "recent", "fusion": "rrf", "exclude_history": True, "bootstrap": 1000},
    "sasrec": {"seed": 0, "threads": 2, "top_n": 200},
    "transition": {"top_n": 200},
    "fuse": {"bootstrap": 1000},
}
# The values of the dicts tasks.py held before the profiles became files.
PINNED = {
    "cpu": _CPU,
    "cpu-2k": {
        **_CPU,
        "data": {"valid_sample": 1000, "test_sample": 2000, "seed": 42},
        "rank": {"candidates_per_source": 10},
    },
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
        "sasrec": {"seed": 0, "dim": 16, "blocks": 1, "max_epochs": 1, "top_n": 50},
        "transition": {"top_n": 50},
        "rank": {"candidates_per_source": 3, "batch_size": 16},
        "fuse": {"bootstrap": 50, "grid_step": 0.25},
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
            "loss_on": "all",
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
        "sasrec": {"seed": 0, "top_n": 200},
        "transition": {"top_n": 200},
        "rank": {"candidates_per_source": 20},
        "fuse": {"bootstrap": 1000},
    },
}

# The values of the dicts pipeline/interests.py held (INTEREST_PROFILES) before the profiles
# became files, but cpu's max_steps: 80 -> 160, chosen on valid afterwards.
INTEREST_PINNED = {
    "cpu": {
        "data": {"seed": 0},
        "train": {
            "n_train": -1,
            "n_valid": 32,
            "max_steps": 160,
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


def _typed(value):
    """Values with their types: 1 and 1.0 and True are different settings."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    return (type(value).__name__, value)


def test_every_shipped_profile_is_pinned():
    assert profile_names() == sorted(PINNED)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_profile_files_resolve_to_the_pinned_values(name):
    resolved = resolve_profile(name, [])
    assert _typed(dict(resolved)) == _typed(PINNED[name])


def test_a_profile_is_also_given_by_path_and_extends_relative_to_itself(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "cpu-2k"\n[train]\nepochs = 3\n', encoding="utf-8")
    resolved = resolve_profile(str(mine), ["generate.num_beams=8"])
    assert resolved["train"] == {**PINNED["cpu"]["train"], "epochs": 3}
    assert resolved["generate"]["num_beams"] == 8
    assert resolved["data"] == PINNED["cpu-2k"]["data"]
    assert resolved.origins[("train", "epochs")] == f"{mine}, line 3"
    assert resolved.origins[("generate", "num_beams")] == "--set generate.num_beams=8"
    assert resolved.origins[("data", "test_sample")] == "configs/profiles/cpu-2k.toml, line 13"
    nested = tmp_path / "sub" / "child.toml"
    nested.parent.mkdir()
    nested.write_text('extends = "../mine.toml"\n', encoding="utf-8")
    assert resolve_profile(str(nested), [])["train"]["epochs"] == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[generat]\nnum_beams = 2\n",
            r"line 1: unknown section \[generat\]: did you mean 'generate'",
        ),
        ("[train]\nepochs = [\n", "not valid TOML"),
        ("train = 3\n", r"field 'train': expected a table \[train\]"),
        ('extends = "nope"\n', "unknown profile 'nope'"),
        ('extends = "loop.toml"\n', "`extends` loops back to itself"),
    ],
)
def test_bad_profile_files_fail_naming_file_and_line(tmp_path, text, expected):
    path = tmp_path / "loop.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit, match=expected) as err:
        resolve_profile(str(path), [])
    assert str(err.value).startswith(f"error: {path}")


def test_unknown_profile_and_bad_set_stage_name_the_choices():
    with pytest.raises(SystemExit, match=r"unknown profile 'cpu2k'.*did you mean 'cpu-2k'"):
        resolve_profile("cpu2k", [])
    with pytest.raises(SystemExit, match=r"--set 'generat.num_beams=8': did you mean 'generate'"):
        resolve_profile("cpu", ["generat.num_beams=8"])


def test_every_shipped_interest_profile_is_pinned():
    assert profile_names(INTERESTS) == sorted(INTEREST_PINNED)


@pytest.mark.parametrize("name", sorted(INTEREST_PINNED))
def test_interest_profile_files_resolve_to_the_pinned_values(name):
    assert _typed(dict(resolve_profile(name, [], INTERESTS))) == _typed(INTEREST_PINNED[name])


def test_interest_profiles_know_only_their_own_sections(tmp_path):
    with pytest.raises(SystemExit, match=r"--set 'evaluate.bootstrap=5': expected STAGE.OPTION"):
        resolve_profile("tiny", ["evaluate.bootstrap=5"], INTERESTS)
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "tiny"\n[embed]\nbatch_size = 8\n', encoding="utf-8")
    with pytest.raises(SystemExit, match=r"line 2: unknown section \[embed\]"):
        resolve_profile(str(mine), [], INTERESTS)
