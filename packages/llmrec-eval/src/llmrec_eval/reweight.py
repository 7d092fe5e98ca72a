"""Item weights for BIGRec's re-weighting: popularity, all-time or recent (a score file's: scores.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from llmrec_eval.metrics import metric_function
from llmrec_eval.readers import Examples, InputError

if TYPE_CHECKING:
    from llmrec_eval.config import GammaOptions

# BIGRec sweeps 0.00..0.99 by 0.01, then 1..99 (adjust_pda.py); "coarse" is 32 points over the same range.
GAMMA_GRIDS: dict[str, list[float]] = {
    "coarse": [round(0.05 * i, 2) for i in range(20)]
    + [1, 1.5, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 99],
    "bigrec": [round(0.01 * i, 2) for i in range(100)] + [float(i) for i in range(1, 100)],
}


def choose_gamma(
    options: GammaOptions,
    rank_valid: Callable[[list[float]], np.ndarray],
    valid: dict[str, Any],
) -> tuple[float, dict[str, Any]]:
    """Gamma, and what metrics.json's `reweighting` records about it: `options.gamma` when fixed;
    else the point of `options.gamma_grid` with the best validation `options.select_metric` (ties:
    the smallest gamma), `rank_valid(gammas)` giving the validation ranks [len(gammas), n].
    `valid` names the validation input in the record (e.g. {"valid": "valid.jsonl"})."""
    if options.gamma is not None:
        return float(options.gamma), {"gamma": float(options.gamma)}
    metric = options.select_metric
    fn, k = metric_function(metric)
    grid = GAMMA_GRIDS[options.gamma_grid]
    ranks = rank_valid(grid)
    sweep = [{"gamma": g, metric: fn(row, k)} for g, row in zip(grid, ranks, strict=True)]
    best = max(range(len(grid)), key=lambda i: (sweep[i][metric], -grid[i]))
    record = {
        "grid": options.gamma_grid,
        "select_metric": metric,
        **valid,
        "valid_metric": sweep[best][metric],
        "sweep": sweep,
        "gamma": grid[best],
    }
    return grid[best], record


def minmax(x: np.ndarray) -> np.ndarray:
    """Min-max normalise to [0, 1] (float32); a constant vector becomes zeros."""
    x = np.asarray(x, dtype=np.float64)
    span = x.max() - x.min()
    return ((x - x.min()) / span if span > 0 else np.zeros_like(x)).astype(np.float32)


def recent_window(
    examples: Examples, *, fraction: float | None = 0.1, n_examples: int | None = None
) -> np.ndarray:
    """Row indices of the most recent training examples: the last `n_examples` (or `fraction` of
    them) by target timestamp; examples without a timestamp keep their file order (ties too)."""
    n = len(examples)
    size = n_examples if n_examples is not None else round((fraction or 0.0) * n)
    if not 1 <= size <= n:
        raise InputError(f"the recent window must hold 1..{n} training examples, got {size}")
    ts = examples.timestamps
    order = (
        np.arange(n)
        if np.isnan(ts).all()
        else np.lexsort((np.arange(n), np.nan_to_num(ts, nan=-np.inf)))
    )
    return order[n - size :]


def item_counts(examples: Examples, n_items: int, rows: np.ndarray | None = None) -> np.ndarray:
    """How often each item is the target of the given training examples (each example is one
    interaction; histories are not counted, they repeat across sliding windows)."""
    targets = examples.targets if rows is None else examples.targets[rows]
    return np.bincount(targets, minlength=n_items).astype(np.int64)
