"""`llmrec-train` answers --help, a wrong flag and bad input without importing torch & co."""

from __future__ import annotations

from llmrec_cli.startup import startup_imports


def test_help_flag_errors_and_bad_input_import_no_heavy_library(tmp_path):
    missing = str(tmp_path / "missing.jsonl")
    bad_input = [
        ["train", "--train-file", missing, "--out", str(tmp_path / "adapter")],
        ["train", "--train-file", missing, "--out", str(tmp_path / "a"), "--lr-scheduler", "x"],
        ["generate", "--examples", missing, "--out", str(tmp_path / "predictions.jsonl")],
        ["params", "--model", str(tmp_path / "no-model")],
        ["recommend", "--model", "sasrec", "--train", missing, "--valid", missing]
        + ["--test", missing, "--items", str(tmp_path / "items.parquet"), "--out", str(tmp_path)],
        ["rank", "--examples", missing, "--items", str(tmp_path / "items.parquet")]
        + ["--candidates", str(tmp_path / "scores"), "--out", str(tmp_path / "rank")],
    ]
    runs = startup_imports("llmrec_train.cli:app", bad_input)
    assert len(runs) > len(bad_input) + 10  # besides bad input, every command's help and flag error
    for run in runs:
        assert run.exit_code == (0 if run.args[-1] == "--help" else 2), run
        assert run.imported == [], f"{run.args} imported {run.imported}"


def test_lr_schedulers_are_transformers_scheduler_types():
    from llmrec_train.config import LR_SCHEDULERS
    from transformers.trainer_utils import SchedulerType

    assert set(LR_SCHEDULERS) == {t.value for t in SchedulerType}
