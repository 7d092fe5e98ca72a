"""One torch job at a time: a second holder of the machine's torch lock waits, saying so, and a
pipeline stage that loads torch waits for it too (pipeline/torch_lock.py). No model is loaded: the
holders are small Python processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline import ROOT
from pipeline.torch_lock import LOCK_ENV, loads_torch

HOLD = """
import sys
from pipeline.torch_lock import torch_job
with torch_job("the test's holder"):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""

STAGE = """
import sys
from pathlib import Path
from pipeline.runs import Run
Run(Path(sys.argv[1]), force=False).stage(
    "generate-x", [sys.executable, "-c", "print('stage ran', flush=True)"], [], []
)
"""


def _python(program: str, *args: str, lock: Path) -> subprocess.Popen:
    env = {**os.environ, LOCK_ENV: str(lock), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", program, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _hold(lock: Path) -> subprocess.Popen:
    holder = _python(HOLD, lock=lock)
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_second_holder_waits_for_the_first_and_says_so(tmp_path):
    lock = tmp_path / "torch.lock"
    first = _hold(lock)
    second = _python(HOLD, lock=lock)
    assert second.stderr is not None and second.stdout is not None
    waiting = second.stderr.readline()  # printed before it blocks
    assert "waiting for another llmrec torch job" in waiting
    assert "the test's holder" in waiting  # who holds it
    assert second.poll() is None  # still blocked: the first holds the lock
    first.communicate("")  # the first releases it by finishing
    assert first.returncode == 0
    assert second.stdout.readline() == "held\n"
    second.communicate("")
    assert second.returncode == 0


def test_a_torch_stage_waits_for_the_lock_and_then_runs(tmp_path):
    lock = tmp_path / "torch.lock"
    holder = _hold(lock)
    stage = _python(STAGE, str(tmp_path / "run"), lock=lock)
    assert stage.stderr is not None and stage.stdout is not None
    assert "waiting for another llmrec torch job" in stage.stderr.readline()
    assert stage.poll() is None
    holder.communicate("")
    out, _ = stage.communicate()
    assert stage.returncode == 0
    assert "stage ran" in out


def test_only_commands_known_not_to_import_torch_run_without_the_lock():
    assert not loads_torch(["llmrec-data", "prepare", "--dataset", "movie"])
    assert not loads_torch(["llmrec-eval", "baseline", "most-popular"])
    assert loads_torch(["llmrec-data", "embed", "--data", "d"])
    assert loads_torch(["llmrec-train", "recommend", "--model", "sasrec"])
    assert loads_torch(["llmrec-eval", "evaluate", "--predictions", "p.jsonl"])
    assert loads_torch(["accelerate", "launch", "-m", "llmrec_train", "train"])
