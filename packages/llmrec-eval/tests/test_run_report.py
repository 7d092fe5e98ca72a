"""`llmrec-eval report` and `compare-runs` on a folder of rows written by the package's own commands
(real MovieLens examples, real MiniLM item embeddings, hence the `torch` marker; every text an exact
title, so no model runs on the predictions).

The report is pinned against the commands it is assembled from (`table`, `table --ci`, `samples`,
`compare-pairs`): the same Markdown, byte for byte, plus the best-row marking and the paired section.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from llmrec_eval.cli import app
from llmrec_eval.compare import compare
from llmrec_eval.report import load_metrics, run_label
from llmrec_eval.run_report import write_report
from typer.testing import CliRunner

runner = CliRunner()
N_TEST = 120


def _cli(*args: str | Path) -> str:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


def _examples(path: Path, n: int) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(n), f, strict=False)]


def _predictions(ml_data: Path, split: str, out: Path, hit_every: int, seed: int) -> tuple:
    """predictions.jsonl and the examples it answers: every `hit_every`-th example's first text is
    its target's exact title, the others two random catalogue titles."""
    rows = _examples(ml_data / f"{split}.jsonl", N_TEST)
    titles = [r["target_title"] for r in _examples(ml_data / "train.jsonl", 10**9)]
    rng = random.Random(seed)
    examples = out.parent / f"{split}-examples.jsonl"
    examples.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with open(out, "w", encoding="utf-8") as f:
        for i, r in enumerate(rows):
            texts = [f'"{rng.choice(titles)}"', f'"{rng.choice(titles)}"']
            if i % hit_every == 0:
                texts[0] = f'"{r["target_title"]}"'
            f.write(json.dumps({**{k: r[k] for k in ("example_id", "target_item_id", "target_title")}, "predictions": texts, "scores": None}) + "\n")  # fmt: skip
    return out, examples


@pytest.fixture(scope="module")
def run(ml_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder as `invoke pipeline` lays it out: eval/<row>/ for LLM rows (LoRA on and off),
    baselines and a fusion with its ablation, scores/ for the fusion's sources, and a manifest."""
    folder = tmp_path_factory.mktemp("report") / "tiny"
    ev, sc, preds = folder / "eval", folder / "scores", folder / "predictions"
    preds.mkdir(parents=True)
    items, emb = ml_data / "items.parquet", ml_data / "item_embeddings.npy"
    test_preds, test = _predictions(ml_data, "test", preds / "test-lora.jsonl", 2, 0)
    valid_preds, valid = _predictions(ml_data, "valid", preds / "valid-lora.jsonl", 2, 1)
    base_preds, _ = _predictions(ml_data, "test", preds / "test-base.jsonl", 5, 2)
    common = ["--items", items, "--bootstrap", "100", "--exclude-history"]
    evaluate = ["evaluate", "--embeddings", emb, "--examples", test, *common]
    _cli(*evaluate, "--predictions", base_preds, "--out", ev / "llm-base")
    _cli(
        *evaluate,
        "--predictions",
        test_preds,
        "--valid-predictions",
        valid_preds,
        "--valid-examples",
        valid,
        "--out",
        ev / "llm-lora",
        "--write-scores",
        sc / "llm-lora",
    )
    train = ml_data / "train.jsonl"
    pop = ["baseline", "most-popular", "--examples", test, *common]
    _cli(*pop, "--out", ev / "most-popular")
    _cli(
        "baseline", "recent-popular", "--examples", test, "--train", train, *common,
        "--valid-examples", valid, "--write-scores", sc / "recent-popular",
        "--out", ev / "recent-popular",
    )  # fmt: skip
    _cli(
        "baseline", "content", "--examples", test, "--embeddings", emb, "--train", train,
        "--valid", valid, *common, "--write-scores", sc / "content", "--out", ev / "content",
    )  # fmt: skip
    sources = [f"--source={n}={sc / n}" for n in ("llm-lora", "content", "recent-popular")]
    _cli(
        "fuse", *sources, "--examples", test, "--valid-examples", valid, *common,
        "--grid-step", "0.25", "--ablate", "llm=llm-lora", "--out", ev / "fusion",
    )  # fmt: skip
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "dataset": "movie-small",
                "device": "cpu",
                "git_commit": "abc123",
                "wall_time_s": 12.5,
                "invocation_wall_time_s": 3.0,
                "config": {"evaluate": {"fusion": "rrf", "bootstrap": 100}},
                "stages": {"data": {"wall_time_s": 1.5}, "evaluate-llm-lora": {"wall_time_s": 4}},
            }
        )
    )
    (folder / "data").mkdir()
    return folder


