"""Interest-summary metrics.

Per output (see `parse.py` for what complies and what runs on):
- format compliance: the output is exactly the three-line format;
- run-on: text continues past the format;
- faithfulness: of the distinct interests it names (primary and secondary), the ones that are labels
  of the input videos (names compared case-insensitively); the others are *invented*. A name repeated
  in one output counts once here;
- repeats: the output names one interest twice (e.g. a primary interest again as a secondary one);
- primary precision / recall / F1 against the target primary interests (as sets of names). An output
  that names no primary interest scores 0 on all three.
Aggregates: compliance and run-on are shares of outputs; faithfulness is pooled over every named
interest of every output (micro average; undefined when nothing is named); precision, recall and F1 are
means over outputs (macro average), so a free-text answer counts as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from llmrec_eval.interests.parse import ParsedOutput, normalize, parse_output


@dataclass(frozen=True)
class CaseScore:
    """The scores of one output."""

    compliant: bool
    run_on: bool
    repeats: bool
    named: int
    primary_named: int
    invented: list[str]
    primary_precision: float
    primary_recall: float
    primary_f1: float
    error: str | None


@dataclass(frozen=True)
class InterestMetrics:
    """Aggregates over a set of outputs."""

    n: int
    format_compliance: float
    run_on_rate: float
    repeat_rate: float
    faithfulness: float | None
    named_interests: int
    invented_interests: int
    primary_precision: float
    primary_recall: float
    primary_f1: float
    mean_primary_named: float

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def score_case(
    parsed: ParsedOutput, input_labels: Sequence[str], target_primary: Sequence[str]
) -> CaseScore:
    """Score one parsed output against its example's labels and target."""
    labels = {normalize(label) for label in input_labels}
    named = parsed.named
    invented = [name for name in named if normalize(name) not in labels]
    predicted = {normalize(name) for name in parsed.primary}
    target = {normalize(name) for name in target_primary}
    hits = len(predicted & target)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(target) if target else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return CaseScore(
        compliant=parsed.compliant,
        run_on=parsed.run_on,
        repeats=parsed.repeats,
        named=len(named),
        primary_named=len(predicted),
        invented=invented,
        primary_precision=precision,
        primary_recall=recall,
        primary_f1=f1,
        error=parsed.error,
    )


def score_text(text: str, input_labels: Sequence[str], target_primary: Sequence[str]) -> CaseScore:
    """Parse and score one generated text."""
    return score_case(parse_output(text), input_labels, target_primary)


def aggregate(scores: Sequence[CaseScore]) -> InterestMetrics:
    """Pool case scores into the reported metrics."""
    if not scores:
        raise ValueError("no outputs to evaluate")
    n = len(scores)
    named = sum(s.named for s in scores)
    invented = sum(len(s.invented) for s in scores)
    return InterestMetrics(
        n=n,
        format_compliance=sum(s.compliant for s in scores) / n,
        run_on_rate=sum(s.run_on for s in scores) / n,
        repeat_rate=sum(s.repeats for s in scores) / n,
        faithfulness=(named - invented) / named if named else None,
        named_interests=named,
        invented_interests=invented,
        primary_precision=sum(s.primary_precision for s in scores) / n,
        primary_recall=sum(s.primary_recall for s in scores) / n,
        primary_f1=sum(s.primary_f1 for s in scores) / n,
        mean_primary_named=sum(s.primary_named for s in scores) / n,
    )
