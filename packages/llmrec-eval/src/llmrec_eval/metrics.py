"""NDCG@K, HR@K (BIGRec's definitions: one relevant item, 0-based rank r), bootstrap CIs, coverage."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from llmrec_eval._errors import InputError

DEFAULT_KS = (1, 3, 5, 10, 20, 50)


def _ranks(ranks: Sequence[int] | np.ndarray) -> np.ndarray:
    r = np.asarray(ranks)
    if r.ndim != 1 or r.size == 0:
        raise ValueError("ranks must be a non-empty 1-D sequence of 0-based ranks")
    if np.any(r < 0):
        raise ValueError("ranks are 0-based and must be >= 0")
    return r


def _check_k(k: int) -> None:
    if int(k) != k or k < 1:
        raise ValueError(f"K must be a positive integer, got {k!r}")


def hit_rate_at_k(ranks: Sequence[int] | np.ndarray, k: int) -> float:
    """HR@K = mean over examples of [r < K], r the target's 0-based rank."""
    _check_k(k)
    return float(np.mean(_ranks(ranks) < k))


def ndcg_at_k(ranks: Sequence[int] | np.ndarray, k: int) -> float:
    """NDCG@K = mean over examples of [r < K] / log2(r + 2) (one relevant item, so IDCG = 1)."""
    _check_k(k)
    r = _ranks(ranks)
    return float(np.mean(np.where(r < k, 1.0 / np.log2(r.astype(np.float64) + 2.0), 0.0)))


def per_example(ranks: np.ndarray, ks: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-example gains: {"ndcg@K": [n], "hr@K": [n]} (their means are the metrics)."""
    r = _ranks(ranks).astype(np.float64)
    gain = 1.0 / np.log2(r + 2.0)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        out[f"ndcg@{k}"] = np.where(r < k, gain, 0.0)
    for k in ks:
        out[f"hr@{k}"] = (r < k).astype(np.float64)
    return out


def metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """{"ndcg@1": ..., ..., "hr@50": ...} from 0-based target ranks."""
    for k in ks:
        _check_k(k)
    return {name: float(v.mean()) for name, v in per_example(ranks, ks).items()}


def bootstrap_ci(
    ranks: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, list[float]]:
    """Percentile bootstrap confidence intervals over examples, seeded: {"ndcg@10": [lo, hi], ...}."""
    values = per_example(ranks, ks)
    names = list(values)
    mat = np.stack([values[n] for n in names], axis=1)  # [n, metrics]
    rng = np.random.default_rng(seed)
    n = mat.shape[0]
    means = np.empty((n_resamples, len(names)))
    for i in range(
        n_resamples
    ):  # a resample's mean = (how often each example is drawn) @ values / n
        counts = np.bincount(rng.integers(0, n, size=n), minlength=n)
        means[i] = counts @ mat / n
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    return {name: [float(lo[i]), float(hi[i])] for i, name in enumerate(names)}


def coverage(top: np.ndarray, ks: Sequence[int], n_groups: int) -> dict[str, float]:
    """Share of the catalogue's duplicate groups that appear in at least one top-K list (-1 = empty)."""
    out = {}
    for k in ks:
        if k <= top.shape[1]:
            listed = np.unique(top[:, :k])
            out[f"@{k}"] = float(np.count_nonzero(listed >= 0) / n_groups)  # -1: an empty slot
    return out


def metric_function(metric: str) -> tuple[Callable[[np.ndarray, int], float], int]:
    """`"ndcg@10"` -> (ndcg_at_k, 10); `"hr@K"` likewise. The metrics a validation search maximises."""
    kind, _, k = metric.partition("@")
    fn = {"ndcg": ndcg_at_k, "hr": hit_rate_at_k}.get(kind)
    if fn is None or not k.isdigit() or int(k) < 1:
        raise InputError(f"--select-metric must look like ndcg@10 or hr@10, got {metric!r}")
    return fn, int(k)