ROWS = ["fusion", "fusion-without-llm", "llm-lora", "llm-base", "content", "recent-popular"]
ROWS += ["most-popular"]


@pytest.mark.torch
def test_report_equals_the_commands_it_is_made_of(run: Path, ml_data: Path) -> None:
    ev = run / "eval"
    test = run / "predictions" / "test-examples.jsonl"
    items = ml_data / "items.parquet"
    out = _cli(
        "report", "--results", ev, "--out", run / "report.md", "--examples", test,
        "--items", items, "--manifest", run / "manifest.json",
        "--loss-plot", run / "adapter" / "loss.png",  # absent: no training section
    )  # fmt: skip
    report = (run / "report.md").read_text()
    rows = [ev / name for name in ROWS]
    # the table: LLM rows first, in the pipeline's order; best row marked, runner-up sentence
    results = (run / "results.md").read_text()
    assert results == _cli("table", *rows) and results in out
    assert [line.split(" | ")[0][2:] for line in results.splitlines()[2:9]] == [
        _marked(run_label(load_metrics(r)), results) for r in rows
    ]
    runs = [load_metrics(r) for r in rows]
    best = max(range(len(runs)), key=lambda i: (runs[i]["metrics"]["ndcg@10"], -i))
    best_line = next(line for line in results.splitlines() if "**(best" in line)
    assert best_line.startswith(f"| {run_label(runs[best])} **(best")
    assert f"Best by NDCG@10: **{run_label(runs[best])}**" in results
    assert (run / "results_ci.md").read_text() == _cli("table", "--ci", "--best-by", "none", *rows)
    # the paired section: the questions whose rows exist, as compare-pairs writes them
    assert "## Paired comparisons" in report
    best_llm = max(
        ("fusion", "fusion-without-llm", "llm-lora", "llm-base"),
        key=lambda n: load_metrics(ev / n)["metrics"]["ndcg@10"],
    )
    pairs = [
        ("fusion - fusion without the LLM", "fusion", "fusion-without-llm"),
        ("LLM LoRA on - LoRA off", "llm-lora", "llm-base"),
        (f"best LLM row ({best_llm}) - content", best_llm, "content"),
    ]
    flags = [a for label, x, y in pairs for a in ("--pair", f"{label}={ev / x},{ev / y}")]
    comparisons = (run / "comparisons.md").read_text()
    assert comparisons == _cli("compare-pairs", *flags)
    lora = compare(ev / "llm-lora", ev / "llm-base", ks=[10], metrics=["ndcg@10", "hr@10"])
    d = lora["ndcg@10"]
    n_test = len(test.read_text().splitlines())  # the fixture may hold fewer than N_TEST
    assert f"| LLM LoRA on - LoRA off | {n_test} | " in comparisons
    assert f"{d.diff:+.4f}" in comparisons.split("| LLM LoRA on - LoRA off |")[1].splitlines()[0]
    assert "fusion without SASRec" not in comparisons  # no such rows here: not asked
    samples = (run / "samples.md").read_text()
    runs_flags = [a for r in rows for a in ("--run", f"{r.name}={r}")]
    _cli("samples", "--examples", test, "--items", items, *runs_flags, "--out", run / "s.md")
    assert samples == (run / "s.md").read_text()
    # report.md: the parts in order, the run's header and stages from the manifest
    assert report.startswith(
        "# llmrec run: movie-small / tiny\n\nDevice cpu, git commit abc123, total wall time "
        "12.5 s (each stage's last real run; the last invocation took 3.0 s).\n\n"
        "## Results (test split, full ranking)\n\n"
        + results
        + "\nWith 95% bootstrap intervals:\n\n"
    )
    assert (
        "![NDCG@K and HR@K](metrics.png)\n\n## Paired comparisons\n\n" + comparisons
        + "\n## Samples: history, target, and what each run ranked (LoRA on vs off)\n\n" + samples
        + "\n## Stages\n"
    ) in report  # fmt: skip
    assert "## Training" not in report
    assert report.endswith(
        "| stage | wall time (s) |\n|---|---:|\n| data | 1.5 |\n| evaluate-llm-lora | 4 |\n\n"
        "Settings: `manifest.json`.\n"
    )
    assert (run / "metrics.png").read_bytes().startswith(b"\x89PNG")


