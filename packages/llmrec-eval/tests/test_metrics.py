"""NDCG@K and HR@K: hand-computed values, agreement with ranx, properties."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llmrec_eval import bootstrap_ci, hit_rate_at_k, metrics_from_ranks, ndcg_at_k


def test_hand_computed():
    ranks = [0, 1, 4, 9, 60]  # 0-based ranks of the target in five rankings
    assert hit_rate_at_k(ranks, 1) == pytest.approx(1 / 5)
    assert hit_rate_at_k(ranks, 5) == pytest.approx(3 / 5)
    assert hit_rate_at_k(ranks, 10) == pytest.approx(4 / 5)
    assert ndcg_at_k(ranks, 1) == pytest.approx(1 / 5)
    assert ndcg_at_k(ranks, 3) == pytest.approx((1 + 1 / math.log2(3)) / 5)
    assert ndcg_at_k(ranks, 10) == pytest.approx(
        (1 + 1 / math.log2(3) + 1 / math.log2(6) + 1 / math.log2(11)) / 5
    )
    assert ndcg_at_k(ranks, 50) == ndcg_at_k(ranks, 10)


def test_bigrec_formula():
    # BIGRec: S += 1 / ln(r + 2); NDCG = S / n / (1 / ln 2)
    ranks = np.array([0, 2, 7, 30])
    s = sum(1 / math.log(r + 2) for r in ranks if r < 10)
    assert ndcg_at_k(ranks, 10) == pytest.approx(s / len(ranks) / (1 / math.log(2)))


def test_metric_names_and_bad_input():
    m = metrics_from_ranks(np.array([0, 3]), [1, 5])
    assert list(m) == ["ndcg@1", "ndcg@5", "hr@1", "hr@5"]
    with pytest.raises(ValueError, match="K must be"):
        hit_rate_at_k([0], 0)
    with pytest.raises(ValueError, match="non-empty"):
        ndcg_at_k([], 5)
    with pytest.raises(ValueError, match=">= 0"):
        ndcg_at_k([-1], 5)


def test_agrees_with_ranx():
    with warnings.catch_warnings():
        # ranx 0.3 has invalid escape sequences in a docstring and numba type-safety warnings
        warnings.simplefilter("ignore")
        from ranx import Qrels, Run
        from ranx import evaluate as ranx_evaluate

    rng = np.random.default_rng(7)
    n_items, n_queries = 200, 60
    qrels, run, ranks = {}, {}, []
    for q in range(n_queries):
        scores = rng.permutation(n_items).astype(float)  # distinct scores: no ties
        target = int(rng.integers(n_items))
        qrels[f"q{q}"] = {f"d{target}": 1}
        run[f"q{q}"] = {f"d{i}": float(s) for i, s in enumerate(scores)}
        ranks.append(int(np.sum(scores > scores[target])))  # higher score = better in ranx
    ks = [1, 3, 5, 10, 20, 50]
    names = [f"ndcg@{k}" for k in ks] + [f"hit_rate@{k}" for k in ks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ranx_evaluate(Qrels(qrels), Run(run), names)
    ours = metrics_from_ranks(np.array(ranks), ks)
    for k in ks:
        assert ours[f"ndcg@{k}"] == pytest.approx(expected[f"ndcg@{k}"], abs=1e-9)
        assert ours[f"hr@{k}"] == pytest.approx(expected[f"hit_rate@{k}"], abs=1e-9)


ranks_strategy = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=200)


@given(ranks_strategy, st.integers(min_value=1, max_value=200))
@settings(max_examples=200, deadline=None)
def test_bounds(ranks, k):
    ndcg, hr = ndcg_at_k(ranks, k), hit_rate_at_k(ranks, k)
    assert 0.0 <= ndcg <= hr <= 1.0


@given(
    ranks_strategy, st.integers(min_value=1, max_value=100), st.integers(min_value=0, max_value=100)
)
@settings(max_examples=200, deadline=None)
def test_monotone_in_k(ranks, k, extra):
    assert ndcg_at_k(ranks, k) <= ndcg_at_k(ranks, k + extra) + 1e-12
    assert hit_rate_at_k(ranks, k) <= hit_rate_at_k(ranks, k + extra)


def test_bootstrap_is_seeded_and_brackets_the_mean():
    ranks = np.random.default_rng(0).integers(0, 100, size=500)
    a = bootstrap_ci(ranks, [10], n_resamples=300, seed=3)
    b = bootstrap_ci(ranks, [10], n_resamples=300, seed=3)
    assert a == b
    lo, hi = a["hr@10"]
    assert lo <= hit_rate_at_k(ranks, 10) <= hi
