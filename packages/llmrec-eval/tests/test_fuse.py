"""`fuse` and `--write-scores`: exact ranks, weights chosen on valid only, ablations, bad inputs.

Pure numpy/polars on small hand-made catalogues (no model is loaded).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from eval_contract_files import write_catalogue, write_jsonl
from llmrec_eval._io import sha256_file
from llmrec_eval.cli import app
from llmrec_eval.config import (
    ContentConfig,
    EvaluateConfig,
    FuseConfig,
    PopularityConfig,
    ScoresConfig,
)
from llmrec_eval.evaluate import baseline_content, baseline_popularity, evaluate
from llmrec_eval.fuse import (
    _rank,
    build_candidates,
    fuse,
    search_weights,
    simplex_grid,
    source_gains,
)
from llmrec_eval.readers import Examples, read_examples, read_items
from llmrec_eval.score_baseline import baseline_scores
from llmrec_eval.scores import Scores, read_scores
from typer.testing import CliRunner

runner = CliRunner()


def _write_scores(folder, rows, *, items_sha256=None, top_n=None):
    """rows: (example_id, item_id, score) -> folder/scores.parquet (+ meta when a hash is given)."""
    folder.mkdir(parents=True, exist_ok=True)
    ids, items, scores = (list(c) for c in zip(*rows, strict=True))
    pl.DataFrame(
        {
            "example_id": pl.Series(ids, dtype=pl.String),
            "item_id": pl.Series(items, dtype=pl.Int64),
            "score": pl.Series(scores, dtype=pl.Float64),
        }
    ).write_parquet(folder / "scores.parquet")
    if items_sha256 is not None:
        counts = pl.Series(ids).value_counts()["count"]
        meta = {
            "schema_version": 1,
            "model": folder.parent.name,
            "n_examples": len(set(ids)),
            "top_n": top_n or int(counts.max()),
            "items_sha256": items_sha256,
        }
        (folder / "scores.meta.json").write_text(json.dumps(meta))
    return folder


def _catalogue(tmp_path, n_items, rng, *, duplicates=0):
    canonical = np.arange(n_items)
    for i in rng.choice(np.arange(1, n_items), size=duplicates, replace=False):
        canonical[i] = canonical[rng.integers(0, i)]
    canonical = canonical[canonical]
    titles = [f"Movie {i} ({1990 + i % 30})" for i in range(n_items)]
    items, emb = write_catalogue(
        tmp_path, titles, rng.normal(size=(n_items, 4)).astype(np.float32),
        canonical=canonical.tolist(), popularity=rng.integers(1, 50, n_items).tolist(),
    )  # fmt: skip
    return items, emb, canonical


def _examples(path, split, n, n_items, rng, *, target_in_history=False):
    rows = []
    for e in range(n):
        history = rng.choice(n_items, size=4, replace=False).tolist()
        target = int(history[0]) if target_in_history and e % 5 == 0 else int(rng.integers(n_items))
        rows.append(
            {
                "example_id": f"{split}-{e:06d}",
                "history_item_ids": history,
                "target_item_id": target,
            }
        )
    return write_jsonl(path, rows), rows


def _random_source(rows, n_items, rng, *, max_listed=20, distinct=6):
    out = []
    for ex in rows:
        listed = rng.choice(n_items, size=int(rng.integers(1, max_listed)), replace=False)
        out += [(ex["example_id"], int(i), float(rng.integers(0, distinct))) for i in listed]
    return out


def _scores_object(rows, example_ids, n_items):
    """A `Scores` in memory from (example_id, item_id, score) rows (the reader's grouping)."""
    pos = {e: i for i, e in enumerate(example_ids)}
    ex = np.array([pos[r[0]] for r in rows])
    items = np.array([r[1] for r in rows])
    values = np.array([r[2] for r in rows], dtype=np.float64)
    order = np.lexsort((items, -values, ex))
    counts = np.bincount(ex, minlength=len(example_ids))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return Scores(None, list(example_ids), offsets, items[order], values[order])


# --------------------------------------------------------------------------- exact ranks


@pytest.mark.parametrize("normalise", ["rank", "rrf", "minmax", "zscore"])
@pytest.mark.parametrize("exclude", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_search_ranks_equal_the_ranking_engine(tmp_path, seed, exclude, normalise):
    """The search's shortcut ranks equal the engine's (duplicate groups, ties, zero weights,
    excluded targets), for random weights."""
    rng = np.random.default_rng(seed)
    n_items = 60
    items, _, _ = _catalogue(tmp_path, n_items, rng, duplicates=15)
    path, rows = _examples(tmp_path / "e.jsonl", "valid", 40, n_items, rng, target_in_history=True)
    catalogue = read_items(items)
    examples = read_examples(path, n_items)
    ids = examples.example_ids
    sources = [_scores_object(_random_source(rows, n_items, rng), ids, n_items) for _ in range(3)]
    gains = [source_gains(s, normalise, top_n=20) for s in sources]
    cands = build_candidates(sources, gains, examples, catalogue, exclude_history=exclude)
    config = FuseConfig(
        source=[], examples=path, valid_examples=path, items=items, out=tmp_path / "o"
    )
    for w in [(1, 0, 0), (0.5, 0.5, 0), (0.2, 0.3, 0.5), *rng.random((5, 3)).round(1).tolist()]:
        w = np.asarray(w, dtype=np.float64)
        if w.sum() == 0:
            continue
        engine, _ = _rank(cands, w, catalogue, config, 0)
        assert np.array_equal(cands.ranks(w), engine), w


def test_gains_by_hand_and_missing_items_get_the_floor():
    # example a lists items 3, 1, 2 with scores 9, 5, 5; example b lists only item 0
    s = _scores_object([("a", 3, 9.0), ("a", 1, 5.0), ("a", 2, 5.0), ("b", 0, 2.0)], ["a", "b"], 5)
    assert source_gains(s, "rank", top_n=4).tolist() == [1.0, 0.75, 0.75, 1.0]  # ties: one rank
    assert np.allclose(source_gains(s, "rrf", top_n=4, rrf_k=60), [1 / 61, 1 / 62, 1 / 62, 1 / 61])
    assert source_gains(s, "minmax", top_n=4).tolist() == [1.0, 0.0, 0.0, 0.0]  # constant b: 0
    z = source_gains(s, "zscore", top_n=4)
    assert np.allclose(z[:3], [2.1213203, 0.0, 0.0]) and z[3] == 0.0  # z - lowest z
    # an item only one source lists gets the other source's floor (0) in the fused table
    other = _scores_object([("a", 4, 1.0), ("a", 3, 0.5), ("b", 1, 3.0)], ["a", "b"], 5)
    ex = Examples(Path("e.jsonl"), ["a", "b"], [[0], [2]], np.array([4, 1]), np.full(2, np.nan))
    cat = SimpleNamespace(n_items=5, canonical=np.arange(5))
    cands = build_candidates(
        [s, other],
        [source_gains(s, "rank", top_n=4), source_gains(other, "rank", top_n=4)],
        ex,
        cat,
        exclude_history=False,
    )
    table = {
        (int(e), int(i)): g.tolist()
        for e, i, g in zip(cands.ex, cands.items, cands.gains, strict=True)
    }
    assert table == {
        (0, 1): [0.75, 0.0],
        (0, 2): [0.75, 0.0],
        (0, 3): [1.0, 0.75],
        (0, 4): [0.0, 1.0],
        (1, 0): [1.0, 0.0],
        (1, 1): [0.0, 1.0],
    }
    assert cands.ranks(np.array([1.0, 0.0])).tolist() == [4, 1]  # 4 unlisted: after 3, 1, 2
    assert cands.ranks(np.array([0.0, 1.0])).tolist() == [0, 0]
    # a: 3 .875, 4 .5, 1 and 2 .375; b: 0 and 1 tie at .5, the smaller id first
    assert cands.ranks(np.array([0.5, 0.5])).tolist() == [1, 1]


# --------------------------------------------------------------------------- search


def test_simplex_grid_and_coordinate_ascent():
    grid = simplex_grid(3, 4)
    assert len(grid) == 15 and grid[0] == (1.0, 0.0, 0.0) and grid[-1] == (0.0, 0.0, 1.0)
    assert all(abs(sum(p) - 1) < 1e-12 for p in grid)
    target = np.array([0.2, 0.5, 0.3])

    def objective(w):
        return -float(np.abs(w - target).sum())

    w, best, method, trace = search_weights(objective, 3, method="grid", grid_step=0.1)
    assert method == "grid" and np.allclose(w, target) and len(trace) == 66
    w, best, method, trace = search_weights(objective, 3, method="coordinate")
    assert method == "coordinate" and best > -0.15  # near the optimum on the level grid
    assert len(trace) == len({tuple(t["weights"]) for t in trace})  # each point evaluated once
    assert search_weights(objective, 3, max_grid=10)[2] == "coordinate"  # auto: grid too large


# --------------------------------------------------------------------------- the command


@pytest.fixture
def run(tmp_path):
    """A catalogue, valid/test examples and three sources: 'good' lists the target among its top
    few on every example, 'noise' and 'pop' list random items."""
    rng = np.random.default_rng(7)
    n_items = 80
    items, emb, _ = _catalogue(tmp_path, n_items, rng)
    sha = sha256_file(items)
    files = {}
    for split, n in (("valid", 60), ("test", 50)):
        path, rows = _examples(tmp_path / f"{split}.jsonl", split, n, n_items, rng)
        files[split] = (path, rows)
        good = []
        for ex in rows:
            others = [
                i for i in rng.choice(n_items, 15, replace=False) if i != ex["target_item_id"]
            ]
            pos = int(rng.integers(0, 4))
            listed = others[:pos] + [ex["target_item_id"]] + others[pos:]
            good += [(ex["example_id"], int(i), 100.0 - p) for p, i in enumerate(listed)]
        _write_scores(tmp_path / "src" / "good" / split, good, items_sha256=sha, top_n=200)
        for name in ("noise", "pop"):
            _write_scores(
                tmp_path / "src" / name / split,
                _random_source(rows, n_items, rng, distinct=1000),
                items_sha256=sha,
                top_n=200,
            )
    return {"tmp": tmp_path, "items": items, "emb": emb, "files": files, "n_items": n_items}


def _fuse_args(run, out, *sources, extra=()):
    tmp = run["tmp"]
    args = ["fuse", "--examples", str(tmp / "test.jsonl"), "--valid-examples"]
    args += [str(tmp / "valid.jsonl"), "--items", str(run["items"]), "--out", str(out)]
    args += ["--bootstrap", "0"]
    for name in sources:
        args += ["--source", f"{name}={tmp / 'src' / name}"]
    return [*args, *extra]


def test_fuse_cli_writes_rows_that_table_and_compare_read(run):
    out = run["tmp"] / "eval" / "fusion"
    res = runner.invoke(
        app,
        _fuse_args(
            run,
            out,
            "good",
            "noise",
            "pop",
            extra=["--ablate", "lucky=good", "--normalise-source", "noise=zscore"],
        )
        + ["--write-scores", str(run["tmp"] / "scores" / "fusion")],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["kind"] == "fuse" and metrics["n_examples"] == 50
    weights = metrics["fusion"]["weights"]
    assert weights["good"] > 0 and abs(sum(weights.values()) - 1) < 1e-9
    assert metrics["fusion"]["search"] == "grid" and metrics["fusion"]["evaluations"] == 66
    assert metrics["fusion"]["normalise"] == {"good": "rank", "noise": "zscore", "pop": "rank"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["fusion"]["weights"] == weights and len(manifest["fusion"]["trace"]) == 66
    # the source that ranks the target in its top 4 everywhere: HR@5 = 1 on test
    assert metrics["metrics"]["hr@5"] == 1.0
    ablation = json.loads(
        (run["tmp"] / "eval" / "fusion-without-lucky" / "metrics.json").read_text()
    )
    assert set(ablation["fusion"]["weights"]) == {"noise", "pop"}
    assert ablation["name"] == "fusion-without-lucky" and ablation["fusion"]["without"] == ["good"]
    assert ablation["metrics"]["hr@5"] < 0.5
    # the fused ranking as a score file: a row of its own with the same metrics
    scores = read_scores(
        run["tmp"] / "scores" / "fusion" / "test",
        [r["example_id"] for r in run["files"]["test"][1]],
        run["n_items"],
        items_sha256=sha256_file(run["items"]),
    )
    assert scores.meta["top_n"] == 80 and scores.meta["weights"] == weights
    again = baseline_scores(
        ScoresConfig(
            scores=run["tmp"] / "scores" / "fusion" / "test",
            examples=run["tmp"] / "test.jsonl",
            items=run["items"],
            out=run["tmp"] / "eval" / "fused-file",
            bootstrap=0,
        )
    )
    assert again["metrics"] == metrics["metrics"]
    res = runner.invoke(app, ["table", str(out), str(run["tmp"] / "eval" / "fusion-without-lucky")])
    assert res.exit_code == 0 and "fusion-without-lucky" in res.output, res.output
    res = runner.invoke(
        app, ["compare", str(out), str(run["tmp"] / "eval" / "fusion-without-lucky")]
    )
    assert res.exit_code == 0, res.output


def test_weights_are_chosen_on_valid_only(run):
    """Changing the test split's scores (even to the truth) leaves the chosen weights unchanged;
    changing the valid split's changes them."""
    first = fuse(
        FuseConfig(
            source=[f"{n}={run['tmp'] / 'src' / n}" for n in ("noise", "pop")],
            examples=run["tmp"] / "test.jsonl",
            valid_examples=run["tmp"] / "valid.jsonl",
            items=run["items"],
            out=run["tmp"] / "a",
            bootstrap=0,
        )
    )[0]
    # 'pop' on test becomes the truth: the target first for every example
    truth = [(r["example_id"], r["target_item_id"], 1.0) for r in run["files"]["test"][1]]
    _write_scores(run["tmp"] / "src" / "pop" / "test", truth)
    (run["tmp"] / "src" / "pop" / "test" / "scores.meta.json").unlink()
    config = FuseConfig(
        source=[f"{n}={run['tmp'] / 'src' / n}" for n in ("noise", "pop")],
        examples=run["tmp"] / "test.jsonl",
        valid_examples=run["tmp"] / "valid.jsonl",
        items=run["items"],
        out=run["tmp"] / "b",
        bootstrap=0,
    )
    second = fuse(config)[0]
    assert second["fusion"]["weights"] == first["fusion"]["weights"]
    assert second["fusion"]["valid_metric"] == first["fusion"]["valid_metric"]
    assert second["metrics"] != first["metrics"]  # the test data did change
    # the truth on valid instead: now 'pop' gets all the weight
    truth = [(r["example_id"], r["target_item_id"], 1.0) for r in run["files"]["valid"][1]]
    _write_scores(run["tmp"] / "src" / "pop" / "valid", truth)
    (run["tmp"] / "src" / "pop" / "valid" / "scores.meta.json").unlink()
    third = fuse(config)[0]
    weights = third["fusion"]["weights"]
    assert weights["pop"] > weights["noise"] and third["fusion"]["valid_metric"] == 1.0


def test_an_ablation_row_is_tuned_again(run):
    """The row without 'good' equals fusing the other sources alone: its own search on valid,
    not the full fusion's weights with one source dropped."""
    args = dict(
        examples=run["tmp"] / "test.jsonl",
        valid_examples=run["tmp"] / "valid.jsonl",
        items=run["items"],
        bootstrap=0,
    )
    full, ablated = fuse(
        FuseConfig(
            source=[f"{n}={run['tmp'] / 'src' / n}" for n in ("good", "noise", "pop")],
            ablate=["lucky=good"],
            out=run["tmp"] / "full",
            **args,
        )
    )
    alone = fuse(
        FuseConfig(
            source=[f"{n}={run['tmp'] / 'src' / n}" for n in ("noise", "pop")],
            out=run["tmp"] / "alone",
            **args,
        )
    )[0]
    assert ablated["fusion"]["weights"] == alone["fusion"]["weights"]
    assert ablated["metrics"] == alone["metrics"]
    assert ablated["fusion"]["evaluations"] == 11  # a search of its own over 2 sources
    assert full["fusion"]["weights"]["good"] > 0


def test_out_of_fold_validation_reports_and_changes_nothing(run):
    """Cross-validation on valid adds honest figures (weights searched without the scored fold)
    and compares the full fusion with each ablation; the weights and test results stay the same."""
    args = dict(
        source=[f"{n}={run['tmp'] / 'src' / n}" for n in ("good", "noise", "pop")],
        ablate=["lucky=good"],
        examples=run["tmp"] / "test.jsonl",
        valid_examples=run["tmp"] / "valid.jsonl",
        items=run["items"],
        bootstrap=0,
    )
    full, ablated = fuse(FuseConfig(out=run["tmp"] / "cv", cv_folds=4, **args))
    plain, plain_ablated = fuse(FuseConfig(out=run["tmp"] / "plain", cv_folds=0, **args))
    assert plain["fusion"]["valid_cv"] is None
    for a, b in ((full, plain), (ablated, plain_ablated)):
        assert a["fusion"]["weights"] == b["fusion"]["weights"]
        assert a["metrics"] == b["metrics"]
    cv = full["fusion"]["valid_cv"]
    assert cv["folds"] == 4 and len(cv["fold_weights"]) == 4
    # 'good' ranks the target in its top 4 on every example: every fold's search keeps it
    assert all(w["good"] > 0 for w in cv["fold_weights"])
    assert cv["metric"] > ablated["fusion"]["valid_cv"]["metric"] + 0.2
    d = ablated["fusion"]["valid_cv"]["full_minus_this"]
    assert d["excludes_zero"] and d["ci"][0] > 0
    assert d["diff"] == pytest.approx(cv["metric"] - ablated["fusion"]["valid_cv"]["metric"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing", r"src/pop/valid/scores.parquet: source 'pop' \(valid\) has no scores for example_id 'valid-000003' \(1 of the 60"),
        ("unknown", r"src/pop/test/scores.parquet, row 0 \(0-based\), field 'example_id': example_id 'x-1' is not in the examples file .*test.jsonl"),
        ("ablate", r"--ablate 'llm=llm': 'llm' is not a --source name \(sources: noise, pop\)"),
        ("twice", r"--source: the name 'pop' is given twice"),
        ("spec", r"--source 'pop': expected NAME=DIR or NAME=VALID,TEST"),
        ("step", r"--grid-step must be 1/integer"),
        ("all", r"--ablate 'everything=noise,pop': drops every source"),
        ("norm", r"--normalise-source 'llm=zscore': expected NAME=METHOD with NAME a --source name \(noise, pop\)"),
        ("folds", r"--cv-folds must be 0 \(off\) or at least 2, got 1"),
    ],
)  # fmt: skip
def test_bad_fuse_inputs_exit_2_and_write_nothing(run, change, message):
    tmp = run["tmp"]
    extra: list[str] = []
    sources = ["noise", "pop"]
    if change == "missing":
        rows = [r for r in _random_source(run["files"]["valid"][1], run["n_items"], np.random.default_rng(0)) if r[0] != "valid-000003"]  # fmt: skip
        _write_scores(tmp / "src" / "pop" / "valid", rows)
        (tmp / "src" / "pop" / "valid" / "scores.meta.json").unlink()
    elif change == "unknown":
        rows = [("x-1", 0, 1.0), *_random_source(run["files"]["test"][1], run["n_items"], np.random.default_rng(0))]  # fmt: skip
        _write_scores(tmp / "src" / "pop" / "test", rows)
        (tmp / "src" / "pop" / "test" / "scores.meta.json").unlink()
    elif change == "ablate":
        extra = ["--ablate", "llm=llm"]
    elif change == "twice":
        sources = ["noise", "pop", "pop"]
    elif change == "spec":
        extra = ["--source", "pop"]
    elif change == "step":
        extra = ["--grid-step", "0.3"]
    elif change == "all":
        extra = ["--ablate", "everything=noise,pop"]
    elif change == "norm":
        extra = ["--normalise-source", "llm=zscore"]
    elif change == "folds":
        extra = ["--cv-folds", "1"]
    out = tmp / "eval" / "bad"
    res = runner.invoke(app, _fuse_args(run, out, *sources, extra=extra))
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ")
    import re

    assert re.search(message, res.output.replace("\n", "")), res.output
    assert not out.exists()


def test_subset_fuses_the_examples_every_source_has(run):
    """A source scoring only some examples (the LLM's) is fused on those with --subset."""
    tmp = run["tmp"]
    keep = {"valid": run["files"]["valid"][1][:30], "test": run["files"]["test"][1][:20]}
    for split, rows in keep.items():
        _write_scores(tmp / "src" / "llm" / split, _random_source(rows, run["n_items"], np.random.default_rng(1)))  # fmt: skip
        write_jsonl(tmp / f"{split}-subset.jsonl", [{"example_id": r["example_id"]} for r in rows])
    extra = ["--subset", str(tmp / "test-subset.jsonl"), "--valid-subset", str(tmp / "valid-subset.jsonl")]  # fmt: skip
    res = runner.invoke(app, _fuse_args(run, tmp / "eval" / "sub", "good", "llm", extra=extra))
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp / "eval" / "sub" / "metrics.json").read_text())
    assert metrics["n_examples"] == 20 and metrics["fusion"]["valid_examples"] == 30


# --------------------------------------------------------------------------- --write-scores


def test_write_scores_round_trips_as_the_same_row(run):
    """The content and popularity baselines and the LLM's grounding write their ranking as score
    files (test and valid) that rank exactly as the row did."""
    tmp, items, emb = run["tmp"], run["items"], run["emb"]
    test, valid = tmp / "test.jsonl", tmp / "valid.jsonl"
    train = tmp / "train.jsonl"
    write_jsonl(train, run["files"]["valid"][1] + run["files"]["test"][1])
    titles = pl.read_parquet(items)["title"].to_list()
    for split in ("test", "valid"):
        write_jsonl(
            tmp / f"{split}.predictions.jsonl",
            [
                {
                    "example_id": r["example_id"],
                    "target_item_id": r["target_item_id"],
                    "predictions": [
                        titles[(r["target_item_id"] + d) % len(titles)] for d in (3, 1)
                    ],
                }
                for r in run["files"][split][1]
            ],
        )
    common = dict(ks="1,5,10,20", bootstrap=0, scores_top_n=30)
    rows = {
        "content": baseline_content(
            ContentConfig(
                examples=test, valid=valid, items=items, embeddings=emb, train=train,
                out=tmp / "eval" / "content", write_scores=tmp / "x" / "content", **common,
            )
        ),
        "pop": baseline_popularity(
            PopularityConfig(
                examples=test, valid_examples=valid, items=items, exclude_history=True,
                out=tmp / "eval" / "pop", write_scores=tmp / "x" / "pop", **common,
            ),
            recent=False,
        ),
        "llm": evaluate(
            EvaluateConfig(
                predictions=tmp / "test.predictions.jsonl",
                valid_predictions=tmp / "valid.predictions.jsonl",
                items=items, embeddings=emb, fusion="rrf", reweight="popularity",
                out=tmp / "eval" / "llm", write_scores=tmp / "x" / "llm", **common,
            )
        ),
    }  # fmt: skip
    for name, result in rows.items():
        for split in ("test", "valid"):
            meta = json.loads((tmp / "x" / name / split / "scores.meta.json").read_text())
            assert meta["top_n"] == 30 and meta["n_examples"] == (50 if split == "test" else 60)
        again = baseline_scores(
            ScoresConfig(
                scores=tmp / "x" / name / "test",
                examples=test,
                items=items,
                exclude_history=name != "llm",
                out=tmp / "eval" / f"{name}-again",
                ks="1,5,10,20",
                bootstrap=0,
            )
        )
        assert again["metrics"] == result["metrics"], name
        ranks = pl.read_parquet(tmp / "eval" / name / "ranks.parquet")
        assert ranks["top_item_ids"].list.len().max() == 50  # --top-n, not --scores-top-n
    # the LLM's valid ranking uses the gamma chosen on valid
    assert (
        json.loads((tmp / "x" / "llm" / "valid" / "scores.meta.json").read_text())["gamma"]
        == (rows["llm"]["reweighting"]["gamma"])
    )


def test_write_scores_with_an_empty_prediction_fails_before_any_work(run):
    tmp = run["tmp"]
    rows = run["files"]["test"][1]
    write_jsonl(
        tmp / "p.jsonl",
        [
            {"example_id": r["example_id"], "target_item_id": r["target_item_id"],
             "predictions": [] if k == 2 else ["Movie 1 (1991)"]}
            for k, r in enumerate(rows)
        ],
    )  # fmt: skip
    args = ["evaluate", "--predictions", str(tmp / "p.jsonl"), "--items", str(run["items"])]
    args += ["--embeddings", str(run["emb"]), "--empty-prediction", "miss"]
    args += ["--out", str(tmp / "e"), "--write-scores", str(tmp / "s")]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "example_id 'test-000002' (--predictions) has no generated text" in res.output
    assert not (tmp / "e").exists() and not (tmp / "s").exists()


def test_an_example_left_with_no_listed_item_ranks_like_the_engine(tmp_path):
    """History exclusion or zero weights can leave an example (here the first and the last) with no
    listed item: everything is then ordered by canonical id, as the engine does."""
    rng = np.random.default_rng(3)
    items, _, _ = _catalogue(tmp_path, 12, rng, duplicates=3)
    rows = [
        {"example_id": "v0", "history_item_ids": [1, 2], "target_item_id": 5},
        {"example_id": "v1", "history_item_ids": [0], "target_item_id": 4},
        {"example_id": "v2", "history_item_ids": [7, 8], "target_item_id": 9},
    ]
    path = write_jsonl(tmp_path / "v.jsonl", rows)
    catalogue, examples = read_items(items), read_examples(path, 12)
    # source 0 lists only history items for v0 and v2; source 1 lists items for v1 only
    a = [("v0", 1, 2.0), ("v0", 2, 1.0), ("v1", 3, 1.0), ("v2", 7, 1.0), ("v2", 8, 0.5)]
    b = [("v0", 1, 1.0), ("v1", 4, 3.0), ("v1", 6, 1.0), ("v2", 8, 1.0)]
    sources = [_scores_object(s, examples.example_ids, 12) for s in (a, b)]
    gains = [source_gains(s, "rank", top_n=3) for s in sources]
    config = FuseConfig(
        source=[], examples=path, valid_examples=path, items=items, out=tmp_path / "o"
    )
    for exclude in (False, True):
        cands = build_candidates(sources, gains, examples, catalogue, exclude_history=exclude)
        for w in ((1.0, 0.0), (0.0, 1.0), (0.5, 0.5)):
            w = np.asarray(w)
            engine, _ = _rank(cands, w, catalogue, config, 5)
            assert np.array_equal(cands.ranks(w), engine), (exclude, w)
