"""Paired comparisons: metric differences with a paired bootstrap, `compare`, the table's best row."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from llmrec_eval import InputError
from llmrec_eval.cli import app
from llmrec_eval.compare import compare, paired_bootstrap
from typer.testing import CliRunner

runner = CliRunner()


def test_hand_computed_differences():
    a, b = np.array([0, 2, 5]), np.array([1, 0, 2])
    cmp = paired_bootstrap(a, b, [1, 3], n_resamples=200)
    # NDCG@3 per example: a = 1, 1/log2(4), 0; b = 1/log2(3), 1, 1/log2(4)
    expected = {
        "ndcg@1": (1 / 3, 1 / 3, 0.0),
        "ndcg@3": (
            (1 + 0.5) / 3,
            (1 / math.log2(3) + 1 + 0.5) / 3,
            -1 / math.log2(3) / 3,  # (1 + .5 + 0) - (1/log2(3) + 1 + .5), over 3
        ),
        "hr@1": (1 / 3, 1 / 3, 0.0),
        "hr@3": (2 / 3, 1.0, -1 / 3),
    }
    assert [d.metric for d in cmp.differences] == ["ndcg@1", "ndcg@3", "hr@1", "hr@3"]
    for metric, (va, vb, diff) in expected.items():
        d = cmp[metric]
        assert (d.a, d.b, d.diff) == pytest.approx((va, vb, diff))
        assert d.ci[0] <= d.diff <= d.ci[1]
    assert cmp.n_examples == 3 and cmp.a == "A" and cmp.b == "B"


def test_identical_rows_differ_by_exactly_zero():
    ranks = np.random.default_rng(0).integers(0, 100, size=500)
    cmp = paired_bootstrap(ranks, ranks.copy())
    for d in cmp.differences:
        assert d.diff == 0.0 and d.ci == (0.0, 0.0) and not d.excludes_zero


def test_interval_brackets_the_difference_and_is_seeded():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 40, size=300), rng.integers(0, 60, size=300)
    first = paired_bootstrap(a, b, seed=7)
    assert first == paired_bootstrap(a, b, seed=7)  # reproducible
    other = paired_bootstrap(a, b, seed=8)
    assert [d.ci for d in first.differences] != [d.ci for d in other.differences]
    for d in first.differences:
        assert d.ci[0] <= d.diff <= d.ci[1]
        assert d.diff == pytest.approx(d.a - d.b)


def test_resampling_is_paired():
    """Rows equal except 10 of 1,000 examples that only A hits: the paired interval excludes 0
    (every per-example difference is >= 0), although each row's own interval is far wider."""
    rng = np.random.default_rng(2)
    b = rng.integers(0, 100, size=1000)
    a = b.copy()
    missed = np.flatnonzero(b >= 10)[:10]
    a[missed] = 0
    d = paired_bootstrap(a, b, [10])["hr@10"]
    assert d.diff == pytest.approx(0.01) and d.excludes_zero and d.ci[0] > 0
    assert d.ci[1] - d.ci[0] < 0.02  # an unpaired 95% interval of HR@10 ~ .1 on 1,000 is ~ +-.019


