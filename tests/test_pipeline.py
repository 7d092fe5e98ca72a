"""End to end: `invoke pipeline` at tiny sizes on real data with the real SmolLM2 model.

One run is interrupted during training; the same command then finishes it without redoing the
stages that had finished, and training resumes from its checkpoint. A third run skips everything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INVOKE = [sys.executable, "-m", "invoke"]
# 16 examples, batch 4: 4 optimizer steps an epoch, a checkpoint after each of 3 epochs.
COMMAND = [
    *INVOKE,
    "pipeline",
    "--dataset",
    "movie-small",
    "--profile",
    "tiny",
    "--set",
    "train.max_steps=0",
    "--set",
    "train.epochs=3",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if not os.environ.get("LLMREC_DATA_HOME"):
        pytest.fail("LLMREC_DATA_HOME must point at the raw datasets (../shared/datasets in CI)")
    runs = tmp_path_factory.mktemp("runs")
    return {**os.environ, "LLMREC_RUNS_DIR": str(runs), "HF_HUB_OFFLINE": "1"}


def _run(env: dict[str, str]) -> str:
    done = subprocess.run(
        COMMAND, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _interrupt_during_training(env: dict[str, str], folder: Path) -> None:
    """Start the pipeline and stop it (SIGTERM to its process group) once the first
    training checkpoint is complete."""
    proc = subprocess.Popen(
        COMMAND,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    checkpoints = folder / "adapter" / "checkpoints"
    deadline = time.monotonic() + 1200
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            # trainer_state.json is the last file the trainer writes into a checkpoint.
            if list(checkpoints.glob("checkpoint-*/trainer_state.json")):
                break
            time.sleep(0.5)
        assert proc.poll() is None, "the pipeline ended before it could be interrupted"
        assert time.monotonic() < deadline, "no training checkpoint appeared"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def test_pipeline_resumes_after_interruption_and_then_skips(env: dict[str, str]) -> None:
    folder = Path(env["LLMREC_RUNS_DIR"]) / "movie-small" / "tiny"
    _interrupt_during_training(env, folder)
    stamps = folder / ".stages"
    assert {p.stem for p in stamps.glob("*.json")} == {"data", "embed"}

    out = _run(env)
    assert "[skip] data" in out and "[skip] embed" in out
    assert "--resume" in out  # training continued from its checkpoint
    log = json.loads((folder / "adapter" / "training_log.json").read_text())
    assert log  # the training log survived the interruption

    # every stage's outputs, and the comparison table with LLM runs and baselines
    results = (folder / "results.md").read_text()
    for name in ("llm-lora", "llm-base", "most-popular", "recent-popular", "content"):
        assert f"| {name}" in results, results
    metrics = json.loads((folder / "eval" / "llm-lora" / "metrics.json").read_text())
    assert metrics["n_examples"] == 6
    report = (folder / "report.md").read_text()
    assert "## Results" in report and "## Samples" in report and (folder / "metrics.png").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config"]["train"]["epochs"] == 3
    assert {"data", "embed", "train", "generate-test-lora"} <= set(manifest["stages"])
    assert manifest["versions"]["llmrec-train"]

    again = _run(env)
    assert "[run ]" not in again, again
