"""Item-to-item transitions: what followed each item in the training examples, with recency.

Fitting counts, for every training example, the pair (last history item -> target): one count per
step of a user's sequence, since the examples are the sequence's consecutive windows. Row-normalised,
this is P(next = j | current = i). An example is scored from its history h (h[-1] the last item):

    score(j) = sum_k decay**k * P(j | h[-1-k]) / sum_k decay**k  +  backoff * pop(j) / max(pop)

k = 0 .. len(h)-1 (decay 0: only the last item; decay 1: every history item alike), and pop(j) the
number of training examples whose target is j: the popularity back-off orders what no transition
reaches, and a larger back-off blends popularity in. decay and backoff are chosen on valid NDCG@10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from llmrec_train.recommenders.data import Examples


@dataclass
class TransitionModel:
    transitions: sp.csr_matrix  # [n_items, n_items], row-normalised counts
    popularity: np.ndarray  # [n_items], target counts / max
    decay: float = 0.0
    backoff: float = 1e-4

    @classmethod
    def fit(cls, train: Examples, n_items: int) -> TransitionModel:
        has_history = np.array([len(h) > 0 for h in train.histories])
        last = np.array([h[-1] for h in train.histories if h], dtype=np.int64)
        targets = train.targets[has_history]
        counts = sp.csr_matrix(
            (np.ones(len(last)), (last, targets)), shape=(n_items, n_items), dtype=np.float64
        )
        counts.sum_duplicates()
        row_sums = np.asarray(counts.sum(axis=1)).ravel()
        inverse = np.divide(1.0, row_sums, out=np.zeros_like(row_sums), where=row_sums > 0)
        pop = np.bincount(train.targets, minlength=n_items).astype(np.float64)
        return cls(
            transitions=sp.csr_matrix(sp.diags(inverse) @ counts),
            popularity=pop / max(pop.max(), 1.0),
        )

    def history_weights(self, histories: list[list[int]]) -> sp.csr_matrix:
        """[n_examples, n_items]: decay**k at the item k steps back, normalised per row."""
        rows, cols, vals = [], [], []
        for r, hist in enumerate(histories):
            w = np.array([self.decay**k for k in range(len(hist))][::-1])  # oldest first
            if w.sum() > 0:
                rows += [r] * len(hist)
                cols += hist
                vals += list(w / w.sum())
        n_items = self.transitions.shape[0]
        # Repeated history items add up (csr sums duplicates).
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(histories), n_items))

    def score(self, histories: list[list[int]]) -> np.ndarray:
        """[n_examples, n_items] float64 scores, higher = better."""
        weights = self.history_weights(histories)
        out = (weights @ self.transitions).toarray()
        out += self.backoff * self.popularity[None, :]
        return out