def test_bad_arguments():
    with pytest.raises(ValueError, match="same examples"):
        paired_bootstrap(np.array([0, 1]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="unknown metric"):
        paired_bootstrap(np.array([0]), np.array([1]), [10], metrics=["ndcg@5"])


# --------------------------------------------------------------------------- eval folders


def _row(folder, ids, ranks, name=None, ndcg10=None):
    """An eval folder as the commands write it: ranks.parquet and metrics.json."""
    folder.mkdir(parents=True)
    pl.DataFrame(
        {
            "example_id": ids,
            "target_item_id": pl.Series([0] * len(ids), dtype=pl.Int64),
            "rank": pl.Series(ranks, dtype=pl.Int64),
            "top_item_ids": [[0]] * len(ids),
        }
    ).write_parquet(folder / "ranks.parquet")
    r = np.asarray(ranks)
    metrics = {
        f"{kind}@{k}": float(np.mean(np.where(r < k, 1 / np.log2(r + 2.0), 0.0)))
        if kind == "ndcg"
        else float(np.mean(r < k))
        for kind in ("ndcg", "hr")
        for k in (1, 10)
    }
    (folder / "metrics.json").write_text(
        json.dumps({"name": name or folder.name, "ks": [1, 10], "metrics": metrics})
    )
    return folder


IDS = [f"e{i}" for i in range(200)]


def test_compare_folders_aligns_examples_and_prints_markdown(tmp_path):
    rng = np.random.default_rng(3)
    ra, rb = rng.integers(0, 30, size=200), rng.integers(0, 30, size=200)
    a = _row(tmp_path / "sasrec", IDS, ra.tolist())
    perm = rng.permutation(200)  # B lists the same examples in another order
    b = _row(tmp_path / "pop", [IDS[i] for i in perm], rb[perm].tolist(), name="most-popular")
    cmp = compare(a, b / "ranks.parquet")
    assert cmp == paired_bootstrap(ra, rb, [1, 10], names=("sasrec", "most-popular"))
    res = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c.md")])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "c.md").read_text()
    assert res.output == text
    assert "| metric | sasrec | most-popular | difference | 95% interval | excludes 0 |" in text
    d = cmp["ndcg@10"]
    assert f"| NDCG@10 | {d.a:.4f} | {d.b:.4f} | {d.diff:+.4f} | {d.ci[0]:+.4f} to" in text
    assert len([line for line in text.splitlines() if line.startswith("| ")]) == 1 + 4


def test_compare_rows_on_different_examples_is_an_error(tmp_path):
    a = _row(tmp_path / "a", IDS, [0] * 200)
    b = _row(tmp_path / "b", IDS[:199] + ["other"], [1] * 200)
    with pytest.raises(InputError, match=r"rank different examples \(1 only in the first, 1 only"):
        compare(a, b)
    res = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c.md")])
    assert res.exit_code == 2 and "error:" in res.output and "'e199' is only in" in res.output
    assert not (tmp_path / "c.md").exists()
    res = runner.invoke(app, ["compare", str(a), str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "ranks file not found" in res.output


def test_compare_bad_ranks_file(tmp_path):
    a = _row(tmp_path / "a", IDS, [0] * 200)
    bad = tmp_path / "bad"
    bad.mkdir()
    pl.DataFrame({"example_id": ["e0", "e1", "e0"], "rank": [1, 2, 3]}).write_parquet(
        bad / "ranks.parquet"
    )
    with pytest.raises(
        InputError, match=r"ranks.parquet, row 2 \(0-based\), field 'example_id': duplicate"
    ):
        compare(a, bad)
    pl.DataFrame({"example_id": ["e0", "e1"], "rank": [1, -2]}).write_parquet(bad / "ranks.parquet")
    with pytest.raises(
        InputError, match=r"ranks.parquet, row 1 \(0-based\), field 'rank': expected a 0-based"
    ):
        compare(a, bad)


# --------------------------------------------------------------------------- the table's best row


def _table(*args):
    res = runner.invoke(app, ["table", *map(str, args)])
    assert res.exit_code == 0, res.output
    return res.output


def test_table_marks_a_significant_leader(tmp_path):
    rng = np.random.default_rng(4)
    base = rng.integers(5, 100, size=200)
    strong = np.where(np.arange(200) < 60, 0, base)  # 60 more first-place hits
    weak = _row(tmp_path / "weak", IDS, base.tolist())
    best = _row(tmp_path / "best", IDS, strong.tolist())
    text = _table(weak, best / "metrics.json")
    lines = text.splitlines()
    assert lines[2].startswith("| weak | ") and lines[3].startswith(
        "| best **(best, significant)** |"
    )
    d = paired_bootstrap(strong, base, [10], metrics=["ndcg@10"])["ndcg@10"]
    assert lines[-1] == (
        f"Best by NDCG@10: **best**, ahead of the runner-up weak by {d.diff:+.4f} (paired "
        f"bootstrap 95% interval {d.ci[0]:+.4f} to {d.ci[1]:+.4f}): significant, the interval "
        "excludes 0."
    )
    # by HR@1 as well; and no marking at all on request
    assert "Best by HR@1: **best**" in _table(weak, best, "--best-by", "hr@1")
    plain = _table(weak, best, "--best-by", "none")
    assert len(plain.splitlines()) == 4 and "**(best" not in plain and "Best by" not in plain


def test_table_says_when_the_leader_is_not_significantly_ahead(tmp_path):
    rng = np.random.default_rng(5)
    ranks = rng.integers(0, 30, size=200)
    close = ranks.copy()
    close[np.flatnonzero(ranks == 0)[:1]] = 40  # one hit fewer
    a = _row(tmp_path / "a", IDS, ranks.tolist())
    b = _row(tmp_path / "b", IDS, close.tolist())
    text = _table(b, a, "--out", tmp_path / "t.md")
    assert "| a **(best)** |" in text and text == (tmp_path / "t.md").read_text()
    assert "not significant, the interval includes 0." in text
    # rows scored on other examples are not compared, and the table says so
    c = _row(tmp_path / "c", [f"x{i}" for i in range(200)], ranks.tolist())
    text = _table(b, c)
    assert "| c **(best)** |" in text and "against the runner-up b: not compared:" in text
    res = runner.invoke(app, ["table", str(a), "--best-by", "ndcg10"])
    assert res.exit_code == 2 and "--best-by 'ndcg10': not a metric" in res.output


def test_table_without_ranks_files_still_marks_the_best_row(tmp_path):
    a = _row(tmp_path / "a", IDS, [0] * 200)
    b = _row(tmp_path / "b", IDS, [5] * 200)
    (b / "ranks.parquet").unlink()  # e.g. only metrics.json was kept
    text = _table(b / "metrics.json", a)
    assert "| a **(best)** |" in text and "ranks file not found" in text
    assert "(the only row with this metric)" in _table(a)


def test_compare_pairs_reads_each_pair_from_its_interval(tmp_path):
    good = _row(tmp_path / "good", IDS, [0] * 100 + [40] * 100)  # half the targets first
    bad = _row(tmp_path / "bad", IDS, [40] * 200)  # never in the top 10
    same = _row(tmp_path / "same", IDS, [0] * 100 + [40] * 100, name="same")
    out = tmp_path / "pairs.md"
    res = runner.invoke(
        app,
        ["compare-pairs", "--pair", f"{good},{bad}", "--pair", f"twin - good={same},{good}"]
        + ["--pair", f"{bad},{good}", "--bootstrap", "200", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert res.output == text
    assert "| good - bad | 200 | **+0.5000** |" in text
    assert "| twin - good | 200 | +0.0000 | +0.0000 to +0.0000 |" in text
    assert "- good is significantly ahead of bad on NDCG@10 (+0.5000" in text
    assert "- twin and good cannot be told apart on NDCG@10" in text
    assert "- bad is significantly behind good on NDCG@10 (-0.5000" in text


def test_compare_pairs_reads_a_free_label_as_the_difference(tmp_path):
    good = _row(tmp_path / "good", IDS, [0] * 100 + [40] * 100)
    bad = _row(tmp_path / "bad", IDS, [40] * 200)
    res = runner.invoke(
        app,
        ["compare-pairs", "--pair", f"gain={good},{bad}", "--pair", f"loss={bad},{good}"]
        + ["--pair", f"none={good},{good}", "--bootstrap", "200"],
    )
    assert res.exit_code == 0, res.output
    # never a sentence with an empty row name ("gain and  cannot be told apart")
    assert "- gain is significantly above zero on NDCG@10 (+0.5000" in res.output
    assert "- loss is significantly below zero on NDCG@10 (-0.5000" in res.output
    assert "- none cannot be told from zero on NDCG@10 (+0.0000" in res.output


def test_compare_pairs_bad_pair(tmp_path):
    a = _row(tmp_path / "a", IDS, [0] * 200)
    res = runner.invoke(app, ["compare-pairs", "--pair", str(a)])
    assert res.exit_code == 2 and "expected A,B or LABEL=A,B" in res.output


_MISSING_INPUTS = ["--items", "i.parquet", "--out", "{rows}/o"]  # a bad flag fails before reading


@pytest.mark.parametrize(
    ("command", "flag", "value", "named"),
    [
        (["compare-pairs", "--pair", "{row},{row}"], "--metric", "bogus", "bogus"),
        (["compare-pairs", "--pair", "{row},{row}"], "--metric", "ndcg@10,hr@0", "hr@0"),
        (["table", "{row}"], "--best-by", "ndcg10", "ndcg10"),
        (
            ["report", "--results", "{rows}", "--out", "{rows}/r.md"],
            "--best-by",
            "mrr@10",
            "mrr@10",
        ),
        (
            ["evaluate", "--predictions", "p.jsonl", "--embeddings", "e.npy", *_MISSING_INPUTS],
            "--select-metric",
            "NDCG@10",
            "NDCG@10",
        ),
        (
            ["baseline", "content", "--examples", "t.jsonl", "--embeddings", "e.npy"]
            + ["--train", "t.jsonl", *_MISSING_INPUTS],
            "--select-metric",
            "ndcg@",
            "ndcg@",
        ),
        (
            ["fuse", "--examples", "t.jsonl", "--valid-examples", "v.jsonl", "--source", "a=x"]
            + _MISSING_INPUTS,
            "--select-metric",
            "hr",
            "hr",
        ),
    ],
)
def test_a_bad_metric_name_is_one_line_exit_2_naming_flag_value_and_metrics(
    tmp_path, command, flag, value, named
):
    rows = tmp_path / "eval"
    row = _row(rows / "a", IDS, [0] * 200)
    args = [arg.format(row=row, rows=rows) for arg in command] + [flag, value]
    res = runner.invoke(app, args)
    accepted = "ndcg@K, hr@K, none" if flag == "--best-by" else "ndcg@K, hr@K"
    assert res.exit_code == 2, res.output
    assert res.output == (
        f"error: {flag} {named!r}: not a metric; expected one of {accepted}, K a positive "
        "integer (e.g. ndcg@10)\n"
    )
    assert sorted(p.name for p in rows.iterdir()) == ["a"]  # nothing written
