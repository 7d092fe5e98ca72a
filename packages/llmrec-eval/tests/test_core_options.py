"""The evaluation core's settings and its compute/write split: rrf's k and the content baseline's
fusion depth are config fields (defaults unchanged), a row is computed without writing anything,
and `--no-plot` writes every file but the plot. No model is loaded: every text is an exact title."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from eval_contract_files import write_catalogue, write_jsonl
from llmrec_eval import ContentConfig, PopularityConfig, content_row, popularity_row, write_row
from llmrec_eval._ranking import ItemSpace, QuerySet, Ranker, Weighting
from llmrec_eval.cli import app
from llmrec_eval.evaluate import content_queries
from llmrec_eval.readers import read_examples, read_item_embeddings, read_items
from llmrec_eval.reweight import item_counts, minmax, recent_window
from typer.testing import CliRunner

runner = CliRunner()
N_ITEMS, N_EXAMPLES = 60, 40


@pytest.fixture
def run(tmp_path):
    rng = np.random.default_rng(5)
    titles = [f"Movie {i} ({1950 + i})" for i in range(N_ITEMS)]
    items, emb = write_catalogue(
        tmp_path / "cat",
        titles,
        rng.normal(size=(N_ITEMS, 8)).astype(np.float32),
        popularity=rng.integers(1, 50, size=N_ITEMS).tolist(),
    )
    examples, predictions, train, text_ids = [], [], [], []
    for i in range(N_EXAMPLES):
        picks = rng.choice(N_ITEMS, size=8, replace=False).tolist()
        history, target, texts = picks[:4], picks[4], picks[5:]
        row = {"example_id": f"test-{i}", "user_id": f"u{i}", "history_item_ids": history}
        row |= {"history_titles": [titles[h] for h in history], "target_item_id": target}
        row |= {"target_title": titles[target], "timestamp": 1000 + i}
        examples.append(row)
        train.append({**row, "example_id": f"train-{i}", "timestamp": i})
        text_ids.append(texts)
        predictions.append(
            {
                "example_id": row["example_id"],
                "target_item_id": target,
                "predictions": [f'"{titles[t]}"' for t in texts],
            }
        )
    return {
        "tmp": tmp_path,
        "items": items,
        "emb": emb,
        "test": write_jsonl(tmp_path / "test.jsonl", examples),
        "train": write_jsonl(tmp_path / "train.jsonl", train),
        "preds": write_jsonl(tmp_path / "predictions.jsonl", predictions),
        "text_ids": text_ids,
    }


def _cli(*args) -> None:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output


def _ranks(folder) -> np.ndarray:
    return pl.read_parquet(folder / "ranks.parquet")["rank"].to_numpy()


def test_rrf_k_is_a_setting_with_the_old_constant_as_default(run):
    tmp = run["tmp"]
    common = ["evaluate", "--predictions", run["preds"], "--items", run["items"]]
    common += ["--embeddings", run["emb"], "--fusion", "rrf", "--bootstrap", "0", "--ks", "1,5"]
    _cli(*common, "--out", tmp / "default")
    _cli(*common, "--rrf-k", "60", "--out", tmp / "k60")
    _cli(*common, "--rrf-k", "0", "--out", tmp / "k0")
    assert np.array_equal(_ranks(tmp / "default"), _ranks(tmp / "k60"))
    # k reaches the engine: the ranks are those of a ranker built with k = 0
    catalogue = read_items(run["items"])
    vectors = read_item_embeddings(run["emb"], catalogue).vectors
    space = ItemSpace(vectors, catalogue.canonical, "l2")
    # exact titles: each text's query is its item's vector, that item forced to distance 0
    queries = QuerySet(np.asarray(vectors), np.array(run["text_ids"]), np.arange(N_ITEMS))
    targets = catalogue.canonical[read_examples(run["test"], catalogue.n_items).targets]
    for k, folder in ((0, "k0"), (60, "k60")):
        want, _ = Ranker(space, fusion="rrf", depth=50, rrf_k=k).run(queries, targets, top_n=0)
        assert np.array_equal(_ranks(tmp / folder), want[0]), k
    assert json.loads((tmp / "k0" / "manifest.json").read_text())["config"]["rrf_k"] == 0


def test_content_fusion_depth_is_a_setting(run):
    tmp = run["tmp"]
    common = ["baseline", "content", "--examples", run["test"], "--items", run["items"]]
    common += ["--embeddings", run["emb"], "--train", run["train"], "--gamma", "0"]
    common += ["--bootstrap", "0", "--ks", "1,5", "--last-n", "3"]
    _cli(*common, "--out", tmp / "default")
    _cli(*common, "--fusion-depth", "2", "--out", tmp / "shallow")
    catalogue = read_items(run["items"])
    embeddings = read_item_embeddings(run["emb"], catalogue)
    examples = read_examples(run["test"], catalogue.n_items)
    space = ItemSpace(embeddings.vectors, catalogue.canonical, "cosine")
    queries = content_queries(examples, embeddings, 3, "interleave")
    exclude = [np.unique(catalogue.canonical[h]) for h in examples.histories]
    train = read_examples(run["train"], catalogue.n_items)
    weighting = Weighting(item=minmax(item_counts(train, N_ITEMS, recent_window(train))))
    for depth, folder in ((50, "default"), (5, "shallow")):  # at least the largest K (5)
        want, _ = Ranker(space, fusion="interleave", depth=depth).run(
            queries,
            catalogue.canonical[examples.targets],
            weighting=weighting,
            gammas=[0.0],
            top_n=0,
            exclude=exclude,
        )
        assert np.array_equal(_ranks(tmp / folder), want[0]), folder


def test_a_row_is_computed_without_writing_and_no_plot_skips_only_the_plot(run):
    tmp = run["tmp"]
    config = PopularityConfig(
        examples=run["test"], items=run["items"], out=tmp / "pop", bootstrap=0, plot=False
    )
    row = popularity_row(config, recent=False)
    assert not (tmp / "pop").exists()  # computed, nothing written
    assert row.name == "pop" and row.ranks.height == N_EXAMPLES
    assert row.metrics["metrics"]["hr@5"] == np.mean(row.ranks["rank"].to_numpy() < 5)
    write_row(row)
    assert sorted(p.name for p in (tmp / "pop").iterdir()) == [
        "manifest.json",
        "metrics.json",
        "ranks.parquet",
        "table.md",
    ]
    res = runner.invoke(
        app,
        ["baseline", "most-popular", "--examples", str(run["test"]), "--items", str(run["items"])]
        + ["--bootstrap", "0", "--out", str(tmp / "plotted")],
    )
    assert res.exit_code == 0, res.output
    assert (tmp / "plotted" / "metrics.png").is_file()  # the CLI's default: every file
    plotted = json.loads((tmp / "plotted" / "metrics.json").read_text())
    assert plotted["metrics"] == row.metrics["metrics"]
    content = content_row(
        ContentConfig(
            examples=run["test"],
            items=run["items"],
            embeddings=run["emb"],
            train=run["train"],
            gamma=0.5,
            out=tmp / "content",
            bootstrap=0,
        )
    )
    assert content.metrics["reweighting"]["gamma"] == 0.5 and not (tmp / "content").exists()
