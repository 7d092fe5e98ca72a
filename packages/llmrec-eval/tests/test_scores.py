"""Score files (docs/contracts.md): strict reading, ranking rows by them, BIGRec's re-weighting by them."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from eval_contract_files import write_catalogue, write_jsonl
from llmrec_eval import EvaluateConfig, InputError, evaluate
from llmrec_eval.cli import app
from llmrec_eval.config import ScoresConfig
from llmrec_eval.score_baseline import baseline_scores
from llmrec_eval.scores import read_scores
from typer.testing import CliRunner

runner = CliRunner()


def _write_scores(path, example_ids, item_ids, scores, **columns):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = {
        "example_id": pl.Series(example_ids, dtype=pl.String),
        "item_id": pl.Series(item_ids, dtype=pl.Int64),
        "score": pl.Series(scores, dtype=pl.Float64),
    }
    frame.update(columns)
    pl.DataFrame(frame).write_parquet(path)
    return path


def _write_meta(folder, **fields):
    meta = {
        "schema_version": 1,
        "model": "transition",
        "n_examples": 2,
        "top_n": 200,
        "items_sha256": None,
        "exclude_history": False,
    }
    meta.update(fields)
    (folder / "scores.meta.json").write_text(json.dumps(meta))


# --------------------------------------------------------------------------- ranking rows


def _brute_force(listed, canonical, history, target, exclude, top_n):
    """Groups by (best listed member's score desc, canonical id); unlisted groups after all."""
    n = len(canonical)
    groups = sorted(set(canonical))
    gone = {canonical[h] for h in history} if exclude else set()

    def group_score(g):
        vals = [listed[i] for i in range(n) if canonical[i] == g and i in listed]
        return max(vals) if vals else -np.inf

    order = sorted((g for g in groups if g not in gone), key=lambda g: (-group_score(g), g))
    top = order[:top_n]  # ranks.parquet lists no empty slots
    return order.index(canonical[target]), top


@pytest.mark.parametrize("exclude", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_row_matches_brute_force(tmp_path, seed, exclude):
    rng = np.random.default_rng(seed)
    n_items, n_ex = 40, 30
    canonical = np.arange(n_items)
    for i in rng.choice(np.arange(1, n_items), size=12, replace=False):
        canonical[i] = canonical[rng.integers(0, i)]  # duplicate groups, canonical = a smaller id
    canonical = canonical[canonical]  # point every member at its group's canonical item
    titles = [f"Movie {canonical[i]} ({1990 + i})" for i in range(n_items)]
    items, _ = write_catalogue(
        tmp_path, titles, rng.random((n_items, 3)).astype(np.float32), canonical=canonical.tolist()
    )
    examples, rows = [], []
    for e in range(n_ex):
        history = rng.choice(n_items, size=4, replace=False).tolist()
        in_history = set(canonical[history].tolist())
        target = int(rng.choice([i for i in range(n_items) if canonical[i] not in in_history]))
        examples.append(
            {"example_id": f"e{e}", "history_item_ids": history, "target_item_id": target}
        )
        listed = rng.choice(n_items, size=int(rng.integers(1, 25)), replace=False)
        # few distinct values: ties between groups, and between members of one group
        rows += [(f"e{e}", int(i), float(rng.integers(0, 5)) / 3) for i in listed]
    test = write_jsonl(tmp_path / "test.jsonl", examples)
    rng.shuffle(rows)  # the reader must not rely on the writer's order
    path = _write_scores(tmp_path / "model" / "scores.parquet", *map(list, zip(*rows, strict=True)))
    result = baseline_scores(
        ScoresConfig(
            scores=path.parent,
            examples=test,
            items=items,
            out=tmp_path / "out",
            exclude_history=exclude,
            top_n=10,
            ks="1,5,10",
            bootstrap=0,
        )
    )
    ranks = pl.read_parquet(tmp_path / "out" / "ranks.parquet")
    for e, ex in enumerate(examples):
        listed = {i: s for eid, i, s in rows if eid == ex["example_id"]}
        rank, top = _brute_force(
            listed, canonical.tolist(), ex["history_item_ids"], ex["target_item_id"], exclude, 10
        )
        assert ranks["rank"][e] == rank, ex
        assert ranks["top_item_ids"][e].to_list() == top, ex
    assert result["baseline"]["name"] == "scores" and result["n_examples"] == n_ex


@pytest.mark.torch
def test_scores_row_on_real_items_through_the_cli(ml_data, tmp_path):
    """Round trip: a score file written with polars for real examples and items, read by the CLI."""
    examples = [json.loads(line) for line in (ml_data / "test.jsonl").read_text().splitlines()]
    n_items = pl.read_parquet(ml_data / "items.parquet").height
    rows = []
    for k, ex in enumerate(examples):
        # the target at position k % 7 of a 20-item list, the others the next items after it
        others = [(ex["target_item_id"] + j) % n_items for j in range(1, 20)]
        listed = others[: k % 7] + [ex["target_item_id"]] + others[k % 7 :]
        rows += [(ex["example_id"], i, 100.0 - p) for p, i in enumerate(listed)]
    folder = tmp_path / "transition"
    _write_scores(folder / "scores.parquet", *map(list, zip(*rows, strict=True)))
    from llmrec_eval._io import sha256_file

    _write_meta(
        folder,
        n_examples=len(examples),
        top_n=20,
        items_sha256=sha256_file(ml_data / "items.parquet"),
    )
    args = [
        "baseline",
        "scores",
        "--scores",
        str(folder),
        "--examples",
        str(ml_data / "test.jsonl"),
    ]
    args += ["--items", str(ml_data / "items.parquet"), "--bootstrap", "0"]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    ranks = pl.read_parquet(tmp_path / "out" / "ranks.parquet")
    canonical = pl.read_parquet(ml_data / "items.parquet")["canonical_item_id"].to_numpy()
    assert ranks["example_id"].to_list() == [ex["example_id"] for ex in examples]
    # where the listed items are distinct groups, the target sits exactly where it was listed
    for k, ex in enumerate(examples):
        listed = [r[1] for r in rows if r[0] == ex["example_id"]]
        if len(set(canonical[listed].tolist())) == len(listed):
            assert ranks["rank"][k] == k % 7
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["baseline"]["model"] == "transition"
    assert metrics["source"]["scores_meta"]["top_n"] == 20
    # a catalogue other than the one the scores were computed for
    _write_meta(folder, n_examples=len(examples), top_n=20, items_sha256="0" * 64)
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "other")])
    assert res.exit_code == 2
    assert "scores.meta.json, field 'items_sha256': scores computed for another" in res.output
    assert not (tmp_path / "other" / "metrics.json").exists()


