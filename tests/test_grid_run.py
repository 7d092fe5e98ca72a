"""`invoke grid` end to end at tiny size, on real data (movie-small) with the real SmolLM2 model.

One training run of 2 epochs on 8 examples, a zero-shot row, a few test examples: the grid trains
once, keeps both epochs' adapters, and each epoch's row is generated with that epoch's adapter (the
hashes recorded in the cells' manifests are those of the two, distinct, adapter files). The parameter
table equals peft's own count on the loaded model. Then one cell's folder is deleted, as if the grid
had stopped before that cell: running the same command again computes that cell only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
GRID = """\
dataset = "movie-small"

[axes]
models = ["smollm2=smollm2-135m-instruct"]
samples = [0, 8]
epochs = [1, 2]
prompts = ["basic+basic"]
presets = ["bigrec-game"]

[data]
valid_sample = 6
test_sample = 6
train_sample = 64
seed = 42

[train]
n_valid = 4
batch_size = 4
seed = 0

[generate]
max_new_tokens = 12
batch_size = 6

[evaluate]
preset = "bigrec"
bootstrap = 50
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if not os.environ.get("LLMREC_DATA_HOME"):
        pytest.fail("LLMREC_DATA_HOME must point at the raw datasets (../shared/datasets in CI)")
    runs = tmp_path_factory.mktemp("runs")
    return {**os.environ, "LLMREC_RUNS_DIR": str(runs), "HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grids") / "tiny.toml"
    path.write_text(GRID, encoding="utf-8")
    return path


def _grid(env: dict[str, str], grid_file: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "grid", "--config", str(grid_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _stages(out: str, verb: str) -> list[str]:
    return re.findall(rf"^\[{verb}\s*\] (\S+?):", out, flags=re.MULTILINE)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# peft 0.21's PeftModel.__init__ reads the deprecated `is_gradient_checkpointing` of transformers 5
# (as in llmrec-train's conftest): the in-process peft count below.
@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
def test_one_training_two_epoch_adapters_two_rows_then_only_missing_cells(env, grid_file):
    out = _grid(env, grid_file)
    run = Path(env["LLMREC_RUNS_DIR"]) / "grids" / "tiny"
    assert [s for s in _stages(out, "run") if s.startswith("train-")] == ["train-smollm2-n8-basic"]

    # The table: the zero-shot row and one row per epoch, in the published layout.
    table = (run / "grid.md").read_text().splitlines()
    rows = [line for line in table if line.startswith("| smollm2 ")]
    assert [r.split(" | ")[1:4] for r in rows] == [
        ["0", "0", "None+basic"],
        ["8", "1", "Basic+basic"],
        ["8", "2", "Basic+basic"],
    ]
    assert (run / "ndcg10_by_epoch.png").stat().st_size > 0

    # Each epoch's row was generated with that epoch's adapter of the one training run.
    epochs = run / "train" / "smollm2" / "n8-basic" / "epochs"
    weights = {e: _sha256(epochs / f"epoch-{e}" / "adapter_model.safetensors") for e in (1, 2)}
    assert weights[1] != weights[2]
    cells = run / "cells" / "smollm2" / "n8-basic+basic" / "bigrec-game"
    for epoch in (1, 2):
        cell = json.loads((cells / f"epoch-{epoch}" / "cell.json").read_text())
        assert cell["adapter"] == f"train/smollm2/n8-basic/epochs/epoch-{epoch}"
        assert cell["adapter_sha256"] == weights[epoch]
        meta = json.loads((cells / f"epoch-{epoch}" / "predictions.meta.json").read_text())
        assert meta["adapter"] == str(epochs / f"epoch-{epoch}")
        assert meta["preset"] == "bigrec-game" and meta["decoding"] == "sample"
    zero_shot = run / "cells" / "smollm2" / "n0-none+basic" / "bigrec-game" / "zero-shot"
    assert json.loads((zero_shot / "predictions.meta.json").read_text())["adapter"] is None

    # The parameter table: peft's own count on the real model.
    import torch
    from llmrec_train.models import load_model, lora_config, resolve_model
    from peft import get_peft_model

    model = load_model(resolve_model("smollm2-135m-instruct"), dtype=torch.float32)
    peft_model = get_peft_model(
        model, lora_config(model, r=8, alpha=16, dropout=0.05, target_modules=["q_proj", "v_proj"])
    )
    trainable, total = peft_model.get_nb_trainable_parameters()
    assert (run / "params.md").read_text().splitlines()[2] == (
        f"| smollm2 | {trainable:,} | {total:,} | {100 * trainable / total:.4f}% |"
    )

    # As if the grid had stopped before its last cell: only that cell is computed again. (Deleting
    # only its predictions re-runs generation, and evaluation only if the new predictions differ:
    # sampling with seed 0 writes the same file, whose hash is the evaluation's key.)
    shutil.rmtree(cells / "epoch-2")
    before = (cells / "epoch-1" / "eval" / "metrics.json").stat().st_mtime_ns
    out = _grid(env, grid_file)
    assert _stages(out, "run") == [
        "generate-smollm2-n8-basic+basic-bigrec-game-epoch-2",
        "evaluate-smollm2-n8-basic+basic-bigrec-game-epoch-2",
    ]
    assert "train-smollm2-n8-basic" in _stages(out, "skip")
    assert (cells / "epoch-1" / "eval" / "metrics.json").stat().st_mtime_ns == before
    rows = [line for line in (run / "grid.md").read_text().splitlines() if "| smollm2 " in line]
    assert len(rows) == 3
