"""Evaluate LoRA OFF and LoRA ON predictions and write the Markdown report.

The report has the shape of the reference run in issue 6: a metrics table for both, then for each
case the prompt, the target profile, the LoRA OFF output and the LoRA ON output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmrec_eval._errors import InputError
from llmrec_eval.interests.io import (
    InterestExample,
    check_ids,
    read_examples,
    read_meta,
    read_predictions,
    write_atomic,
)
from llmrec_eval.interests.metrics import CaseScore, InterestMetrics, aggregate, score_text


@dataclass(frozen=True)
class RunResult:
    """One model's outputs and scores, by example_id."""

    name: str
    texts: dict[str, str]
    scores: dict[str, CaseScore]
    metrics: InterestMetrics
    meta: dict[str, Any] | None


def evaluate_predictions(
    examples: dict[str, InterestExample], texts: dict[str, str], name: str = "model"
) -> RunResult:
    """Score every prediction against its example."""
    scores = {
        example_id: score_text(
            text, examples[example_id].labels, examples[example_id].target_primary
        )
        for example_id, text in texts.items()
    }
    return RunResult(name, texts, scores, aggregate(list(scores.values())), None)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def metrics_table(runs: list[RunResult]) -> str:
    """Markdown table: one row a metric, one column a run."""
    header = "| metric | " + " | ".join(run.name for run in runs) + " |"
    rule = "|---|" + "---:|" * len(runs)
    rows = [
        ("examples", lambda m: str(m.n)),
        ("format compliance", lambda m: _percent(m.format_compliance)),
        (
            "faithfulness (named interests found in the input labels)",
            lambda m: (
                f"{_percent(m.faithfulness)} ({m.named_interests} named, "
                f"{m.invented_interests} invented)"
            ),
        ),
        ("primary precision", lambda m: f"{m.primary_precision:.3f}"),
        ("primary recall", lambda m: f"{m.primary_recall:.3f}"),
        ("primary F1", lambda m: f"{m.primary_f1:.3f}"),
        ("run-on rate", lambda m: _percent(m.run_on_rate)),
        ("repeated-interest rate", lambda m: _percent(m.repeat_rate)),
        ("primary interests named (mean)", lambda m: f"{m.mean_primary_named:.2f}"),
    ]
    lines = [header, rule]
    for label, show in rows:
        lines.append(f"| {label} | " + " | ".join(show(run.metrics) for run in runs) + " |")
    return "\n".join(lines)


def _block(text: str) -> str:
    """A fenced block that survives backticks in the text."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _case_note(score: CaseScore) -> str:
    parts = [
        "complies" if score.compliant else f"does not comply ({score.error})",
        f"primary F1 {score.primary_f1:.2f}",
    ]
    if score.invented:
        parts.append("invented: " + ", ".join(score.invented))
    if score.run_on:
        parts.append("runs on")
    return "; ".join(parts)


def _meta_line(run: RunResult) -> str:
    if not run.meta:
        return f"- {run.name}: no predictions.meta.json"
    keys = ("model", "adapter", "decoding", "max_new_tokens")
    return f"- {run.name}: " + ", ".join(f"{k} `{run.meta.get(k)}`" for k in keys)


def render_report(
    examples: dict[str, InterestExample], off: RunResult, on: RunResult, n_cases: int
) -> str:
    """The Markdown report."""
    ids = [example_id for example_id in examples if example_id in on.texts]
    lines = [
        "# Interest summaries: LoRA OFF vs LoRA ON",
        "",
        f"{len(ids)} held-out users. Metrics as defined in the llmrec-eval README (interests).",
        "",
        metrics_table([off, on]),
        "",
        _meta_line(off),
        _meta_line(on),
        "",
        "## Cases",
    ]
    for number, example_id in enumerate(ids[:n_cases], start=1):
        example = examples[example_id]
        kind = f", {example.user_kind} user" if example.user_kind else ""
        lines += [
            "",
            f"### Case {number}: `{example_id}`{kind}",
            "",
            "Prompt:",
            _block(f"{example.instruction}\n{example.input}"),
            "Target:",
            _block(example.target_output),
            f"LoRA OFF (base): {_case_note(off.scores[example_id])}",
            _block(off.texts[example_id]),
            f"LoRA ON: {_case_note(on.scores[example_id])}",
            _block(on.texts[example_id]),
        ]
    return "\n".join(lines) + "\n"


def compare_runs(
    examples_path: Path,
    off_path: Path,
    on_path: Path,
    report_path: Path,
    metrics_path: Path | None = None,
    n_cases: int = 8,
) -> tuple[InterestMetrics, InterestMetrics]:
    """Read the examples and both predictions files, write the report (and metrics JSON)."""
    examples = read_examples(examples_path)
    runs = []
    for name, path in (("LoRA OFF", off_path), ("LoRA ON", on_path)):
        texts = read_predictions(path)
        check_ids(examples_path, examples, path, set(texts))
        result = evaluate_predictions(examples, texts, name)
        runs.append(
            RunResult(result.name, result.texts, result.scores, result.metrics, read_meta(path))
        )
    off, on = runs
    if set(off.texts) != set(on.texts):
        raise InputError(
            f"{off_path} and {on_path} cover different examples "
            f"({len(off.texts)} vs {len(on.texts)}): generate both on the same file"
        )
    write_atomic(report_path, render_report(examples, off, on, n_cases))
    if metrics_path is not None:
        payload = {
            "task": "interests",
            "examples": str(examples_path),
            "lora_off": {"predictions": str(off_path), **off.metrics.to_dict()},
            "lora_on": {"predictions": str(on_path), **on.metrics.to_dict()},
        }
        write_atomic(metrics_path, json.dumps(payload, indent=2) + "\n")
    return off.metrics, on.metrics
