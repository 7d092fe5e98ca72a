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
    if any(row.target_primary is None for row in rows.values()):
        from llmrec_eval._errors import InputError

        raise InputError(
            f"{examples}: no targets (target_primary) to score against; `report` shows such sets"
        )
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
        list[str],
        typer.Option(
            help="Examples file (test.jsonl of interests prepare), as PATH or NAME=PATH (NAME: the "
            "set's title; default the file name). Repeat for several sets (unseen.jsonl, "
            "showcase.jsonl: a set without targets is shown, not scored)."
        ),
    ],
    off: Annotated[
        list[Path],
        typer.Option(help="predictions.jsonl of the base model (LoRA OFF), one per --examples."),
    ],
    on: Annotated[
        list[Path],
        typer.Option(help="predictions.jsonl with the LoRA adapter (LoRA ON), one per --examples."),
    ],
    out: Annotated[Path, typer.Option(help="Markdown report to write.")],
    constrained: Annotated[
        list[Path] | None,
        typer.Option(
            help="predictions.jsonl of LoRA ON with constrained interest decoding, one per "
            "--examples (then --on is shown as free decoding)."
        ),
    ] = None,
    metrics_out: Annotated[
        Path | None, typer.Option(help="Also write every run's metrics as JSON here.")
    ] = None,
    cases: Annotated[int, typer.Option(help="How many cases to show per scored set.")] = 8,
) -> None:
    """Compare LoRA OFF and LoRA ON (free and constrained): metrics tables and side-by-side cases."""
    from llmrec_eval._errors import InputError
    from llmrec_eval.interests.report import ExampleSet, Run, write_report

    for written in (out, metrics_out):
        if written is not None:
            check_writable(written, folder=False)
    constrained = constrained or []
    counts = {"--off": len(off), "--on": len(on)}
    if constrained:
        counts["--constrained"] = len(constrained)
    for flag, count in counts.items():
        if count != len(examples):
            raise InputError(
                f"{flag} given {count} time(s) but --examples {len(examples)}: one predictions "
                "file per examples file, in the same order"
            )
    sets = []
    for i, spec in enumerate(examples):
        name, _, path = spec.rpartition("=")
        path_ = Path(path)
        runs = [Run("lora_off", "LoRA OFF", off[i])]
        if constrained:
            runs.append(Run("lora_on", "LoRA ON (free)", on[i]))
            runs.append(Run("lora_on_constrained", "LoRA ON (constrained)", constrained[i]))
        else:
            runs.append(Run("lora_on", "LoRA ON", on[i]))
        sets.append(ExampleSet(name or path_.stem, path_, runs))
    if len({s.name for s in sets}) < len(sets):
        raise InputError("--examples: two sets with the same name; name them NAME=PATH")
    metrics = write_report(sets, out, metrics_out, cases)
    for set_name, by_run in metrics.items():
        prefix = f"[{set_name}] " if len(sets) > 1 else ""
        for run, m in zip(sets[0].runs, by_run.values(), strict=True):
            faith = "n/a" if m.faithfulness is None else f"{m.faithfulness:.3f}"
            typer.echo(
                f"{prefix}{run.name}: compliance {m.format_compliance:.3f}, faithfulness {faith}, "
                f"repeats {m.repeat_rate:.3f}, run-on {m.run_on_rate:.3f}, "
                f"primary P/R/F1 {m.primary_precision:.3f}/{m.primary_recall:.3f}/"
                f"{m.primary_f1:.3f}"
            )
    typer.echo(f"report: {out}")
