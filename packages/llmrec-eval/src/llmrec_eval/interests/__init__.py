"""Interest summaries from watched-video topic labels (the product's second task).

Public API: `parse_output` (read a generated profile), `score_text` / `aggregate` (the metrics),
`write_report` (several models on several example sets) and `compare_runs` (LoRA OFF vs ON on one
set), `recurrence_profile` / `baseline_rows` (the no-model profiles). CLI: `llmrec-eval interests evaluate`, `... report`
and `... baseline`.
"""

from llmrec_eval.interests.baseline import baseline_rows, recurrence_profile
from llmrec_eval.interests.io import InterestExample, read_examples, read_predictions
from llmrec_eval.interests.metrics import CaseScore, InterestMetrics, aggregate, score_text
from llmrec_eval.interests.parse import ParsedOutput, normalize, parse_output
from llmrec_eval.interests.report import (
    ExampleSet,
    Run,
    compare_runs,
    evaluate_predictions,
    write_report,
)

__all__ = [
    "CaseScore",
    "ExampleSet",
    "InterestExample",
    "InterestMetrics",
    "ParsedOutput",
    "Run",
    "aggregate",
    "baseline_rows",
    "compare_runs",
    "evaluate_predictions",
    "normalize",
    "parse_output",
    "read_examples",
    "read_predictions",
    "recurrence_profile",
    "score_text",
    "write_report",
]
