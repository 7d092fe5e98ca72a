"""The CLI: flags from the config dataclasses, and errors printed without a traceback."""

from __future__ import annotations

from pathlib import Path

from llmrec_data.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def test_prepare_help_lists_every_config_field():
    from dataclasses import fields

    from llmrec_data import PrepareConfig

    result = runner.invoke(app, ["prepare", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for f in fields(PrepareConfig):
        assert "--" + f.name.replace("_", "-") in result.output


def test_prepare_and_error_output(tmp_path: Path):
    (tmp_path / "i.csv").write_text("user_id,item_id,timestamp\nu,1,5\nu,2,6\nu,1,7\n")
    (tmp_path / "items.csv").write_text("item_id,title\n1,Heat\n2,Fargo\n")
    args = [
        "prepare",
        "--dataset",
        "custom",
        "--interactions",
        str(tmp_path / "i.csv"),
        "--items",
        str(tmp_path / "items.csv"),
    ]
    result = runner.invoke(
        app,
        [*args, "--out", str(tmp_path / "out"), "--min-history", "1", "--split", "leave-last-out"],
    )
    assert result.exit_code == 0, result.output
    assert "2 items, 1 users, 3 interactions" in result.output
    (tmp_path / "i.csv").write_text("user_id,item_id,timestamp\nu,1,5\nu,3,6\n")
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "out2")])
    assert result.exit_code == 2
    assert "i.csv, line 3, field 'item id': item id '3' is not in the items file" in result.output
    assert "Traceback" not in result.output
