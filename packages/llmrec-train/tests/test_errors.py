"""Bad configuration and bad input fail early with clear messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llmrec_train.config import TrainConfig
from llmrec_train.data import ContractError, read_examples
from llmrec_train.train import train


def test_unknown_target_module(model_path, data_dir, tmp_path):
    config = TrainConfig(
        train_file=data_dir / "train.jsonl",
        output_dir=tmp_path / "out",
        lora_target_modules="q_proj,qkv_proj",
    )
    with pytest.raises(ValueError, match=r"unknown LoRA target module\(s\) \['qkv_proj'\].*v_proj"):
        train(config)


def test_missing_training_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl: examples file not found"):
        train(TrainConfig(train_file=tmp_path / "nope.jsonl", output_dir=tmp_path / "out"))


def test_empty_training_set(tmp_path):
    empty = tmp_path / "train.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="training set is empty"):
        train(TrainConfig(train_file=empty, output_dir=tmp_path / "out"))


def test_bad_rows_name_file_line_and_field(tmp_path: Path):
    f = tmp_path / "train.jsonl"
    good = {"example_id": "a", "instruction": "i", "input": "x", "output": '"T"'}
    f.write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "example_id": "b", "output": 3}) + "\n"
    )
    with pytest.raises(ContractError, match=r"train.jsonl:2: field 'output' must be a string"):
        read_examples(f)
    f.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(ContractError, match=r"train.jsonl:2: not valid JSON"):
        read_examples(f)
    f.write_text(json.dumps({"example_id": "a", "input": "x", "output": "y"}) + "\n")
    with pytest.raises(ContractError, match=r"train.jsonl:1: missing field 'instruction'"):
        read_examples(f)


def test_bad_option_values(tmp_path):
    with pytest.raises(ValueError, match="quantization: '3bit' is not one of none, 8bit, 4bit"):
        TrainConfig(train_file=tmp_path / "t.jsonl", output_dir=tmp_path, quantization="3bit")
    with pytest.raises(ValueError, match="lora_dropout"):
        TrainConfig(train_file=tmp_path / "t.jsonl", output_dir=tmp_path, lora_dropout=1.5)
