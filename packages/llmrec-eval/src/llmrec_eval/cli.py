"""The `llmrec-eval` command line: thin wrappers over the library, one dataclass config per command."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from llmrec_cli import check_config_command
from rich.console import Console

from llmrec_eval._errors import InputError
from llmrec_eval.config import (
    CatalogueConfig,
    CompareConfig,
    ComparePairsConfig,
    CompareRunsConfig,
    ContentConfig,
    EvaluateConfig,
    FuseConfig,
    PopularityConfig,
    ReportConfig,
    RunReportConfig,
    SamplesConfig,
    ScoresConfig,
    TableConfig,
    add_command,
    parse_ks,
)
from llmrec_eval.interests.cli import app as interests_app

app = typer.Typer(
    help="llmrec-eval: ground generated text to catalogue items; NDCG@K / HR@K.",
    no_args_is_help=True,
)
app.add_typer(interests_app, name="interests")
baseline_app = typer.Typer(
    help="Ranking baselines without an LLM, scored like `evaluate`.", no_args_is_help=True
)
app.add_typer(baseline_app, name="baseline")

console = Console()


def _print_version(value: bool) -> None:
    if value:
        from llmrec_eval import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Exit codes: 0 done, 1 failure (a bug: traceback), 2 bad input (one line), 130 interrupted."""


def _show(result: dict[str, Any]) -> None:
    from llmrec_eval.report import markdown_table

    typer.echo(markdown_table([result]), nl=False)
    gamma = (result.get("reweighting") or {}).get("gamma")
    if gamma is not None:
        console.print(f"gamma = {gamma:g}")


def _evaluate(config: EvaluateConfig) -> None:
    if config.predictions.is_dir():
        from llmrec_eval.folder import evaluate_folder

        evaluate_folder(config)
        typer.echo((config.out / "table.md").read_text(encoding="utf-8"), nl=False)
        return
    from llmrec_eval.evaluate import evaluate

    _show(evaluate(config))


def _most_popular(config: PopularityConfig) -> None:
    from llmrec_eval.evaluate import baseline_popularity

    _show(baseline_popularity(config, recent=False))


def _recent_popular(config: PopularityConfig) -> None:
    from llmrec_eval.evaluate import baseline_popularity

    _show(baseline_popularity(config, recent=True))


def _content(config: ContentConfig) -> None:
    from llmrec_eval.evaluate import baseline_content

    _show(baseline_content(config))


_METRICS_FILES = [
    inspect.Parameter(
        "metrics_files",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[
            list[Path], typer.Argument(help="metrics.json files (or folders holding one).")
        ],
    )
]


def _scores(config: ScoresConfig) -> None:
    from llmrec_eval.score_baseline import baseline_scores

    _show(baseline_scores(config))


def _fuse(config: FuseConfig) -> None:
    from llmrec_eval.fuse import fuse
    from llmrec_eval.report import markdown_table

    results = fuse(config)
    typer.echo(markdown_table(results), nl=False)
    for result in results:
        weights = ", ".join(f"{n} {w:.2f}" for n, w in result["fusion"]["weights"].items())
        fusion = result["fusion"]
        cv = fusion.get("valid_cv")
        out_of_fold = f", out of fold {cv['metric']:.4f}" if cv else ""
        console.print(
            f"{result['name']}: weights {weights} (valid {fusion['select_metric']} "
            f"{fusion['valid_metric']:.4f} in sample{out_of_fold})"
        )
        if cv and "full_minus_this" in cv:
            d = cv["full_minus_this"]
            console.print(
                f"  full fusion minus this row, out of fold on valid: {d['diff']:+.4f} "
                f"(95% interval {d['ci'][0]:+.4f} to {d['ci'][1]:+.4f})"
            )


def _table(config: TableConfig, metrics_files: list[Path]) -> None:
    from llmrec_eval.compare import find_leader
    from llmrec_eval.report import load_metrics, markdown_table, write_table

    runs = [load_metrics(p) for p in metrics_files]
    leader = None
    if config.best_by != "none":
        leader = find_leader(
            runs, metrics_files, config.best_by, n_resamples=config.bootstrap, seed=config.seed
        )
    if config.out is not None:
        write_table(runs, config.out, ci=config.ci, leader=leader)
    typer.echo(markdown_table(runs, ci=config.ci, leader=leader), nl=False)


def _compare(config: CompareConfig, a: Path, b: Path) -> None:
    from llmrec_eval._io import write_text
    from llmrec_eval.compare import compare

    ks = parse_ks(config.ks) if config.ks else None
    text = compare(a, b, ks=ks, n_resamples=config.bootstrap, seed=config.seed).markdown()
    if config.out is not None:
        write_text(config.out, text)
    typer.echo(text, nl=False)


def _compare_pairs(config: ComparePairsConfig) -> None:
    from llmrec_eval._io import write_text
    from llmrec_eval.compare import compare, pairs_markdown
    from llmrec_eval.metrics import parse_metric

    metrics = [m.strip().lower() for m in config.metric.split(",") if m.strip()]
    if not metrics:
        raise InputError(f"--metric {config.metric!r}: expected at least one metric (e.g. ndcg@10)")
    ks = sorted({parse_metric(m, "--metric")[1] for m in metrics})
    comparisons = []
    for item in config.pair:
        label, _, paths = item.rpartition("=") if "=" in item else ("", "", item)
        a, comma, b = paths.partition(",")
        if not comma or not a or not b:
            raise InputError(f"--pair {item!r}: expected A,B or LABEL=A,B (two eval folders)")
        cmp = compare(
            Path(a), Path(b), ks=ks, metrics=metrics, n_resamples=config.bootstrap, seed=config.seed
        )
        comparisons.append((label or f"{cmp.a} - {cmp.b}", cmp))
    text = pairs_markdown(comparisons, metrics)
    if config.out is not None:
        write_text(config.out, text)
    typer.echo(text, nl=False)


