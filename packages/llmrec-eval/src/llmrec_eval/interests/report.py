"""Evaluate several models' predictions on one or more example sets and write the Markdown report.

The report has the shape of the reference run in issue 6: for each example set with targets, a
metrics table with one column a model (LoRA OFF, LoRA ON, LoRA ON constrained, ...); then a primary-F1
table over all sets; then each set's cases: the prompt, the target profile and every model's output.
A set without targets (the showcase prompts) is shown in full, with per-output notes, and not scored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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

NO_MODEL = "no model (recurring labels)"
"""The column of `interests baseline`'s predictions."""


@dataclass(frozen=True)
class RunResult:
    """One model's outputs and scores, by example_id."""

    name: str
    texts: dict[str, str]
    scores: dict[str, CaseScore]
    metrics: InterestMetrics
    meta: dict[str, Any] | None


@dataclass(frozen=True)
class Run:
    """One model's predictions file for an example set: `key` names it in metrics.json."""

    key: str
    name: str
    predictions: Path


@dataclass(frozen=True)
class ExampleSet:
    """An examples file and the runs to compare on it (same runs, same order, in every set)."""

    name: str
    examples: Path
    runs: Sequence[Run]


@dataclass(frozen=True)
class _SetResult:
    name: str
    path: Path
    examples: dict[str, InterestExample]
    runs: list[RunResult]
    keys: list[str]

    @property
    def scored(self) -> bool:
        return all(e.target_primary is not None for e in self.examples.values())


