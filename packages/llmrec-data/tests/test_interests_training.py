"""A short real training run on interest examples, through the llmrec-train CLI (subprocess).

The data package never imports llmrec-train: it writes the contract files, and the CLI reads them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from llmrec_data.interests import InterestsConfig, UserConfig, prepare_interests

pytestmark = pytest.mark.slow


def _cli(name: str) -> list[str]:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed in this environment (uv sync --all-packages)"
    return [found]


def _run(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stderr[-3000:]}"


def test_short_real_training_run(tmp_path: Path) -> None:
    # Tiny real examples: short histories keep the CPU run to a minute or so.
    config = InterestsConfig(
        n_train=8, n_valid=2, n_test=2, seed=0, users=UserConfig(min_videos=1, max_videos=2)
    )
    data = prepare_interests(tmp_path / "data", config)
    adapter = tmp_path / "adapter"
    _run(
        [
            *_cli("llmrec-train"), "train",
            "--train-file", str(data["train"]), "--output-dir", str(adapter),
            "--n-train", "-1", "--max-steps", "2", "--batch-size", "4",
            "--learning-rate", "2e-3", "--lora-target-modules", "q_proj,v_proj",
        ],
        tmp_path,
    )  # fmt: skip
    predictions = tmp_path / "on" / "predictions.jsonl"
    _run(
        [
            *_cli("llmrec-train"), "generate",
            "--examples", str(data["test"]), "--out", str(predictions), "--adapter", str(adapter),
            "--decoding", "greedy", "--max-new-tokens", "16", "--batch-size", "2",
        ],
        tmp_path,
    )  # fmt: skip
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [row["example_id"] for row in rows] == ["test-000000", "test-000001"]
    assert all(isinstance(row["predictions"][0], str) for row in rows)
    meta = json.loads((predictions.parent / "predictions.meta.json").read_text())
    assert meta["adapter"] is not None and meta["decoding"] == "greedy"
