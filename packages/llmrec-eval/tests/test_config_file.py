"""`--config FILE`: an evaluation from a TOML file equals the same evaluation from flags; a bad key
or value is one line, exit 2, before any work (no model: the catalogue's vectors are given)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from eval_contract_files import write_catalogue
from llmrec_eval.cli import app
from typer.testing import CliRunner

runner = CliRunner()
TITLES = ["Heat (1995)", "Jaws (1975)", "Fargo (1996)", "Alien (1979)", "Brazil (1985)"]


def _inputs(tmp_path: Path) -> list[str]:
    vectors = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    items, embeddings = write_catalogue(tmp_path / "cat", TITLES, vectors)
    rows = [
        {"instruction": "", "input": "", "output": f'"{TITLES[t]}"\n', "predict": p}
        for p, t in [(['"Jaws (1975)"', '"Heat (1995)"'], 0), (['"Fargo (1996)"'], 2)]
    ]
    pred = tmp_path / "r.json"
    pred.write_text(json.dumps(rows))
    return ["--predictions", str(pred), "--items", str(items), "--embeddings", str(embeddings)]


def _metrics(folder: Path) -> dict:
    metrics = json.loads((folder / "metrics.json").read_text())
    return {k: metrics[k] for k in ("metrics", "grounding")}


def test_evaluate_from_a_config_file_equals_evaluate_from_flags(tmp_path: Path):
    inputs = _inputs(tmp_path)
    flags = ["--fusion", "min", "--distance", "cosine", "--ks", "1,3", "--bootstrap", "20"]
    result = runner.invoke(app, ["evaluate", *inputs, *flags, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    config = tmp_path / "evaluate.toml"
    config.write_text('fusion = "min"\ndistance = "cosine"\nks = "1,3"\nbootstrap = 20\n')
    args = ["evaluate", *inputs, "--config", str(config), "--out", str(tmp_path / "b")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")
    assert _metrics(tmp_path / "b")["grounding"]["fusion"] == "min"


def test_bad_config_keys_and_values_are_one_line_before_any_work(tmp_path: Path):
    inputs = _inputs(tmp_path)
    config = tmp_path / "evaluate.toml"
    for text, message in [
        (
            'fusion = "min"\nbootstrapp = 3\n',
            "line 2 (1-based), field 'bootstrapp': unknown option of ",
        ),
        (
            'fusion = "best"\n',
            "line 1 (1-based), field 'fusion': expected one of first, min, interleave, rrf",
        ),
        (
            "exclude_history = 1\n",
            "line 1 (1-based), field 'exclude_history': expected true or false, got 1",
        ),
    ]:
        config.write_text(text)
        args = ["evaluate", *inputs, "--config", str(config), "--out", str(tmp_path / "x")]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"error: {config}, {message}"), result.output
        assert not (tmp_path / "x").exists()