def evaluate_predictions(
    examples: dict[str, InterestExample], texts: dict[str, str], name: str = "model"
) -> RunResult:
    """Score every prediction against its example (an example without targets scores no F1)."""
    scores = {
        example_id: score_text(
            text, examples[example_id].labels, examples[example_id].target_primary or []
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


def _f1_table(sets: list[_SetResult]) -> str:
    """Primary F1 (and compliance) of every run on every scored set, side by side."""
    names = [run.name for run in sets[0].runs]
    lines = ["| example set | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for result in sets:
        cells = [
            f"{r.metrics.primary_f1:.3f} ({_percent(r.metrics.format_compliance)})"
            for r in result.runs
        ]
        lines.append(f"| {result.name} ({len(result.examples)}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _block(text: str) -> str:
    """A fenced block that survives backticks in the text."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _case_note(score: CaseScore, scored: bool = True) -> str:
    parts = ["complies" if score.compliant else f"does not comply ({score.error})"]
    if scored:
        parts.append(f"primary F1 {score.primary_f1:.2f}")
    if score.invented:
        parts.append("invented: " + ", ".join(score.invented))
    if score.repeats:
        parts.append("repeats an interest")
    if score.run_on:
        parts.append("runs on")
    return "; ".join(parts)


def _meta_line(run: RunResult) -> str:
    if not run.meta:
        return f"- {run.name}: no predictions.meta.json"
    if run.meta.get("method") == "recurrence":
        generic = run.meta.get("generic_above")
        skipped = f", skipping labels with at least {generic:,} training videos" if generic else ""
        return (
            f"- {run.name}: no model. `llmrec-eval interests baseline`: primary = the input labels "
            f"seen in the most videos (at most 3){skipped}; a reference point every model should "
            "beat."
        )
    keys = ("model", "adapter", "decoding", "max_new_tokens")
    line = f"- {run.name}: " + ", ".join(f"{k} `{run.meta.get(k)}`" for k in keys)
    if run.meta.get("constrained_interests"):
        line += (
            ". Constrained decoding: the model may write only the example's own input labels, each "
            "at most once, inside the fixed three-line format, and the direction names only listed "
            "interests; so faithfulness 100%, repeated-interest rate 0%, compliance 100% and run-on "
            "0% hold by construction (the measured figures confirm it). Primary F1 is what is left."
        )
    return line


def _prompt(example: InterestExample) -> str:
    user = f"{example.instruction}\n{example.input}" if example.input else example.instruction
    return f"[system] {example.system}\n{user}" if example.system else user


def _run_label(name: str) -> str:
    return "LoRA OFF (base)" if name == "LoRA OFF" else name


def _cases(result: _SetResult, n_cases: int, title: str) -> list[str]:
    first = result.runs[0]
    ids = [example_id for example_id in result.examples if example_id in first.texts]
    lines: list[str] = []
    for number, example_id in enumerate(ids[:n_cases], start=1):
        example = result.examples[example_id]
        kind = f", {example.user_kind} user" if example.user_kind else ""
        lines += ["", f"### {title} {number}: `{example_id}`{kind}", "", "Prompt:"]
        lines.append(_block(_prompt(example)))
        if example.target_output is not None:
            lines += ["Target:", _block(example.target_output)]
        for run in result.runs:
            note = _case_note(run.scores[example_id], result.scored)
            lines += [f"{_run_label(run.name)}: {note}", _block(run.texts[example_id])]
    return lines


def _render(sets: list[_SetResult], n_cases: int) -> str:
    scored = [s for s in sets if s.scored]
    shown = [s for s in sets if not s.scored]
    names = " vs ".join(run.name for run in sets[0].runs)
    lines = [f"# Interest summaries: {names}", ""]
    lines.append("Metrics as defined in the llmrec-eval README (interests).")
    for result in scored:
        lines += [
            "",
            f"## {result.name}: {len(result.examples)} held-out users (`{result.path.name}`)",
            "",
            metrics_table(result.runs),
        ]
    if len(scored) > 1:
        lines += ["", "## Primary F1 (format compliance) on every set", "", _f1_table(scored)]
    lines += ["", "## Models", ""] + [_meta_line(run) for run in sets[0].runs]
    for result in shown:
        lines += ["", f"## {result.name}: {len(result.examples)} prompts, shown, not scored"]
        lines += _cases(result, len(result.examples), "Prompt")
    for result in scored:
        lines += ["", f"## Cases: {result.name}"]
        lines += _cases(result, n_cases, "Case")
    return "\n".join(lines) + "\n"


def _evaluate_set(example_set: ExampleSet) -> _SetResult:
    examples = read_examples(example_set.examples)
    runs = []
    for run in example_set.runs:
        texts = read_predictions(run.predictions)
        check_ids(example_set.examples, examples, run.predictions, set(texts))
        result = evaluate_predictions(examples, texts, run.name)
        meta = read_meta(run.predictions)
        runs.append(RunResult(result.name, result.texts, result.scores, result.metrics, meta))
    for run, result in zip(example_set.runs[1:], runs[1:], strict=True):
        if set(result.texts) != set(runs[0].texts):
            raise InputError(
                f"{example_set.runs[0].predictions} and {run.predictions} cover different "
                f"examples ({len(runs[0].texts)} vs {len(result.texts)}): generate all on the "
                "same file"
            )
    keys = [run.key for run in example_set.runs]
    return _SetResult(example_set.name, example_set.examples, examples, runs, keys)


def write_report(
    sets: Sequence[ExampleSet],
    report_path: Path,
    metrics_path: Path | None = None,
    n_cases: int = 8,
) -> dict[str, dict[str, InterestMetrics]]:
    """Evaluate every run on every set; write the report (and metrics JSON). Returns the metrics of
    the sets with targets, `{set name: {run key: metrics}}`."""
    if not sets:
        raise InputError("no example set to report on")
    keys = [run.key for run in sets[0].runs]
    for example_set in sets:
        if [run.key for run in example_set.runs] != keys:
            raise InputError(
                f"{example_set.examples}: every example set needs the same runs ({keys})"
            )
    results = [_evaluate_set(s) for s in sets]
    if not any(r.scored for r in results):
        raise InputError(
            f"{sets[0].examples}: no example set with targets (target_primary) to score"
        )
    write_atomic(report_path, _render(results, n_cases))
    metrics = {
        r.name: {key: run.metrics for key, run in zip(r.keys, r.runs, strict=True)}
        for r in results
        if r.scored
    }
    if metrics_path is not None:
        payload: dict[str, Any] = {"task": "interests", "sets": {}}
        for r in results:
            if not r.scored:
                continue
            entry: dict[str, Any] = {"examples": str(r.path)}
            for key, run, spec in zip(r.keys, r.runs, _runs_of(sets, r.name), strict=True):
                entry[key] = {"name": run.name, "predictions": str(spec), **run.metrics.to_dict()}
            payload["sets"][r.name] = entry
        first = next(iter(payload["sets"].values()))
        payload.update({k: v for k, v in first.items() if k != "examples"})  # the first set's runs
        payload["examples"] = first["examples"]
        write_atomic(metrics_path, json.dumps(payload, indent=2) + "\n")
    return metrics


def _runs_of(sets: Sequence[ExampleSet], name: str) -> list[Path]:
    return [run.predictions for run in next(s for s in sets if s.name == name).runs]


def compare_runs(
    examples_path: Path,
    off_path: Path,
    on_path: Path,
    report_path: Path,
    metrics_path: Path | None = None,
    n_cases: int = 8,
) -> tuple[InterestMetrics, InterestMetrics]:
    """LoRA OFF vs LoRA ON on one examples file (the two-column report)."""
    runs = [Run("lora_off", "LoRA OFF", off_path), Run("lora_on", "LoRA ON", on_path)]
    name = examples_path.stem
    metrics = write_report(
        [ExampleSet(name, examples_path, runs)], report_path, metrics_path, n_cases
    )
    return metrics[name]["lora_off"], metrics[name]["lora_on"]
