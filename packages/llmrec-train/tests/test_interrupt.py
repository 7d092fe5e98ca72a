"""Ctrl-C during training: one line, exit 130, and the run resumes mid-epoch from its last checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow


def test_interrupted_epoch_resumes_from_a_mid_epoch_checkpoint(model_path, data_dir, tmp_path):
    out = tmp_path / "out"
    # 16 examples, batch 4: one epoch of 4 steps, a checkpoint every 2 steps.
    argv = [
        sys.executable,
        "-m",
        "llmrec_train",
        "train",
        "--train-file",
        str(data_dir / "train.jsonl"),
    ]
    argv += ["--output-dir", str(out), "--model", model_path, "--n-train", "16", "--epochs", "1"]
    argv += ["--batch-size", "4", "--save-steps", "2", "--resume", "auto"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = out / "checkpoints" / "checkpoint-2" / "trainer_state.json"
    deadline = time.monotonic() + 600
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "training ended before it could be interrupted"
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted: training stopped; the same command with --resume auto")
    assert "checkpoint-2" in last, last
    assert not (out / "adapter_model.safetensors").exists()
    assert not (out / "epochs" / "epoch-1").exists()  # the epoch did not end

    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "checkpoint-2 (same settings and data)" in done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["global_steps"] == 4
    # the epoch that ended after the resume is kept, loadable like the final adapter
    assert [e["epoch"] for e in manifest["epoch_adapters"]] == [1]
    assert (out / "epochs" / "epoch-1" / "adapter_config.json").is_file()
    log = json.loads((out / "training_log.json").read_text())
    assert [s["step"] for s in log["steps"]][-2:] == [3, 4]
