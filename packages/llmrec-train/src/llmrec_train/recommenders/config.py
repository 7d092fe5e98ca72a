"""The `llmrec-train recommend` settings: one dataclass, one CLI flag per field."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmrec_train.errors import UsageError

MODELS = ("sasrec", "transition")


def _help(text: str) -> dict[str, str]:
    return {"help": text}


def parse_floats(name: str, text: str) -> list[float]:
    """`"0,0.5,1"` -> [0.0, 0.5, 1.0], with an error naming the flag."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as e:
        raise UsageError(
            f"--{name.replace('_', '-')}: expected comma-separated numbers, got {text!r}"
        ) from e
    if not values:
        raise UsageError(f"--{name.replace('_', '-')}: expected at least one number, got {text!r}")
    return values


@dataclass
class RecommendConfig:
    """Train a collaborative / sequential recommender (SASRec or item-to-item transitions) on the
    train split, select its settings on valid, and write top-N scores for valid and test
    (scores.parquet + scores.meta.json, docs/contracts.md)."""

    model: str = field(metadata=_help(f"Which recommender: {', '.join(MODELS)}."))
    train: Path = field(metadata=_help("Training examples (contract train.jsonl)."))
    valid: Path = field(
        metadata=_help("Validation examples: model selection, and scores are written for them.")
    )
    test: Path = field(metadata=_help("Test examples: scores are written for them."))
    items: Path = field(metadata=_help("The catalogue (contract items.parquet)."))
    out: Path = field(
        metadata=_help(
            "Output folder: valid/ and test/ (scores.parquet + scores.meta.json each), manifest.json."
        )
    )
    top_n: int = field(default=200, metadata=_help("Scored items kept per example (best first)."))
    exclude_history: bool = field(
        default=True,
        metadata=_help(
            "Never list the example's own history items (the same candidate rule as the evaluation's --exclude-history)."
        ),
    )
    seed: int = field(
        default=0, metadata=_help("Random seed (initialisation, batch order, dropout).")
    )
    threads: int = field(
        default=2, metadata=_help("torch CPU threads (set deliberately: results depend on it).")
    )
    # SASRec (cornac's SASRecModel network, trained with full cross-entropy over all items)
    dim: int = field(default=64, metadata=_help("SASRec: embedding and hidden size."))
    blocks: int = field(default=2, metadata=_help("SASRec: self-attention blocks."))
    heads: int = field(default=1, metadata=_help("SASRec: attention heads."))
    dropout: float = field(default=0.2, metadata=_help("SASRec: dropout rate."))
    max_len: int = field(
        default=10,
        metadata=_help("SASRec: history length fed to the encoder (the examples hold up to 10)."),
    )
    learning_rate: float = field(default=1e-3, metadata=_help("SASRec: Adam learning rate."))
    batch_size: int = field(default=256, metadata=_help("SASRec: training examples per step."))
    max_epochs: int = field(default=30, metadata=_help("SASRec: at most this many epochs."))
    patience: int = field(
        default=3,
        metadata=_help(
            "SASRec: stop after this many epochs without a better valid NDCG@10; the best epoch is kept."
        ),
    )
    # item-to-item transitions
    decays: str = field(
        default="0,0.5,0.8,1",
        metadata=_help(
            "Transitions: recency decays tried on valid. History item k steps back (k=0: the last) weighs decay**k."
        ),
    )
    backoffs: str = field(
        default="0.0001,0.01,0.1",
        metadata=_help(
            "Transitions: popularity back-off weights tried on valid (score += backoff * popularity / max popularity)."
        ),
    )

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise UsageError(f"--model: {self.model!r} is not one of {', '.join(MODELS)}")
        for name in (
            "top_n",
            "threads",
            "dim",
            "blocks",
            "heads",
            "max_len",
            "batch_size",
            "max_epochs",
            "patience",
        ):
            if getattr(self, name) < 1:
                raise UsageError(
                    f"--{name.replace('_', '-')}: expected a positive integer, got {getattr(self, name)}"
                )
        if self.dim % self.heads:
            raise UsageError(f"--dim {self.dim} must be divisible by --heads {self.heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise UsageError(f"--dropout: expected 0 <= dropout < 1, got {self.dropout}")
        if any(d < 0 for d in parse_floats("decays", self.decays)):
            raise UsageError(f"--decays: expected non-negative numbers, got {self.decays!r}")
        if any(b < 0 for b in parse_floats("backoffs", self.backoffs)):
            raise UsageError(f"--backoffs: expected non-negative numbers, got {self.backoffs!r}")

    def model_settings(self) -> dict[str, Any]:
        """The settings that matter for this model (for scores.meta.json)."""
        d = asdict(self)
        keys = (
            [
                "dim",
                "blocks",
                "heads",
                "dropout",
                "max_len",
                "learning_rate",
                "batch_size",
                "max_epochs",
                "patience",
                "threads",
            ]
            if self.model == "sasrec"
            else ["decays", "backoffs"]
        )
        return {k: d[k] for k in keys}