def _plot(config: ReportConfig, metrics_files: list[Path]) -> None:
    from llmrec_eval.report import load_metrics, plot_metrics

    out = config.out or Path("metrics.png")
    plot_metrics([load_metrics(p) for p in metrics_files], out)
    console.print(f"wrote {out}")


def _samples(config: SamplesConfig) -> None:
    from llmrec_eval.samples import samples_markdown, write_samples

    runs: dict[str, Path] = {}
    for item in config.run:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise InputError(f"--run {item!r}: expected NAME=FOLDER")
        runs[name] = Path(folder)
    text = samples_markdown(
        config.examples,
        config.items,
        runs,
        n=config.n,
        seed=config.seed,
        history=config.history,
        top=config.top,
    )
    if config.out is not None:
        write_samples(config.out, text)
    else:
        typer.echo(text)


def _report(config: RunReportConfig) -> None:
    from llmrec_eval.run_report import write_report

    report = write_report(
        config.results,
        config.out,
        examples=config.examples,
        items=config.items,
        manifest=config.manifest,
        title=config.title,
        loss_plot=config.loss_plot,
        pairs=config.pair or [],
        best_by=config.best_by,
        bootstrap=config.bootstrap,
        seed=config.seed,
    )
    typer.echo(report.results, nl=False)
    console.print(f"wrote {config.out}")


def _compare_runs(config: CompareRunsConfig) -> None:
    from llmrec_eval.run_report import compare_runs

    compare_runs(config.run, config.out)
    console.print(f"wrote {config.out}")


def _catalogue(config: CatalogueConfig) -> None:
    from llmrec_eval.catalogue import import_catalogue

    summary = import_catalogue(config)
    typer.echo(f"wrote {config.out}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))


add_command(
    app,
    "catalogue",
    CatalogueConfig,
    _catalogue,
    help="Import an items file (movies.dat, CSV, TSV) as a contract items.parquet.",
)
add_command(
    app,
    "evaluate",
    EvaluateConfig,
    _evaluate,
    help="Ground generated texts (predictions.jsonl, a BIGRec result JSON, or a folder of them) "
    "and score them.",
)
add_command(
    baseline_app,
    "most-popular",
    PopularityConfig,
    _most_popular,
    help="Most popular items over the training split (items.parquet popularity).",
)
add_command(
    baseline_app,
    "recent-popular",
    PopularityConfig,
    _recent_popular,
    help="Most popular items over the most recent window of training examples.",
)
add_command(
    baseline_app,
    "content",
    ContentConfig,
    _content,
    help="No LLM: items nearest the last watched items, re-weighted by recent popularity.",
)
add_command(
    baseline_app,
    "scores",
    ScoresConfig,
    _scores,
    help="A ranking model's score file (scores.parquet, docs/contracts.md) as a row.",
)
add_command(
    app,
    "fuse",
    FuseConfig,
    _fuse,
    help="Fuse several score sources (weighted sum of per-example normalised scores), weights "
    "chosen on valid; metrics on test, and ablation rows without named sources.",
)
add_command(
    app,
    "compare",
    CompareConfig,
    _compare,
    extra=[
        inspect.Parameter(
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[Path, typer.Argument(help=f"Eval folder of row {name.upper()}.")],
        )
        for name in ("a", "b")
    ],
    help="Row A minus row B on the same examples: NDCG@K, HR@K, paired bootstrap 95% intervals.",
)
add_command(
    app,
    "compare-pairs",
    ComparePairsConfig,
    _compare_pairs,
    help="Several pairs of rows in one table (A minus B, paired bootstrap 95% intervals), each "
    "read in one sentence: ahead, behind, or not distinguishable.",
)
add_command(
    app,
    "table",
    TableConfig,
    _table,
    extra=_METRICS_FILES,
    help="Markdown table (NG@K ... HR@K, BIGRec's layout) comparing metrics.json files.",
)
add_command(
    app,
    "plot",
    ReportConfig,
    _plot,
    extra=_METRICS_FILES,
    help="PNG plot of NDCG@K and HR@K against K for metrics.json files.",
)


add_command(
    app,
    "samples",
    SamplesConfig,
    _samples,
    help="Markdown samples: history, target, and each run's generated text, top items, target rank.",
)


add_command(
    app,
    "report",
    RunReportConfig,
    _report,
    help="A run's report.md: results table (best row marked), 95% intervals, plot, paired "
    "comparisons, samples and stages, from a folder of evaluated rows.",
)
add_command(
    app,
    "compare-runs",
    CompareRunsConfig,
    _compare_runs,
    help="Several reported runs side by side: the settings that differ, then each run's table.",
)
app.command("check-config")(check_config_command(app, "llmrec-eval"))


@app.command()
def version() -> None:
    """Print the package version."""
    from llmrec_eval import __version__

    typer.echo(__version__)
