"""End to end: `invoke pipeline` at tiny sizes on real data with the real SmolLM2 model.

One run is interrupted (SIGINT to invoke, as Ctrl-C) during training: invoke stops the stage, says so
in one line and exits 130. The same command then finishes it without redoing the stages that had
finished, and training resumes mid-epoch from its checkpoint. A third run skips everything and keeps
the recorded wall times; `invoke report` finds the run without being told its name.
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

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
INVOKE = [sys.executable, "-m", "invoke"]
# 16 examples, batch 4: one epoch of 4 optimizer steps, a checkpoint every 2 steps.
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
    "train.epochs=1",
    "--set",
    "train.save_steps=2",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if not os.environ.get("LLMREC_DATA_HOME"):
        pytest.fail("LLMREC_DATA_HOME must point at the raw datasets (../shared/datasets in CI)")
    runs = tmp_path_factory.mktemp("runs")
    return {**os.environ, "LLMREC_RUNS_DIR": str(runs), "HF_HUB_OFFLINE": "1"}


def _run(env: dict[str, str], command: list[str] = COMMAND) -> tuple[str, str]:
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, done.stderr


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(args)
    return found


def _interrupt_during_training(env: dict[str, str], folder: Path) -> str:
    """Start the pipeline and send SIGINT to invoke alone once the first mid-epoch training
    checkpoint is complete; return invoke's stderr."""
    proc = subprocess.Popen(
        COMMAND,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # trainer_state.json is the last file the trainer writes into a checkpoint.
    first = folder / "adapter" / "checkpoints" / "checkpoint-2" / "trainer_state.json"
    deadline = time.monotonic() + 1200
    try:
        while time.monotonic() < deadline and proc.poll() is None and not first.exists():
            time.sleep(0.5)
        assert proc.poll() is None, "the pipeline ended before it could be interrupted"
        assert first.exists(), "no training checkpoint appeared"
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    assert proc.returncode == 130, stderr[-3000:]
    return stderr


def test_pipeline_resumes_after_interruption_and_then_skips(env: dict[str, str]) -> None:
    folder = Path(env["LLMREC_RUNS_DIR"]) / "movie-small" / "tiny"
    stderr = _interrupt_during_training(env, folder)
    assert stderr.strip().splitlines()[-1] == (
        "interrupted: stage train stopped (SIGINT); run the same command again to resume: "
        "finished stages are skipped, training continues from its last checkpoint"
    )
    assert not _processes_mentioning(str(folder)), "a stage kept running after invoke stopped"
    stamps = folder / ".stages"
    assert {p.stem for p in stamps.glob("*.json")} == {"data", "embed"}
    assert not (folder / "adapter" / "adapter_model.safetensors").exists()

    out, err = _run(env)
    assert "[skip] data" in out and "[skip] embed" in out
    assert "--resume auto: resuming from" in err and "checkpoint-2 (same settings and data)" in err
    manifest = json.loads((folder / "adapter" / "manifest.json").read_text())
    assert manifest["global_steps"] == 4  # the epoch finished, not started over

    # every stage's outputs, and the comparison table with LLM runs and baselines
    results = (folder / "results.md").read_text()
    for name in ("llm-lora", "llm-base", "most-popular", "recent-popular", "content"):
        assert f"| {name}" in results, results
    # the fusion of every source, and its ablations re-tuned on valid, are rows too
    for name in ("fusion", "fusion-without-llm", "fusion-without-collab"):
        assert f"| {name} " in results, results
    fusion = json.loads((folder / "eval" / "fusion" / "metrics.json").read_text())["fusion"]
    assert set(fusion["weights"]) == {
        "sasrec",
        "transition",
        "content",
        "recent-popular",
        "llm-lora",
        "rank-lora",
    }
    # the LLM as a ranker of the other rows' candidates, LoRA on and off, is a row too
    for name in ("rank-lora", "rank-base"):
        assert f"| {name} " in results, results
    metrics = json.loads((folder / "eval" / "llm-lora" / "metrics.json").read_text())
    assert metrics["n_examples"] == 6
    report = (folder / "report.md").read_text()
    assert "## Results" in report and "## Samples" in report and (folder / "metrics.png").exists()
    # the questions the table is read for, each answered from its paired interval
    assert "## Paired comparisons" in report and "| fusion - fusion without the LLM | 6 |" in report
    assert "- LLM LoRA on and LoRA off cannot be told apart" in report or (
        "- LLM LoRA on is significantly" in report
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config"]["train"]["epochs"] == 1
    assert {"data", "embed", "train", "generate-test-lora"} <= set(manifest["stages"])
    assert manifest["versions"]["llmrec-train"]
    wall_time = manifest["wall_time_s"]
    assert wall_time > 10

    again, _ = _run(env)
    assert "[run ]" not in again, again
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["wall_time_s"] == wall_time  # the stages' real times, not the no-op's
    assert manifest["invocation_wall_time_s"] < wall_time
    assert f"total wall time {wall_time} s" in (folder / "report.md").read_text()

    # `invoke report` without --run finds the tiny run (it used to look for `cpu` only)
    (folder / "report.md").unlink()
    out, _ = _run(env, [*INVOKE, "report", "--dataset", "movie-small"])
    assert f"wrote {folder / 'report.md'}" in out and (folder / "report.md").exists()
