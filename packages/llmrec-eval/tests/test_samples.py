"""`llmrec-eval samples`: the report's side-by-side examples, from real ranks."""

from __future__ import annotations

import json

import pytest
from llmrec_eval.cli import app
from typer.testing import CliRunner

pytestmark = pytest.mark.torch

runner = CliRunner()


def test_samples_show_history_target_and_each_runs_ranking(ml_data, tmp_path):
    common = ["--examples", str(ml_data / "test.jsonl"), "--items", str(ml_data / "items.parquet")]
    for kind in ("most-popular", "recent-popular"):
        res = runner.invoke(
            app,
            ["baseline", kind, *common, "--train", str(ml_data / "train.jsonl")]
            + ["--bootstrap", "0", "--out", str(tmp_path / kind)],
        )
        assert res.exit_code == 0, res.output
    out = tmp_path / "samples.md"
    res = runner.invoke(
        app,
        ["samples", *common, "--n", "3", "--out", str(out)]
        + [
            "--run",
            f"pop={tmp_path / 'most-popular'}",
            "--run",
            f"recent={tmp_path / 'recent-popular'}",
        ],
    )
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert text.count("#### ") == 3
    lines = (ml_data / "test.jsonl").read_text().splitlines()
    rows = {json.loads(line)["example_id"]: json.loads(line) for line in lines}
    shown = [line.split()[1] for line in text.splitlines() if line.startswith("#### ")]
    for example_id in shown:
        assert f'Target: "{rows[example_id]["target_title"]}"' in text
    assert text.count("| pop |") == 3 and text.count("| recent |") == 3


def test_samples_bad_run_argument(ml_data, tmp_path):
    res = runner.invoke(
        app,
        [
            "samples",
            "--examples",
            str(ml_data / "test.jsonl"),
            "--items",
            str(ml_data / "items.parquet"),
        ]
        + ["--run", "no-equals-sign"],
    )
    assert res.exit_code != 0
    assert "NAME=FOLDER" in res.output
