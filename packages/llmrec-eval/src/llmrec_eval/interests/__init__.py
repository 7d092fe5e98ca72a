"""Interest summaries from watched-video topic labels (the product's second task).

Public API: `parse_output` (read a generated profile), `score_text` / `aggregate` (the metrics),
`compare_runs` (LoRA OFF vs ON report). CLI: `llmrec-eval interests evaluate` and `... report`.
"""

from llmrec_eval.interests.io import InterestExample, read_examples, read_predictions
from llmrec_eval.interests.metrics import CaseScore, InterestMetrics, aggregate, score_text
from llmrec_eval.interests.parse import ParsedOutput, normalize, parse_output
from llmrec_eval.interests.report import compare_runs, evaluate_predictions, render_report

__all__ = [
    "CaseScore",
    "InterestExample",
    "InterestMetrics",
    "ParsedOutput",
    "aggregate",
    "compare_runs",
    "evaluate_predictions",
    "normalize",
    "parse_output",
    "read_examples",
    "read_predictions",
    "render_report",
    "score_text",
]
