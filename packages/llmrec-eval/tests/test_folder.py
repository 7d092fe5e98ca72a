"""`evaluate --predictions FOLDER`: every result file in one call, one output folder each, one table.

The first test (marked `torch`) embeds text with the real MiniLM model; the others
never load a model: their texts are exact titles and `embed_texts` is replaced by a failing function.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from eval_contract_files import write_catalogue, write_jsonl
from llmrec_eval.cli import app
from llmrec_eval.report import markdown_table
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

runner = CliRunner()
EVALUATE = importlib.import_module("llmrec_eval.evaluate")


def _cli(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def _no_embedding(*args, **kwargs):
    raise AssertionError("embedded before the input checks")


def _bigrec_from_real(ml_data: Path, path: Path, n: int, shift: int) -> Path:
    """A BIGRec result file on real test examples: every third example predicts its target's exact
    title, the others a lower-cased title `shift` items away (grounded by embedding it)."""
    titles = pl.read_parquet(ml_data / "items.parquet")["title"].to_list()
    with open(ml_data / "test.jsonl") as f:
        rows = [json.loads(line) for _, line in zip(range(n), f, strict=False)]
    result = [
        {
            "instruction": r["instruction"],
            "input": r["input"],
            "output": r["output"],
            "predict": [
                r["output"]
                if i % 3 == 0
                else titles[(r["target_item_id"] + shift) % len(titles)].lower()
            ],
        }
        for i, r in enumerate(rows)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=4))
    return path


def _strip_best(line: str) -> str:
    return line.replace(" **(best, significant)**", "").replace(" **(best)**", "")


@pytest.mark.torch
def test_folder_of_two_bigrec_files_equals_each_file_alone(ml_data, tmp_path, monkeypatch):
    results = tmp_path / "results"
    _bigrec_from_real(ml_data, results / "epoch_1.json", 40, shift=1)
    _bigrec_from_real(ml_data, results / "epoch_2.json", 40, shift=0)
    common = ["--items", ml_data / "items.parquet", "--cache-dir", tmp_path / "cache"]
    common += ["--preset", "bigrec", "--bootstrap", "200"]
    item_matrices = []
    real_embed = EVALUATE.embed_texts

    def counting_embed(texts, *args, **kwargs):
        item_matrices.append(len(texts))
        return real_embed(texts, *args, **kwargs)

    monkeypatch.setattr(EVALUATE, "embed_texts", counting_embed)
    res = _cli("evaluate", "--predictions", results, "--out", tmp_path / "eval", *common)
    assert res.exit_code == 0, res.output
    n_items = pl.read_parquet(ml_data / "items.parquet").height
    assert item_matrices == [n_items]  # the catalogue is embedded once for both files
    out = tmp_path / "eval"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["epoch_1", "epoch_2"]
    table = (out / "table.md").read_text()
    assert table in res.output
    rows = json.loads((out / "table.json").read_text())["rows"]
    assert [r["name"] for r in rows] == ["epoch_1", "epoch_2"]
    table_lines = [_strip_best(line) for line in table.splitlines()]
    for row in rows:
        name = row["name"]
        alone = tmp_path / "alone" / name
        res = _cli("evaluate", "--predictions", results / f"{name}.json", "--out", alone, *common)
        assert res.exit_code == 0, res.output
        want = json.loads((alone / "metrics.json").read_text())
        got = json.loads((out / name / "metrics.json").read_text())
        assert got["name"] == want["name"] == name
        for key in ("metrics", "ci95", "coverage", "rank", "validity_rate", "n_examples"):
            assert got[key] == want[key], key
        assert row["metrics"] == want["metrics"]
        assert_frame_equal(
            pl.read_parquet(out / name / "ranks.parquet"), pl.read_parquet(alone / "ranks.parquet")
        )
        assert markdown_table([want]).splitlines()[2] in table_lines
    # the file that predicts the exact target more often (shift 0: every text is its own target) wins
    best = json.loads((out / "table.json").read_text())["best"]
    assert best["best"] == "epoch_2" and best["runner_up"] == "epoch_1"
    assert "**epoch_2**" in table and "runner-up epoch_1" in table


TITLES = ["Heat (1995)", "Jaws (1975)", "Fargo (1996)", "Alien (1979)", "Brazil (1985)"]


@pytest.fixture
def tiny(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    return write_catalogue(tmp_path / "cat", TITLES, vectors)


def _bigrec(path: Path, predicts: list[list[str]], targets: list[int]) -> Path:
    rows = [
        {"instruction": "", "input": "", "output": f'"{TITLES[t]}"\n', "predict": p}
        for p, t in zip(predicts, targets, strict=True)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows))
    return path


def _llmrec(folder: Path, predicts: list[list[str]], targets: list[int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "predictions.meta.json").write_text(json.dumps({"model": "SmolLM2"}))
    return write_jsonl(
        folder / "predictions.jsonl",
        [
            {"example_id": f"test-{i}", "target_item_id": t, "predictions": p}
            for i, (p, t) in enumerate(zip(predicts, targets, strict=True))
        ],
    )


def test_mixed_folder_names_rows_by_path_and_reruns_everything(tiny, tmp_path, monkeypatch):
    results = tmp_path / "results"
    _llmrec(results / "runs" / "lora", [['"Heat (1995)"'], ['"Heat (1995)"']], [0, 1])
    _bigrec(results / "bigrec" / "test_result.json", [['"Heat (1995)"'], ['"Jaws (1975)"']], [0, 1])
    (results / "notes.json").write_text('{"not": "a result list"}')
    monkeypatch.setattr(EVALUATE, "embed_texts", _no_embedding)
    monkeypatch.setattr("llmrec_eval.grounding.embed_texts", _no_embedding)
    out = results / "eval"  # inside the input folder: never read back as an input
    args = ["evaluate", "--predictions", results, "--items", tiny[0], "--embeddings", tiny[1]]
    args += ["--out", out, "--bootstrap", "0"]
    res = _cli(*args)
    assert res.exit_code == 0, res.output
    assert "notes.json" in res.output and "not evaluated" in res.output
    rows = json.loads((out / "table.json").read_text())["rows"]
    assert [r["name"] for r in rows] == ["bigrec/test_result", "runs/lora"]  # sorted paths
    assert [r["metrics"]["hr@1"] for r in rows] == [1.0, 0.5]
    lora = json.loads((out / "runs" / "lora" / "metrics.json").read_text())
    assert lora["source"]["predictions_meta"] == {"model": "SmolLM2"}
    assert json.loads((out / "bigrec" / "test_result" / "metrics.json").read_text())["name"] == (
        "bigrec/test_result"
    )
    table = (out / "table.md").read_text().splitlines()
    assert table[2].startswith("| bigrec/test_result |") and table[3].startswith("| runs/lora |")
    assert {"manifest.json", "metrics.png", "table.json"} <= {p.name for p in out.iterdir()}

    # Run again: the same two rows, each evaluated again (no metrics are reused).
    # atomic writes replace the file: a new inode proves it was written again (its text may be
    # identical when both runs fall in the same second)
    manifest = out / "runs" / "lora" / "manifest.json"
    first = (manifest.stat().st_ino, manifest.stat().st_mtime_ns)
    res = _cli(*args)
    assert res.exit_code == 0, res.output
    assert [r["name"] for r in json.loads((out / "table.json").read_text())["rows"]] == [
        "bigrec/test_result",
        "runs/lora",
    ]
    assert (manifest.stat().st_ino, manifest.stat().st_mtime_ns) != first  # rewritten


def test_one_bad_file_fails_before_anything_is_written(tiny, tmp_path, monkeypatch):
    results = tmp_path / "results"
    _bigrec(results / "a_good.json", [['"Heat (1995)"']], [0])
    _bigrec(results / "b_bad.json", [['"Heat (1995)"'], []], [0, 1])
    monkeypatch.setattr(EVALUATE, "embed_texts", _no_embedding)
    monkeypatch.setattr("llmrec_eval.grounding.embed_texts", _no_embedding)
    common = ["evaluate", "--predictions", results, "--items", tiny[0], "--embeddings", tiny[1]]
    res = _cli(*common, "--out", tmp_path / "eval")
    assert res.exit_code == 2, res.output
    assert "b_bad.json, row 1 (0-based), field 'predict': empty prediction" in res.output
    assert not (tmp_path / "eval").exists()

    # A check that names another file (the examples file) still says which result file failed.
    _llmrec(results / "c_run", [['"Heat (1995)"']], [0])
    (results / "b_bad.json").unlink()
    examples = write_jsonl(
        tmp_path / "test.jsonl",
        [{"example_id": "test-7", "history_item_ids": [1], "target_item_id": 0, "timestamp": 1}],
    )
    res = _cli(*common, "--exclude-history", "--examples", examples, "--out", tmp_path / "eval")
    assert res.exit_code == 2, res.output
    assert "a_good.json" in res.output.splitlines()[-1]
    assert not (tmp_path / "eval").exists()


def test_empty_folder_and_name_flag_are_clear_errors(tiny, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    common = ["evaluate", "--predictions", results, "--items", tiny[0], "--embeddings", tiny[1]]
    res = _cli(*common, "--out", tmp_path / "eval")
    assert res.exit_code == 2, res.output
    assert f"{results}: no result files in this folder" in res.output
    (results / "metrics.json").write_text("{}")  # a JSON object is not a result file
    res = _cli(*common, "--out", tmp_path / "eval")
    assert res.exit_code == 2 and "no result files" in res.output
    _bigrec(results / "r.json", [['"Heat (1995)"']], [0])
    res = _cli(*common, "--out", results)
    assert res.exit_code == 2 and "is the folder of result files" in res.output
    res = _cli(*common, "--out", tmp_path / "eval", "--name", "x")
    assert res.exit_code == 2 and "rows are named by path" in res.output
    assert not (tmp_path / "eval").exists()