# --------------------------------------------------------------------------- bad score files


@pytest.fixture
def two(tmp_path):
    """A 5-item catalogue and two examples."""
    items, _ = write_catalogue(
        tmp_path, [f"M{i} (2000)" for i in range(5)], np.eye(5, 3, dtype=np.float32)
    )
    test = write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"example_id": "a", "history_item_ids": [0], "target_item_id": 1},
            {"example_id": "b", "history_item_ids": [1], "target_item_id": 2},
        ],
    )
    return items, test


def _read(path):
    return read_scores(path, ["a", "b"], 5, examples_path=path.parent / "test.jsonl")


@pytest.mark.parametrize(
    ("ids", "items", "scores", "message"),
    [
        (["a", "b", "x"], [1, 2, 3], [1.0, 2.0, 3.0], r"row 2 \(0-based\), field 'example_id': example_id 'x' is not in the examples file .*test.jsonl"),
        (["a", "b", "b"], [1, 5, 3], [1.0, 2.0, 3.0], r"row 1 \(0-based\), field 'item_id': expected an item id in 0..4, got 5"),
        (["a", "b", "b"], [1, -1, 3], [1.0, 2.0, 3.0], r"row 1 \(0-based\), field 'item_id': expected an item id in 0..4, got -1"),
        (["a", "b", "b"], [1, 2, 3], [1.0, float("nan"), 3.0], r"row 1 \(0-based\), field 'score': expected a finite number, got nan"),
        (["a", "b", "b"], [1, 2, 3], [1.0, 2.0, float("-inf")], r"row 2 \(0-based\), field 'score': expected a finite number, got -inf"),
        (["a", "b", "a", "b"], [1, 2, 4, 2], [1.0, 2.0, 3.0, 0.5], r"row 3 \(0-based\), field 'item_id': duplicate \(example_id 'b', item_id 2\), first at row 1"),
        (["a", "a"], [1, 2], [1.0, 2.0], r"field 'example_id': no scores for example_id 'b' of the examples file .*test.jsonl \(1 example"),
    ],
)  # fmt: skip
def test_bad_score_rows(two, tmp_path, ids, items, scores, message):
    path = _write_scores(tmp_path / "s" / "scores.parquet", ids, items, scores)
    with pytest.raises(InputError, match=r"scores.parquet, " + message):
        _read(path)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"example_id": [1, 2], "item_id": [1, 2], "score": [1.0, 2.0]}, r"field 'example_id': expected strings, got Int64"),
        ({"example_id": ["a", "b"], "item_id": ["1", "2"], "score": [1.0, 2.0]}, r"field 'item_id': expected integers \(int64\), got String"),
        ({"example_id": ["a", "b"], "item_id": [1, 2], "score": [1, 2]}, r"field 'score': expected floats \(float64\), got Int64"),
        ({"example_id": ["a", None], "item_id": [1, 2], "score": [1.0, 2.0]}, r"row 1 \(0-based\), field 'example_id': expected strings, got null"),
        ({"example_id": ["a", "b"], "item_id": [1, 2], "score": [None, 2.0]}, r"row 0 \(0-based\), field 'score': expected floats \(float64\), got null"),
        ({"example_id": ["a", "b"], "item": [1, 2], "score": [1.0, 2.0]}, r"missing column 'item_id'"),
    ],
)  # fmt: skip
def test_bad_score_columns(two, tmp_path, frame, message):
    path = tmp_path / "s" / "scores.parquet"
    path.parent.mkdir()
    pl.DataFrame(frame).write_parquet(path)
    with pytest.raises(InputError, match=r"scores.parquet[:,] " + message):
        _read(path)


