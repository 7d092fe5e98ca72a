"""The benchmarks' default inputs: the repository's golden fixtures (fixtures/movie, written by the
real `llmrec-data prepare --dataset movie-small` on a slice of ml-latest-small; 248 examples).

For more examples, prepare the whole set and pass its files (`--examples`, `--items`):
`llmrec-data prepare --dataset movie-small --out DIR --train-sample N`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "movie"


def load_examples(n: int, examples: Path | None = None) -> tuple[list[Any], Path]:
    """Up to `n` contract examples (`examples`, else the fixture's train, valid and test files in that
    order) and the items.parquet they refer to (the fixture's; pass your own with your examples)."""
    from llmrec_train.data import read_examples

    files = (
        [examples]
        if examples is not None
        else [FIXTURE / f"{s}.jsonl" for s in ("train", "valid", "test")]
    )
    rows = [ex for path in files for ex in read_examples(path)][:n]
    if len(rows) < n:
        print(f"note: {len(rows)} examples available, fewer than the {n} asked for")
    return rows, FIXTURE / "items.parquet"
