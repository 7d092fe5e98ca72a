"""Collaborative / sequential recommenders (SASRec, item-to-item transitions) that write per-example
item scores for llmrec-eval (docs/contracts.md, "scores.parquet + scores.meta.json")."""

from llmrec_train.recommenders.config import RecommendConfig
from llmrec_train.recommenders.run import recommend
from llmrec_train.recommenders.scores import read_scores

__all__ = ["RecommendConfig", "read_scores", "recommend"]
