"""llmrec-eval: ground generated text to catalogue items and score NDCG@K / HR@K.

Works on any project's outputs: llmrec predictions.jsonl or BIGRec result JSON, against an item
catalogue and its sentence-transformers embeddings.
"""

__version__ = "0.1.0"

from llmrec_eval._ranking import ItemSpace, QuerySet, Ranker, Weighting
from llmrec_eval.compare import Comparison, Difference, compare, paired_bootstrap
from llmrec_eval.config import (
    ContentConfig,
    EvaluateConfig,
    FuseConfig,
    PopularityConfig,
    ScoresConfig,
)
from llmrec_eval.evaluate import (
    baseline_content,
    baseline_popularity,
    content_row,
    evaluate,
    popularity_row,
)
from llmrec_eval.folder import evaluate_folder, find_result_files
from llmrec_eval.fuse import fuse
from llmrec_eval.grounding import build_queries, ground, rank
from llmrec_eval.metrics import (
    bootstrap_ci,
    coverage,
    hit_rate_at_k,
    metrics_from_ranks,
    ndcg_at_k,
)
from llmrec_eval.readers import (
    Catalogue,
    InputError,
    ItemEmbeddings,
    Predictions,
    TextEmbeddings,
    read_any_predictions,
    read_bigrec_results,
    read_examples,
    read_item_embeddings,
    read_items,
    read_predictions,
    read_text_embeddings,
)
from llmrec_eval.report import load_metrics, markdown_table, plot_metrics
from llmrec_eval.result import RowResult, write_row
from llmrec_eval.run_report import RunReport, compare_runs, write_report
from llmrec_eval.score_baseline import baseline_scores, scores_row
from llmrec_eval.scores import Scores, read_scores, write_scores

__all__ = [
    "Catalogue",
    "Comparison",
    "ContentConfig",
    "Difference",
    "EvaluateConfig",
    "FuseConfig",
    "InputError",
    "ItemEmbeddings",
    "ItemSpace",
    "PopularityConfig",
    "Predictions",
    "QuerySet",
    "Ranker",
    "RowResult",
    "RunReport",
    "Scores",
    "ScoresConfig",
    "TextEmbeddings",
    "Weighting",
    "__version__",
    "baseline_content",
    "baseline_popularity",
    "baseline_scores",
    "bootstrap_ci",
    "build_queries",
    "compare",
    "compare_runs",
    "content_row",
    "coverage",
    "evaluate",
    "evaluate_folder",
    "find_result_files",
    "fuse",
    "ground",
    "hit_rate_at_k",
    "load_metrics",
    "markdown_table",
    "metrics_from_ranks",
    "ndcg_at_k",
    "paired_bootstrap",
    "plot_metrics",
    "popularity_row",
    "rank",
    "read_any_predictions",
    "read_bigrec_results",
    "read_examples",
    "read_item_embeddings",
    "read_items",
    "read_predictions",
    "read_scores",
    "read_text_embeddings",
    "scores_row",
    "write_report",
    "write_row",
    "write_scores",
]
