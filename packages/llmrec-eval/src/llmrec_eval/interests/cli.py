"""`llmrec-eval interests ...` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from llmrec_eval._errors import check_writable, cli_errors

app = typer.Typer(help="Interest summaries from watched-video topic labels.", no_args_is_help=True)


@app.command()
@cli_errors
def evaluate(
    examples: Annotated[
        Path, typer.Option(help="Examples file (test.jsonl of interests prepare).")
    ],
    predictions: Annotated[Path, typer.Option(help="predictions.jsonl of one model.")],
    out: Annotated[Path | None, typer.Option(help="Write the metrics as JSON here.")] = None,
) -> None:
    """Score one predictions file: format compliance, faithfulness, primary P/R/F1, run-on."""
    from llmrec_eval.interests.io import check_ids, read_examples, read_predictions, write_atomic
    from llmrec_eval.interests.report import evaluate_predictions, metrics_table

    if out is not None:
        check_writable(out, folder=False)
    rows = read_examples(examples)
    texts = read_predictions(predictions)
    check_ids(examples, rows, predictions, set(texts))
    result = evaluate_predictions(rows, texts, predictions.parent.name or "model")
    typer.echo(metrics_table([result]))
    if out is not None:
        payload = {"task": "interests", "predictions": str(predictions), **result.metrics.to_dict()}
        write_atomic(out, json.dumps(payload, indent=2) + "\n")


@app.command()
@cli_errors
def report(
    examples: Annotated[
        Path, typer.Option(help="Examples file (test.jsonl of interests prepare).")
    ],
    off: Annotated[Path, typer.Option(help="predictions.jsonl of the base model (LoRA OFF).")],
    on: Annotated[Path, typer.Option(help="predictions.jsonl with the LoRA adapter (LoRA ON).")],
    out: Annotated[Path, typer.Option(help="Markdown report to write.")],
    metrics_out: Annotated[
        Path | None, typer.Option(help="Also write both runs' metrics as JSON here.")
    ] = None,
    cases: Annotated[int, typer.Option(help="How many cases to show in the report.")] = 8,
) -> None:
    """Compare LoRA OFF and LoRA ON: a metrics table and side-by-side cases, in Markdown."""
    from llmrec_eval.interests.report import compare_runs

    for path in (out, metrics_out):
        if path is not None:
            check_writable(path, folder=False)
    off_metrics, on_metrics = compare_runs(examples, off, on, out, metrics_out, cases)
    for name, m in (("LoRA OFF", off_metrics), ("LoRA ON", on_metrics)):
        faith = "n/a" if m.faithfulness is None else f"{m.faithfulness:.3f}"
        typer.echo(
            f"{name}: compliance {m.format_compliance:.3f}, faithfulness {faith}, "
            f"primary F1 {m.primary_f1:.3f}, run-on {m.run_on_rate:.3f}"
        )
    typer.echo(f"report: {out}")
