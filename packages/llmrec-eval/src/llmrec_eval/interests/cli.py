"""`llmrec-eval interests ...` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from llmrec_eval._errors import check_writable, cli_errors
from llmrec_eval.interests.baseline import GENERIC_ABOVE

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
def baseline(
    examples: Annotated[
        Path,
        typer.Option(help="Examples file (test.jsonl, unseen.jsonl, ... of interests prepare)."),
    ],
    out: Annotated[Path, typer.Option(help="predictions.jsonl to write (and .meta.json beside).")],
    method: Annotated[
        str, typer.Option(help="The no-model rule: recurrence (labels seen in the most videos).")
    ] = "recurrence",
    label_counts: Annotated[
        Path | None,
        typer.Option(
            help="YouTube-8M vocabulary.csv: skip labels with at least --generic-above training "
            "videos (Game, Vehicle, ...) unless a history has nothing else. Without it no label "
            "is skipped."
        ),
    ] = None,
    generic_above: Annotated[
        int,
        typer.Option(
            min=1,
            help="With --label-counts: a label with at least this many training videos is generic "
            "(250000, the target rule's threshold, chosen on valid).",
        ),
    ] = GENERIC_ABOVE,
) -> None:
    """Write a no-model profile per example from its own input labels (a predictions file that
    `evaluate` and `report` read like any model's)."""
    from llmrec_eval._errors import InputError
    from llmrec_eval.interests.baseline import (
        METHODS,
        baseline_rows,
        generic_labels,
        jsonl,
        read_label_counts,
    )
    from llmrec_eval.interests.io import read_examples, write_atomic

    if method not in METHODS:
        raise InputError(f"--method: expected one of {', '.join(METHODS)}, got {method!r}")
    if out.suffix != ".jsonl":
        raise InputError(f"--out {out}: expected a .jsonl file name (the meta file goes beside it)")
    check_writable(out, folder=False)
    rows = read_examples(examples)
    generic: set[str] = set()
    if label_counts is not None:
        generic = generic_labels(read_label_counts(label_counts), generic_above)
    predictions = baseline_rows(examples, rows, generic)
    meta = {
        "model": f"none: {method} of the input labels",
        "adapter": None,
        "decoding": None,
        "max_new_tokens": None,
        "method": method,
        "label_counts": None if label_counts is None else str(label_counts),
        "generic_above": None if label_counts is None else generic_above,
        "n_examples": len(predictions),
    }
    write_atomic(out, jsonl(predictions))
    write_atomic(
        out.with_name(out.name.replace(".jsonl", ".meta.json")), json.dumps(meta, indent=2) + "\n"
    )
    typer.echo(f"{len(predictions)} profiles ({method}): {out}")


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
    baseline: Annotated[
        list[Path] | None,
        typer.Option(
            help="predictions.jsonl of `interests baseline` (no model, recurring labels), one per "
            "--examples: shown as a column beside the models."
        ),
    ] = None,
    metrics_out: Annotated[
        Path | None, typer.Option(help="Also write every run's metrics as JSON here.")
    ] = None,
    cases: Annotated[int, typer.Option(help="How many cases to show per scored set.")] = 8,
) -> None:
    """Compare LoRA OFF and LoRA ON (free and constrained), and the no-model baseline if given:
    metrics tables and side-by-side cases."""
    from llmrec_eval._errors import InputError
    from llmrec_eval.interests.report import NO_MODEL, ExampleSet, Run, write_report

    for written in (out, metrics_out):
        if written is not None:
            check_writable(written, folder=False)
    constrained, baseline = constrained or [], baseline or []
    counts = {"--off": len(off), "--on": len(on)}
    if constrained:
        counts["--constrained"] = len(constrained)
    if baseline:
        counts["--baseline"] = len(baseline)
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
        if baseline:
            runs.append(Run("no_model", NO_MODEL, baseline[i]))
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
