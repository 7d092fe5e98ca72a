"""`--config FILE`: a prepare run from a TOML file equals the same run from flags (real data)."""

from __future__ import annotations

import json
from pathlib import Path

from llmrec_data.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def _files(tmp_path: Path) -> tuple[Path, Path]:
    rows = [f"u{u},{i},{10 * u + t}" for u in range(4) for t, i in enumerate((1, 2, 3, 1, 2))]
    (tmp_path / "i.csv").write_text("user_id,item_id,timestamp\n" + "\n".join(rows) + "\n")
    (tmp_path / "items.csv").write_text("item_id,title\n1,Heat\n2,Fargo\n3,Jaws\n")
    return tmp_path / "i.csv", tmp_path / "items.csv"


def test_prepare_from_a_config_file_equals_prepare_from_flags(tmp_path: Path):
    interactions, items = _files(tmp_path)
    flags = ["--dataset", "custom", "--interactions", str(interactions), "--items", str(items)]
    flags += ["--min-history", "1", "--split", "leave-last-out", "--no-keep-duplicates"]
    result = runner.invoke(app, ["prepare", *flags, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    config = tmp_path / "prepare.toml"
    config.write_text(
        f'dataset = "custom"\ninteractions = "{interactions}"\nitems = "{items}"\n'
        'min-history = 1\nsplit = "leave-last-out"\nkeep_duplicates = false\n'
    )
    result = runner.invoke(app, ["prepare", "--config", str(config), "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    for name in ("train.jsonl", "valid.jsonl", "test.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    settings = [json.loads((tmp_path / r / "manifest.json").read_text())["config"] for r in "ab"]
    assert {**settings[0], "out": None} == {**settings[1], "out": None}


def test_a_flag_overrides_the_file_and_a_bad_key_is_one_line(tmp_path: Path):
    interactions, items = _files(tmp_path)
    config = tmp_path / "prepare.toml"
    config.write_text(
        f'dataset = "custom"\ninteractions = "{interactions}"\nitems = "{items}"\nmin_history = 9\n'
    )
    result = runner.invoke(
        app,
        ["prepare", "--config", str(config), "--min-history", "1", "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 0, result.output
    config.write_text('dataset = "custom"\nmin_histroy = 1\n')
    result = runner.invoke(app, ["prepare", "--config", str(config), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert f"error: {config}, line 2, field 'min_histroy': unknown option of " in result.output
    assert "did you mean 'min_history'?" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_interests_prepare_from_a_config_file_equals_prepare_from_flags(tmp_path: Path):
    """`interests prepare` takes `--config` like every command (the real YouTube-8M labels)."""
    flags = ["--n-train", "6", "--n-valid", "2", "--n-test", "2", "--n-unseen", "2", "--seed", "3"]
    result = runner.invoke(app, ["interests", "prepare", *flags, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    config = tmp_path / "interests.toml"
    config.write_text("n_train = 6\nn_valid = 2\nn-test = 2\nn_unseen = 2\nseed = 3\n")
    argv = ["interests", "prepare", "--config", str(config), "--out", str(tmp_path / "b")]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    for name in ("train", "valid", "test", "unseen", "showcase"):
        a, b = (tmp_path / r / f"{name}.jsonl" for r in "ab")
        assert a.read_bytes() == b.read_bytes(), name
    settings = [json.loads((tmp_path / r / "manifest.json").read_text())["config"] for r in "ab"]
    assert settings[0] == settings[1] and settings[0]["n_test"] == 2


def test_check_config_refuses_bad_interests_settings_without_running(tmp_path: Path):
    config = tmp_path / "interests.toml"
    config.write_text("n_train = 6\nn_tset = 2\n")
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        ["check-config", "--", "interests", "prepare", "--config", str(config), "--out", str(out)],
    )
    assert result.exit_code == 2
    assert f"{config}, line 2, field 'n_tset': unknown option of " in result.output
    assert "did you mean 'n_test'?" in result.output
    config.write_text("min_videos = 9\n")
    argv = ["interests", "prepare", "--config", str(config), "--out", str(out)]
    result = runner.invoke(app, ["check-config", "--", *argv])
    assert result.exit_code == 2
    assert "expected 1 <= min <= max, got 9 and 8" in result.output
    assert not out.exists()
