"""End to end: `invoke interests --profile tiny` on the real YouTube-8M labels with the real SmolLM2.

Two training steps leave LoRA ON close to the base model, which writes prose: free decoding then
fails the format, and constrained decoding must still give, on the in-distribution test set and on the
unseen prompts alike, outputs that llmrec-eval's parser reads as compliant, naming only input labels,
never twice, with nothing after the format. The showcase prompts appear verbatim in the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not os.environ.get("LLMREC_DATA_HOME"):
        pytest.fail("LLMREC_DATA_HOME must point at the raw datasets (../shared/datasets in CI)")
    runs = tmp_path_factory.mktemp("runs")
    env = {**os.environ, "LLMREC_RUNS_DIR": str(runs), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "invoke", "interests", "--profile", "tiny"]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return runs / "interests" / "tiny"


def test_constrained_profiles_comply_on_both_test_sets(run_folder: Path) -> None:
    metrics = json.loads((run_folder / "metrics.json").read_text())
    assert len(metrics["sets"]) == 2  # in-distribution and unseen prompts; the showcase is shown
    for name, runs in metrics["sets"].items():
        constrained = runs["lora_on_constrained"]
        assert constrained["n"] == 4, name
        assert constrained["format_compliance"] == 1.0, name
        assert constrained["faithfulness"] == 1.0 and constrained["invented_interests"] == 0
        assert constrained["repeat_rate"] == 0.0 and constrained["run_on_rate"] == 0.0
        assert constrained["mean_primary_named"] >= 1.0
        assert set(runs) >= {"lora_off", "lora_on", "no_model", "examples"}
        assert runs["no_model"]["format_compliance"] == 1.0, name  # the baseline's own rule


def test_report_shows_every_set_and_the_showcase_verbatim(run_folder: Path) -> None:
    report = (run_folder / "report.md").read_text()
    assert (
        "| metric | LoRA OFF | LoRA ON (free) | LoRA ON (constrained) | no model (recurring labels) |"
    ) in report
    assert "## unseen prompts (wordings and layouts never seen in training): 4 held-out" in report
    assert "## showcase prompts: 4 prompts, shown, not scored" in report
    assert (
        "[system] You are a helpful assistant.\n"
        "Topics watched:\n1) Makeup, Cosmetics, Lipstick\n2) Hairstyle, Wig\n"
        "3) Fashion, Streetwear\n4) Skincare\nSummarize the user's interests.\n```"
    ) in report
    showcase = report.split("## showcase prompts")[1].split("## Cases")[0]
    assert showcase.count("LoRA ON (constrained): complies") == 4
    meta = json.loads((run_folder / "predictions" / "constrained" / "unseen.meta.json").read_text())
    assert meta["constrained_interests"] is True