def test_bad_meta_and_missing_file(two, tmp_path):
    folder = tmp_path / "s"
    _write_scores(folder / "scores.parquet", ["a", "a", "b"], [1, 2, 3], [3.0, 2.0, 1.0])
    _write_meta(folder, items_sha256="f" * 64, top_n=1)
    with pytest.raises(
        InputError,
        match=r"scores.parquet, field 'example_id': 2 rows for one example, more than top_n 1",
    ):
        _read(folder / "scores.parquet")
    _write_meta(folder, items_sha256="f" * 64, schema_version=2)
    with pytest.raises(
        InputError, match=r"scores.meta.json, field 'schema_version': expected 1, got 2"
    ):
        _read(folder / "scores.parquet")
    _write_meta(folder, items_sha256="f" * 64, n_examples=3)
    with pytest.raises(InputError, match=r"scores.meta.json, field 'n_examples': 3 examples, but"):
        _read(folder / "scores.parquet")
    _write_meta(folder)  # items_sha256 null
    with pytest.raises(
        InputError, match=r"field 'items_sha256': expected the sha256 of items.parquet"
    ):
        _read(folder / "scores.parquet")
    with pytest.raises(InputError, match=r"nowhere.*score file not found"):
        _read(tmp_path / "nowhere")
    _write_meta(folder, items_sha256="f" * 64)
    scores = _read(folder)  # the folder works as well as the file
    assert scores.row(0)[0].tolist() == [1, 2] and scores.meta["model"] == "transition"  # fmt: skip


def test_bad_scores_exit_2_before_writing(two, tmp_path):
    items, test = two
    path = _write_scores(tmp_path / "s" / "scores.parquet", ["a", "b"], [1, 2], [1.0, np.inf])
    res = runner.invoke(
        app,
        ["baseline", "scores", "--scores", str(path), "--examples", str(test)]
        + ["--items", str(items), "--out", str(tmp_path / "out")],
    )
    assert res.exit_code == 2
    assert (
        "scores.parquet, row 1 (0-based), field 'score': expected a finite number, got inf"
        in res.output
    )
    assert not (tmp_path / "out" / "metrics.json").exists()


# --------------------------------------------------------------------------- re-weighting


def test_weights_are_per_example_minmax_and_unlisted_zero(two, tmp_path):
    path = _write_scores(
        tmp_path / "s" / "scores.parquet", ["b", "a", "a", "a"], [4, 0, 3, 2], [7.0, 1.0, 3.0, 2.0]
    )
    w = _read(path).weights(5)(np.array([0, 1]))
    assert w.tolist() == [[0.0, 0.0, 0.5, 1.0, 0.0], [0.0] * 5]  # one listed item: constant row


def test_reweighting_reads_scores_for_the_whole_examples_file(two, tmp_path):
    """Predictions for a subset of test.jsonl; the score file covers all of it (the pipeline's case)."""
    items, test = two
    emb = tmp_path / "item_embeddings.npy"
    preds = write_jsonl(
        tmp_path / "p.jsonl",
        [{"example_id": "b", "target_item_id": 2, "predictions": ['"M0 (2000)"']}],
    )
    folder = tmp_path / "s"
    _write_scores(folder / "scores.parquet", ["a", "b", "b"], [1, 2, 4], [1.0, 5.0, 1.0])
    config = dict(
        predictions=preds,
        items=items,
        embeddings=emb,
        reweight="scores",
        scores=folder,
        gamma=50.0,
        bootstrap=0,
        ks="1,3",
        fusion="first",
    )
    result = evaluate(EvaluateConfig(**config, examples=test, out=tmp_path / "o"))
    assert result["metrics"]["hr@3"] == 1.0  # the scored target right behind the exact title
    assert result["metrics_without_reweighting"]["hr@1"] == 0.0
    # without --examples the file is checked against the predictions: 'a' is unknown there
    with pytest.raises(
        InputError, match=r"row 0 \(0-based\), field 'example_id': example_id 'a' is not in"
    ):
        evaluate(EvaluateConfig(**config, out=tmp_path / "q"))
    assert not (tmp_path / "q" / "metrics.json").exists()
