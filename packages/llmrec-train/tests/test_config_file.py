"""`--config FILE` through the package's own adapter settings (no model is loaded)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import pytest
import typer
from llmrec_train.cli import app, command_from_dataclass
from llmrec_train.config import GenerateConfig, ModelOptions, RankConfig, TrainConfig
from llmrec_train.errors import UsageError
from typer.testing import CliRunner

runner = CliRunner()


def _toml(values: dict) -> str:
    out = []
    for key, value in values.items():
        if value is None:
            continue
        value = str(value) if isinstance(value, Path) else value
        out.append(
            f"{key} = {json.dumps(value) if not isinstance(value, bool) else str(value).lower()}"
        )
    return "\n".join(out) + "\n"


def test_generate_config_round_trips_through_a_file(tmp_path: Path):
    """Every field of a GenerateConfig written to TOML and read back gives the same config."""
    seen: list[GenerateConfig] = []
    test_app = typer.Typer()
    test_app.command("generate")(command_from_dataclass(GenerateConfig, seen.append))
    original = GenerateConfig(
        examples=Path("t.jsonl"),
        out=Path("p.jsonl"),
        items=Path("items.parquet"),
        constrained=True,
        decoding="beam",
        num_beams=6,
        num_return_sequences=3,
        length_penalty=0.5,
        batch_size=7,
    )
    config = tmp_path / "generate.toml"
    config.write_text(_toml(asdict(original)))
    result = runner.invoke(test_app, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    assert seen[-1] == original


def test_train_from_a_file_with_the_out_alias_and_a_flag_override(tmp_path: Path):
    seen: list[TrainConfig] = []
    test_app = typer.Typer()
    test_app.command("train")(command_from_dataclass(TrainConfig, seen.append))
    config = tmp_path / "train.toml"
    config.write_text(
        'train_file = "t.jsonl"\nepochs = 2.0\nlearning_rate = 1e-4\nloss_on = "all"\n'
    )
    result = runner.invoke(test_app, ["--config", str(config), "--out", "a", "--epochs", "3"])
    assert result.exit_code == 0, result.output
    assert (seen[-1].output_dir, seen[-1].epochs, seen[-1].learning_rate) == (Path("a"), 3.0, 1e-4)
    assert seen[-1].loss_on == "all"


def test_a_bad_value_in_a_config_file_is_one_line_exit_2(tmp_path: Path):
    config = tmp_path / "train.toml"
    config.write_text('epochs = 1\nlora_r = "eight"\n')
    args = [
        "train",
        "--config",
        str(config),
        "--train-file",
        "t.jsonl",
        "--out",
        str(tmp_path / "o"),
    ]
    result = runner.invoke(app, args, prog_name="llmrec-train")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {config}, line 2, field 'lora_r': expected an integer, got 'eight'"
    )
    assert not (tmp_path / "o").exists()


def test_check_config_checks_the_dataclass_rules_too(tmp_path: Path):
    config = tmp_path / "generate.toml"
    config.write_text("num_beams = 2\nnum_return_sequences = 4\n")
    args = ["check-config", "--", "generate", "--config", str(config), "--examples", "t.jsonl"]
    result = runner.invoke(app, [*args, "--out", "p.jsonl"], prog_name="llmrec-train")
    assert result.exit_code == 2
    assert "error: num_return_sequences (4) cannot exceed num_beams (2)" in result.output
    config.write_text("num_beams = 4\n")
    result = runner.invoke(app, [*args, "--out", "p.jsonl"], prog_name="llmrec-train")
    assert result.exit_code == 0, result.output
    assert "ok: llmrec-train generate" in result.output


def test_train_generate_and_rank_share_one_model_section(tmp_path: Path):
    """One model section (`ModelOptions`): the same flags in the three commands, checked by one rule;
    generation and ranking leave the base model, template and prompt format to the adapter."""
    section = [f.name for f in fields(ModelOptions)]
    assert section == ["model", "template", "prompt_format", "quantization", "bf16"]
    for cls in (TrainConfig, GenerateConfig, RankConfig):
        assert [f.name for f in fields(cls)][: len(section)] == section
    for cls in (GenerateConfig, RankConfig):
        defaults = {f.name: f.default for f in fields(cls)}
        assert defaults["model"] is defaults["template"] is defaults["prompt_format"] is None
        assert "adapter" in defaults
    files = {
        TrainConfig: {"train_file": tmp_path / "t.jsonl", "output_dir": tmp_path / "o"},
        GenerateConfig: {"examples": tmp_path / "t.jsonl", "out": tmp_path / "p.jsonl"},
        RankConfig: {
            "examples": tmp_path / "t.jsonl",
            "items": tmp_path / "i.parquet",
            "candidates": ["s"],
            "out": tmp_path / "o",
        },
    }
    for cls, required in files.items():
        with pytest.raises(UsageError, match=r"--quantization: '3bit' is not one of none, 8bit"):
            cls(**required, quantization="3bit")
        with pytest.raises(UsageError, match=r"--prompt-format: 'html' is not one of"):
            cls(**required, prompt_format="html")
