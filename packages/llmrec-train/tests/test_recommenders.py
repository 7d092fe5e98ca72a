"""Recommenders (`llmrec-train recommend`): they learn, their score files follow the contract, bad
input is refused, and an interrupted run leaves no score file.

Data: MovieLens ml-latest-small as the real `llmrec-data prepare --dataset movie-small` writes it
(BIGRec's time split; run as a command, as a user would, never imported), 20,000 sampled training
examples, 1,000 valid and 300 test. SASRec tests (marked `torch`) train a small network for a few
epochs in under a minute of CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from llmrec_train.recommenders import RecommendConfig, read_scores, recommend
from llmrec_train.recommenders.data import read_catalogue, read_examples
from llmrec_train.recommenders.scores import ndcg_hr_at, top_n_rows

# Small SASRec: one block, 3 epochs (selection still on valid NDCG@10 every epoch).
SMALL_SASREC = {"dim": 32, "blocks": 1, "max_epochs": 3, "batch_size": 128, "learning_rate": 3e-3}


@pytest.fixture(scope="module")
def seq_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared movie-small folder (too large for the committed fixtures: recommenders must learn)."""
    import os
    import shutil

    home = os.environ.get("LLMREC_DATA_HOME")
    if not home:
        pytest.fail("LLMREC_DATA_HOME must point at the shared raw datasets (CI sets it)")
    command = shutil.which("llmrec-data", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.skip("llmrec-data is not installed beside llmrec-train (outside the workspace)")
    out = tmp_path_factory.mktemp("seq")
    done = subprocess.run(
        [command, "prepare", "--dataset", "movie-small", "--out", str(out), "--data-home", home]
        + ["--no-download", "--train-sample", "20000", "--valid-sample", "1000"]
        + ["--test-sample", "300"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def _config(data: Path, out: Path, model: str, **kw) -> RecommendConfig:
    return RecommendConfig(
        model=model,
        train=data / "train.jsonl",
        valid=data / "valid.jsonl",
        test=data / "test.jsonl",
        items=data / "items.parquet",
        out=out,
        **kw,
    )


def _most_popular_valid(data: Path) -> dict[str, float]:
    n_items = read_catalogue(data / "items.parquet").n_items
    train = read_examples(data / "train.jsonl", n_items, need_target=True)
    valid = read_examples(data / "valid.jsonl", n_items, need_target=True)
    pop = np.bincount(train.targets, minlength=n_items).astype(float)
    return ndcg_hr_at(valid, lambda h: np.tile(pop, (len(h), 1)), exclude_history=True)


def _check_contract(folder: Path, examples: Path, n_items: int, top_n: int) -> None:
    """Everything the contract promises about one score folder."""
    meta, table = read_scores(folder)
    rows = [json.loads(line) for line in examples.read_text().splitlines()]
    assert meta["schema_version"] == 1 and meta["n_examples"] == len(rows)
    assert meta["top_n"] == top_n and meta["exclude_history"] is True
    ids = table.column("example_id").to_pylist()
    items = table.column("item_id").to_numpy()
    scores = table.column("score").to_numpy()
    assert np.isfinite(scores).all() and ((items >= 0) & (items < n_items)).all()
    # Grouped by example in the examples file's order, every example present.
    order = [e for i, e in enumerate(ids) if i == 0 or ids[i - 1] != e]
    assert order == [r["example_id"] for r in rows]
    start = 0
    for row in rows:
        n = 0
        while start + n < len(ids) and ids[start + n] == row["example_id"]:
            n += 1
        it, sc = items[start : start + n], scores[start : start + n]
        assert 1 <= n <= top_n and len(set(it.tolist())) == n
        # score descending, ties by item id ascending
        assert all(
            (sc[i] > sc[i + 1]) or (sc[i] == sc[i + 1] and it[i] < it[i + 1]) for i in range(n - 1)
        )
        assert not set(it.tolist()) & set(row["history_item_ids"])
        start += n
    assert start == len(ids)


def test_transition_learns_and_writes_contract_files(seq_data: Path, tmp_path: Path) -> None:
    out = recommend(_config(seq_data, tmp_path / "transition", "transition", top_n=50))
    manifest = json.loads((out / "manifest.json").read_text())
    popular = _most_popular_valid(seq_data)
    assert manifest["valid_metrics"]["ndcg@10"] > popular["ndcg@10"]
    assert manifest["valid_metrics"]["hr@10"] > popular["hr@10"]
    n_items = read_catalogue(seq_data / "items.parquet").n_items
    for split in ("valid", "test"):
        _check_contract(out / split, seq_data / f"{split}.jsonl", n_items, top_n=50)
    assert not list(out.rglob("*.tmp"))


@pytest.mark.torch
def test_sasrec_learns_beats_most_popular(seq_data: Path, tmp_path: Path) -> None:
    out = recommend(_config(seq_data, tmp_path / "sasrec", "sasrec", seed=0, **SMALL_SASREC))
    manifest = json.loads((out / "manifest.json").read_text())
    popular = _most_popular_valid(seq_data)
    assert manifest["valid_metrics"]["ndcg@10"] > popular["ndcg@10"], (manifest, popular)
    assert manifest["valid_metrics"]["hr@10"] > popular["hr@10"], (manifest, popular)
    n_items = read_catalogue(seq_data / "items.parquet").n_items
    _check_contract(out / "test", seq_data / "test.jsonl", n_items, top_n=200)
    meta = json.loads((out / "test" / "scores.meta.json").read_text())
    assert meta["model"] == "sasrec" and meta["config"]["dim"] == 32


@pytest.mark.torch
def test_sasrec_same_seed_same_scores(seq_data: Path, tmp_path: Path) -> None:
    settings = {**SMALL_SASREC, "max_epochs": 1}
    a = recommend(_config(seq_data, tmp_path / "a", "sasrec", seed=3, **settings))
    b = recommend(_config(seq_data, tmp_path / "b", "sasrec", seed=3, **settings))
    ta, tb = (pq.read_table(p / "test" / "scores.parquet") for p in (a, b))
    assert ta.equals(tb)


@pytest.mark.torch
def test_interrupted_training_leaves_no_score_file(
    seq_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A previous run's files are removed first, and an interruption mid-training writes nothing."""
    import torch

    out = tmp_path / "run"
    recommend(_config(seq_data, out, "transition", top_n=20))
    assert (out / "test" / "scores.parquet").exists()
    steps = {"n": 0}
    original = torch.optim.Adam.step

    def step_then_interrupt(self, *args, **kwargs):
        steps["n"] += 1
        if steps["n"] > 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        recommend(_config(seq_data, out, "sasrec", **SMALL_SASREC))
    left = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert left == [], left


def test_interrupted_writing_leaves_no_score_file(
    seq_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmrec_train.recommenders import scores

    calls = {"n": 0}
    original = scores.top_n_rows

    def fail_midway(vector, top_n):
        calls["n"] += 1
        if calls["n"] == 700:  # in the second block of 512 examples
            raise KeyboardInterrupt
        return original(vector, top_n)

    monkeypatch.setattr(scores, "top_n_rows", fail_midway)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        recommend(_config(seq_data, out, "transition"))
    assert [p.name for p in out.rglob("*") if p.is_file()] == []


def test_top_n_ties_at_the_cut_keep_smallest_ids() -> None:
    scores = np.array([0.5, 2.0, 1.0, 1.0, -np.inf, 1.0, 3.0])
    items, values = top_n_rows(scores, 4)
    assert items.tolist() == [6, 1, 2, 3] and values.tolist() == [3.0, 2.0, 1.0, 1.0]
    items, _ = top_n_rows(scores, 10)  # fewer finite scores than top_n: all finite ones
    assert items.tolist() == [6, 1, 2, 3, 5, 0]


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmrec_train", "recommend", *args],
        capture_output=True,
        text=True,
    )


def test_bad_examples_exit_2_naming_file_line_field(seq_data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "valid.jsonl"
    lines = (seq_data / "valid.jsonl").read_text().splitlines()
    row = json.loads(lines[2])
    row["history_item_ids"] = [1, 99_999_999]
    lines[2] = json.dumps(row)
    bad.write_text("\n".join(lines) + "\n")
    d = seq_data
    result = _run_cli(
        "--model", "transition", "--train", str(d / "train.jsonl"), "--valid", str(bad),
        "--test", str(d / "test.jsonl"), "--items", str(d / "items.parquet"), "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"error: {bad}, line 3, field 'history_item_ids': expected a list" in result.stderr
    assert not (tmp_path / "o" / "valid" / "scores.parquet").exists()


def test_bad_catalogue_and_settings_are_refused(seq_data: Path, tmp_path: Path) -> None:
    items = tmp_path / "items.parquet"
    pq.write_table(pa.table({"item_id": pa.array([0, 1, 5], pa.int64())}), items)
    with pytest.raises(ValueError, match=r"row 2, field 'item_id': expected 2"):
        recommend(replace(_config(seq_data, tmp_path / "o", "transition"), items=items))
    with pytest.raises(ValueError, match="--model"):
        _config(seq_data, tmp_path / "o", "bert4rec")
    with pytest.raises(ValueError, match="--decays"):
        _config(seq_data, tmp_path / "o", "transition", decays="0,x")
