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


def test_version_flag():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("llmrec-data ")


def test_unwritable_output_folder_is_one_line_before_any_work(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for args in (
        ["prepare", "--dataset", "movie-small", "--out", str(blocker / "out")],
        ["interests", "prepare", "--out", str(blocker / "out")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "cannot write to this output folder" in result.output
        assert "Traceback" not in result.output


def test_interrupt_exits_130_and_leaves_no_partial_file(tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys

    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    n = 1_500_000  # big enough that prepare is still working when the signal arrives
    pl.DataFrame(
        {
            "user_id": rng.integers(0, 20_000, n),
            "item_id": rng.integers(0, 5_000, n),
            "timestamp": rng.integers(0, 10**9, n),
        }
    ).write_csv(tmp_path / "i.csv")
    pl.DataFrame({"item_id": range(5_000), "title": [f"Item {i}" for i in range(5_000)]}).write_csv(
        tmp_path / "items.csv"
    )
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from llmrec_data.cli import main; main()", "prepare"]
    command += ["--dataset", "custom", "--interactions", str(tmp_path / "i.csv")]
    command += ["--items", str(tmp_path / "items.csv"), "--out", str(out)]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if "read:" in line:  # the raw files are parsed: the work is under way
                os.kill(process.pid, signal.SIGINT)
                break
        rest = process.stderr.read()
        assert process.wait(timeout=60) == 130, rest
    assert "interrupted" in rest
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]


def test_unknown_embedding_model_is_one_line_before_loading(tmp_path: Path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    (tmp_path / "i.csv").write_text("user_id,item_id,timestamp\nu,1,5\nu,2,6\nu,1,7\n")
    (tmp_path / "items.csv").write_text("item_id,title\n1,Heat\n2,Fargo\n")
    data = tmp_path / "data"
    prepared = runner.invoke(
        app,
        ["prepare", "--dataset", "custom", "--out", str(data), "--interactions"]
        + [str(tmp_path / "i.csv"), "--items", str(tmp_path / "items.csv")],
    )
    assert prepared.exit_code == 0, prepared.output
    for model, expected in (
        ("no-such-org/no-such-model", "HF_HUB_OFFLINE is set"),
        (str(tmp_path / "missing-folder"), "no such model folder"),
    ):
        result = runner.invoke(app, ["embed", "--data", str(data), "--model", model])
        assert result.exit_code == 2, result.output
        assert expected in result.output and "available offline" in result.output
        assert "Traceback" not in result.output
    assert not (data / "item_embeddings.npy").exists()
