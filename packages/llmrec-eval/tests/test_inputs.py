"""Every bad input gives a clear error naming the file, the line/row and the field."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from eval_contract_files import write_catalogue, write_jsonl
from llmrec_eval import (
    EvaluateConfig,
    InputError,
    evaluate,
    read_bigrec_results,
    read_examples,
    read_item_embeddings,
    read_items,
    read_predictions,
)
from llmrec_eval._embed import EmbeddingModelError
from llmrec_eval.grounding import build_queries

TITLES = ["Heat (1995)", "Casino (1995)", "Fargo (1996)", "Emma (1996)", "Emma (1996)"]


@pytest.fixture
def cat(tmp_path):
    vectors = np.eye(5, 4, dtype=np.float32) + 0.01
    items, emb = write_catalogue(tmp_path, TITLES, vectors, canonical=[0, 1, 2, 3, 3])
    return items, emb


def test_reads_a_valid_catalogue(cat):
    catalogue = read_items(cat[0])
    assert catalogue.n_items == 5 and catalogue.n_groups == 4
    assert catalogue.index.lookup('  "Fargo (1996)" ') == 2
    assert catalogue.index.lookup("fargo  (1996)") == 2  # case/whitespace fallback
    assert catalogue.index.lookup('"Emma (1996)"') == 3  # duplicates resolve to the canonical item
    assert catalogue.index.lookup("Fargo") is None
    emb = read_item_embeddings(cat[1], catalogue)
    assert emb.vectors.shape == (5, 4) and emb.model.endswith("all-MiniLM-L6-v2")


def test_predictions_missing_field(cat, tmp_path):
    catalogue = read_items(cat[0])
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"example_id": "a", "target_item_id": 1, "predictions": ['"Heat (1995)"']},
            {"example_id": "b", "target_item_id": 1},
        ],
    )
    with pytest.raises(
        InputError, match=r"p.jsonl, line 2 \(1-based\), field 'predictions': missing"
    ):
        read_predictions(path, catalogue)


def test_predictions_empty_list(cat, tmp_path):
    catalogue = read_items(cat[0])
    path = write_jsonl(
        tmp_path / "p.jsonl", [{"example_id": "a", "target_item_id": 1, "predictions": []}]
    )
    with pytest.raises(
        InputError, match=r"line 1 \(1-based\), field 'predictions': empty prediction"
    ):
        read_predictions(path, catalogue)


def test_predictions_bad_target(cat, tmp_path):
    catalogue = read_items(cat[0])
    path = write_jsonl(
        tmp_path / "p.jsonl", [{"example_id": "a", "target_item_id": 9, "predictions": ["x"]}]
    )
    with pytest.raises(
        InputError,
        match=r"line 1 \(1-based\), field 'target_item_id': expected an item id in 0..4, got 9",
    ):
        read_predictions(path, catalogue)
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {
                "example_id": "a",
                "target_item_id": None,
                "target_title": "Nope (2001)",
                "predictions": ["x"],
            }
        ],
    )
    with pytest.raises(
        InputError,
        match=r"field 'target_title': target title 'Nope \(2001\)' is not in the catalogue",
    ):
        read_predictions(path, catalogue)


def test_predictions_not_json(cat, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"example_id": "a"\n')
    with pytest.raises(InputError, match=r"p.jsonl, line 1 \(1-based\): not valid JSON"):
        read_predictions(path, read_items(cat[0]))


def test_bigrec_target_not_in_catalogue(cat, tmp_path):
    path = tmp_path / "result.json"
    path.write_text(
        json.dumps(
            [
                {
                    "instruction": "i",
                    "input": "x",
                    "output": '"Heat (1995)"',
                    "predict": ['"Fargo (1996)"'],
                },
                {
                    "instruction": "i",
                    "input": "x",
                    "output": '"Jaws (1975)"',
                    "predict": ['"Fargo (1996)"'],
                },
            ]
        )
    )
    with pytest.raises(
        InputError,
        match=r"result.json, row 1 \(0-based\), field 'output': target title 'Jaws \(1975\)\' is not in the catalogue",
    ):
        read_bigrec_results(path, read_items(cat[0]))


def test_bigrec_missing_field_and_empty_predict(cat, tmp_path):
    catalogue = read_items(cat[0])
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"instruction": "i", "input": "x", "output": '"Heat (1995)"'}]))
    with pytest.raises(InputError, match=r"row 0 \(0-based\), field 'predict': missing"):
        read_bigrec_results(path, catalogue)
    path.write_text(
        json.dumps([{"instruction": "i", "input": "x", "output": '"Heat (1995)"', "predict": []}])
    )
    with pytest.raises(InputError, match=r"row 0 \(0-based\), field 'predict': empty prediction"):
        read_bigrec_results(path, catalogue)
    path.write_text(json.dumps({"not": "a list"}))
    with pytest.raises(InputError, match="expected a non-empty JSON list"):
        read_bigrec_results(path, catalogue)


def test_items_errors(tmp_path):
    pl.DataFrame({"item_id": [0, 2], "title": ["a", "b"]}).write_parquet(tmp_path / "a.parquet")
    with pytest.raises(
        InputError,
        match=r"a.parquet, row 1 \(0-based\), field 'item_id': expected item_id == row index",
    ):
        read_items(tmp_path / "a.parquet")
    pl.DataFrame({"item_id": [0, 1]}).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError, match=r"b.parquet: missing column 'title'"):
        read_items(tmp_path / "b.parquet")
    pl.DataFrame({"item_id": [0, 1], "title": ["a", None]}).write_parquet(tmp_path / "c.parquet")
    with pytest.raises(
        InputError, match=r"row 1 \(0-based\), field 'title': expected a title, got null"
    ):
        read_items(tmp_path / "c.parquet")
    with pytest.raises(InputError, match="items file not found"):
        read_items(tmp_path / "missing.parquet")


def test_embeddings_for_another_catalogue(cat, tmp_path):
    other, _ = write_catalogue(tmp_path / "other", TITLES[:3], np.eye(3, dtype=np.float32))
    with pytest.raises(InputError, match="5 rows, but the catalogue"):
        read_item_embeddings(cat[1], read_items(other))


def test_embedding_model_mismatch(cat):
    catalogue = read_items(cat[0])
    emb = read_item_embeddings(cat[1], catalogue)
    with pytest.raises(
        EmbeddingModelError, match="computed with 'sentence-transformers/all-MiniLM-L6-v2'"
    ):
        build_queries([["something generated"]], catalogue, emb, model="BAAI/bge-small-en-v1.5")


@pytest.mark.torch
def test_embedding_dimension_mismatch(tmp_path):
    # the recorded model is MiniLM (384-dim), but these "item embeddings" are 4-dim
    items, emb_path = write_catalogue(tmp_path, TITLES, np.eye(5, 4, dtype=np.float32))
    catalogue = read_items(items)
    with pytest.raises(
        EmbeddingModelError, match="384-dim vectors, but the item embeddings are 4-dim"
    ):
        build_queries([["not a title"]], catalogue, read_item_embeddings(emb_path, catalogue))


def test_examples_errors(tmp_path):
    path = write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"example_id": "t1", "history_item_ids": [0, 1], "target_item_id": 2, "timestamp": 5},
            {"example_id": "t2", "history_item_ids": [0, "x"], "target_item_id": 2, "timestamp": 5},
        ],
    )
    with pytest.raises(
        InputError, match=r"test.jsonl, line 2 \(1-based\), field 'history_item_ids'"
    ):
        read_examples(path, 5)
    ok = read_examples(
        write_jsonl(
            tmp_path / "ok.jsonl",
            [{"example_id": "t1", "history_item_ids": [0], "target_item_id": 2, "timestamp": None}],
        ),
        5,
    )
    assert np.isnan(ok.timestamps[0])


def test_reweighting_needs_validation(cat, tmp_path):
    preds = write_jsonl(
        tmp_path / "p.jsonl",
        [{"example_id": "a", "target_item_id": 1, "predictions": ['"Heat (1995)"']}],
    )
    with pytest.raises(InputError, match="--valid-predictions"):
        evaluate(
            EvaluateConfig(
                predictions=preds,
                items=cat[0],
                embeddings=cat[1],
                out=tmp_path / "o",
                reweight="popularity",
            )
        )
    assert not (tmp_path / "o" / "metrics.json").exists()


def _exact_predictions(path, rows):
    return write_jsonl(
        path,
        [
            {"example_id": eid, "target_item_id": t, "predictions": [f'"{TITLES[p]}"']}
            for eid, t, p in rows
        ],
    )


def test_reweighting_by_collaborative_scores(cat, tmp_path):
    items, emb = cat
    test = _exact_predictions(tmp_path / "test.jsonl", [("t1", 2, 0), ("t2", 1, 0)])
    valid = _exact_predictions(tmp_path / "valid.jsonl", [("v1", 2, 0), ("v2", 2, 1)])
    # the collaborative model is sure about the target of every example
    for name, rows in (("test", [("t1", 2), ("t2", 1)]), ("valid", [("v1", 2), ("v2", 2)])):
        pl.DataFrame(
            {
                "example_id": [eid for eid, _ in rows for _ in range(2)],
                "item_id": [i for _, t in rows for i in (t, 4)],
                "score": [x for _ in rows for x in (5.0, 1.0)],
            }
        ).write_parquet(tmp_path / f"{name}.scores.parquet")
    result = evaluate(
        EvaluateConfig(
            predictions=test,
            valid_predictions=valid,
            items=items,
            embeddings=emb,
            out=tmp_path / "o",
            reweight="scores",
            scores=tmp_path / "test.scores.parquet",
            valid_scores=tmp_path / "valid.scores.parquet",
            bootstrap=0,
            ks="1,3",
        )
    )
    assert result["reweighting"]["source"] == "scores" and result["reweighting"]["gamma"] > 0
    # the exact title keeps rank 0, the scored target comes right after it
    assert result["metrics"]["hr@3"] == 1.0 and result["metrics_without_reweighting"]["hr@1"] == 0.0
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"example_id": ["t1"], "item_id": [2], "score": [1.0]}).write_parquet(bad)
    with pytest.raises(
        InputError, match=r"bad.parquet, field 'example_id': no scores for example_id 't2'"
    ):
        evaluate(
            EvaluateConfig(
                predictions=test,
                items=items,
                embeddings=emb,
                out=tmp_path / "p",
                reweight="scores",
                scores=bad,
                gamma=1.0,
                bootstrap=0,
            )
        )


def test_fixed_gamma_popularity(cat, tmp_path):
    items, emb = cat
    test = _exact_predictions(tmp_path / "test.jsonl", [("t1", 2, 0)])
    result = evaluate(
        EvaluateConfig(
            predictions=test,
            items=items,
            embeddings=emb,
            out=tmp_path / "o",
            reweight="popularity",
            gamma=2.0,
            bootstrap=0,
            fusion="first",
        )
    )
    assert result["reweighting"] == {
        "source": "popularity",
        "window": "all training interactions (items.parquet)",
        "gamma": 2.0,
    }
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["config"]["gamma"] == 2.0 and str(test) in manifest["inputs"]


def test_items_from_another_project_get_duplicate_groups(tmp_path):
    # only item_id and title: groups come from the normalised titles, canonical = smallest id
    pl.DataFrame(
        {"item_id": [0, 1, 2], "title": ["Emma (1996)", "Heat (1995)", "emma  (1996)"]}
    ).write_parquet(tmp_path / "items.parquet")
    catalogue = read_items(tmp_path / "items.parquet")
    assert catalogue.canonical.tolist() == [0, 1, 0] and catalogue.popularity is None
    assert catalogue.index.lookup('"EMMA (1996)"') == 0