def _marked(label: str, results: str) -> str:
    for suffix in (" **(best, significant)**", " **(best)**"):
        if f"| {label}{suffix} |" in results:
            return label + suffix
    return label


@pytest.mark.torch
def test_training_plot_and_extra_pairs(run: Path, tmp_path: Path) -> None:
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "loss.png").write_bytes(b"\x89PNG\r\n")
    report = write_report(
        run / "eval",
        tmp_path / "r" / "report.md",
        loss_plot=tmp_path / "adapter" / "loss.png",
        pairs=["content,most-popular", "pop=recent-popular,most-popular"],
        best_by="none",
    )
    text = report.files["report"].read_text()
    assert "## Training\n\n![training and validation loss](../adapter/loss.png)" in text
    assert [label for label, _ in report.comparisons][-2:] == ["content - most-popular", "pop"]
    assert "**(best" not in report.results and "## Samples" not in text
    assert "## Stages" not in text and text.startswith(f"# llmrec evaluation: {run / 'eval'}\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pair", "content,nothing"], "no row 'nothing'"),
        (["--pair", "content"], "expected A,B or LABEL=A,B"),
        (["--examples", "x.jsonl"], "--examples and --items go together"),
        (["--manifest", "missing.json"], "missing.json: run manifest not found"),
    ],
)
@pytest.mark.torch
def test_bad_report_input_exits_2_and_writes_nothing(run, tmp_path, args, message) -> None:
    res = runner.invoke(
        app, ["report", "--results", str(run / "eval"), "--out", str(tmp_path / "report.md")] + args
    )
    assert res.exit_code == 2 and message in res.output, res.output
    assert list(tmp_path.iterdir()) == []


def test_a_folder_without_rows_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "eval" / "x").mkdir(parents=True)
    res = runner.invoke(
        app, ["report", "--results", str(tmp_path / "eval"), "--out", str(tmp_path / "r.md")]
    )
    assert res.exit_code == 2 and "no evaluated rows" in res.output, res.output
    assert not (tmp_path / "r.md").exists()


@pytest.mark.torch
def test_compare_runs_lists_the_settings_that_differ(run, tmp_path) -> None:
    folders = []
    for name, fusion in (("a", "rrf"), ("b", "first")):
        folder = tmp_path / name
        folder.mkdir()
        manifest = json.loads((run / "manifest.json").read_text())
        manifest["config"]["evaluate"]["fusion"] = fusion
        (folder / "manifest.json").write_text(json.dumps(manifest))
        (folder / "results.md").write_text(f"| run |\n|---|\n| {name} |\n")
        folders.append(folder)
    _cli("compare-runs", "--run", folders[0], "--run", folders[1], "--out", tmp_path / "c.md")
    assert (tmp_path / "c.md").read_text() == (
        "# llmrec comparison: movie-small, runs a, b\n\n## Settings that differ\n\n"
        "| setting | a | b |\n|---|---|---|\n| evaluate.fusion | `rrf` | `first` |\n\n"
        "## a ([report](a/report.md))\n\ngit commit abc123, wall time 12.5 s.\n\n"
        "| run |\n|---|\n| a |\n\n\n"
        "## b ([report](b/report.md))\n\ngit commit abc123, wall time 12.5 s.\n\n"
        "| run |\n|---|\n| b |\n"
    )
    (folders[1] / "results.md").unlink()
    res = runner.invoke(
        app, ["compare-runs", "--run", str(folders[0]), "--run", str(folders[1])]
        + ["--out", str(tmp_path / "d.md")]
    )  # fmt: skip
    assert res.exit_code == 2 and "results.md: not found" in res.output
    assert not (tmp_path / "d.md").exists()
