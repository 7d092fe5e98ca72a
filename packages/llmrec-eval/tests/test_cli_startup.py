"""`llmrec-eval` (interests and baselines included) answers --help, a wrong flag and bad input
without importing torch & co."""

from __future__ import annotations

from llmrec_cli.startup import startup_imports


def test_help_flag_errors_and_bad_input_import_no_heavy_library(tmp_path):
    missing = str(tmp_path / "missing")
    bad_input = [
        ["evaluate", "--out", str(tmp_path / "out"), "--predictions", missing, "--items", missing],
        ["baseline", "content", "--out", str(tmp_path / "out"), "--examples", missing]
        + ["--items", missing, "--embeddings", missing, "--train", missing],
        ["interests", "evaluate", "--examples", missing, "--predictions", missing],
    ]
    runs = startup_imports("llmrec_eval.cli:app", bad_input)
    assert len(runs) > len(bad_input) + 20  # besides bad input, every command's help and flag error
    for run in runs:
        assert run.exit_code == (0 if run.args[-1] == "--help" else 2), run
        assert run.imported == [], f"{run.args} imported {run.imported}"
