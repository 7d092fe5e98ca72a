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


def _ndcg_gain(ranks: np.ndarray, k: int) -> np.ndarray:
    """[r < K] / log2(r + 2) per example (one relevant item, so IDCG = 1)."""
    return np.where(ranks < k, 1.0 / np.log2(ranks.astype(np.float64) + 2.0), 0.0)


def _hit_gain(ranks: np.ndarray, k: int) -> np.ndarray:
    """[r < K] per example."""
    return (ranks < k).astype(np.float64)


# The metrics, by the name before "@K": each is the mean over examples of a per-example gain of the
# 0-based target rank r. Means, bootstrap intervals, paired comparisons and the names the commands
# accept all come from here.
GAINS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {"ndcg": _ndcg_gain, "hr": _hit_gain}


def parse_metric(metric: str, flag: str, *, none_too: bool = False) -> tuple[str, int]:
    """`"ndcg@10"` -> ("ndcg", 10); anything else is an InputError naming `flag` (the option the
    user wrote it in), the value and the metrics accepted (`none_too`: the flag also takes 'none')."""
    kind, at, k = metric.partition("@")
    if kind not in GAINS or not at or not k.isdigit() or int(k) < 1:
        accepted = ", ".join(f"{name}@K" for name in GAINS) + (", none" if none_too else "")
        raise InputError(
            f"{flag} {metric!r}: not a metric; expected one of {accepted}, K a positive "
            "integer (e.g. ndcg@10)"
        )
    return kind, int(k)


def hit_rate_at_k(ranks: Sequence[int] | np.ndarray, k: int) -> float:
    """HR@K = mean over examples of [r < K], r the target's 0-based rank."""
    _check_k(k)
    return float(np.mean(_hit_gain(_ranks(ranks), k)))


def ndcg_at_k(ranks: Sequence[int] | np.ndarray, k: int) -> float:
    """NDCG@K = mean over examples of [r < K] / log2(r + 2) (one relevant item, so IDCG = 1)."""
    _check_k(k)
    return float(np.mean(_ndcg_gain(_ranks(ranks), k)))


def per_example(ranks: np.ndarray, ks: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-example gains: {"ndcg@K": [n], ..., "hr@K": [n]} (their means are the metrics)."""
    r = _ranks(ranks)
    return {f"{kind}@{k}": gain(r, k) for kind, gain in GAINS.items() for k in ks}


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


def metric_function(
    metric: str, flag: str = "--select-metric"
) -> tuple[Callable[[np.ndarray, int], float], int]:
    """`"ndcg@10"` -> (NDCG@K of ranks, 10): the metric a validation search maximises."""
    kind, k = parse_metric(metric, flag)
    gain = GAINS[kind]

    def mean_gain(ranks: np.ndarray, k: int) -> float:
        return float(np.mean(gain(_ranks(ranks), k)))

    return mean_gain, k
