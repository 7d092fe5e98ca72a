"""`llmrec-data` (interests included) answers --help, a wrong flag and bad input without importing
torch & co."""

from __future__ import annotations

from llmrec_cli.startup import startup_imports


def test_help_flag_errors_and_bad_input_import_no_heavy_library(tmp_path):
    bad_input = [
        ["embed", "--data", str(tmp_path / "missing")],
        ["interests", "prepare", "--out", str(tmp_path / "out"), "--youtube8m-dir", str(tmp_path)],
    ]
    runs = startup_imports("llmrec_data.cli:app", bad_input)
    assert len(runs) > len(bad_input) + 8  # besides bad input, every command's help and flag error
    for run in runs:
        assert run.exit_code == (0 if run.args[-1] == "--help" else 2), run
        assert run.imported == [], f"{run.args} imported {run.imported}"
