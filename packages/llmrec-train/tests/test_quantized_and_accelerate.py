"""bitsandbytes 8-bit / 4-bit (QLoRA) training at tiny sizes on this CPU, and `accelerate launch`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llmrec_train.config import TrainConfig
from llmrec_train.train import train

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("quantization", ["8bit", "4bit"])
def test_qlora_loads_and_trains(quantization, model_path, data_dir, tmp_path):
    result = train(
        TrainConfig(
            train_file=data_dir / "train.jsonl",
            output_dir=tmp_path / quantization,
            quantization=quantization,
            n_train=4,
            batch_size=2,
            max_steps=2,
            max_length=256,
        )
    )
    base = result.model.get_base_model()
    assert getattr(base, f"is_loaded_in_{quantization}")
    log = json.loads((result.output_dir / "training_log.json").read_text())
    assert [s["step"] for s in log["steps"]] == [1, 2] and all(s["loss"] > 0 for s in log["steps"])
    assert (result.output_dir / "adapter_model.safetensors").is_file()


def test_accelerate_launch_runs_the_trainer(model_path, model_cache, data_dir, tmp_path):
    out = tmp_path / "accel"
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--num_processes",
        "1",
        "--config_file",
        str(REPO / "configs" / "accelerate" / "multi_gpu.yaml"),
        "-m",
        "llmrec_train",
        "train",
        "--train-file",
        str(data_dir / "train.jsonl"),
        "--output-dir",
        str(out),
        "--n-train",
        "4",
        "--batch-size",
        "2",
        "--max-steps",
        "1",
        "--max-length",
        "256",
    ]
    env = {**os.environ, "LLMREC_CACHE_HOME": str(model_cache), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "adapter_config.json").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["global_steps"] == 1
