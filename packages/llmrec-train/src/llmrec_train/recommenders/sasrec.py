"""SASRec (Kang & McAuley, ICDM 2018) trained with cross-entropy over the whole catalogue
(Klenitskiy & Vasilev, RecSys 2023).

The network is cornac's `SASRecModel` (cornac 3.0, PyTorch). Its own `SASRec.fit` is not used: its
"ce" loss is a softmax over the batch's targets plus 2,048 popularity-sampled negatives, not over
all items, it re-initialises the network on every call (no early stopping on our metric), and it
scores one history at a time. Here each training example (history -> target) is one training row,
the loss is `cross_entropy(scores of all items, target)`, and the epoch with the best valid
NDCG@10 is kept (early stopping after `patience` epochs without improvement).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from llmrec_train.recommenders.config import RecommendConfig
from llmrec_train.recommenders.data import Examples, padded_histories
from llmrec_train.recommenders.scores import ndcg_hr_at

if TYPE_CHECKING:
    from cornac.models.sasrec.sasrec import SASRecModel

log = logging.getLogger(__name__)


@dataclass
class SASRec:
    network: SASRecModel
    n_items: int
    max_len: int
    epochs: list[dict[str, Any]] = field(default_factory=list)  # per-epoch loss and valid metrics
    best_epoch: int = 0

    @torch.no_grad()
    def score(self, histories: list[list[int]]) -> np.ndarray:
        """[n_examples, n_items] float32 scores (dot products), higher = better."""
        self.network.eval()
        seqs = torch.from_numpy(padded_histories(histories, self.max_len, pad=self.n_items))
        hidden = self.network._encode(seqs)
        return (hidden @ self.network.item_emb.weight[: self.n_items].T).numpy()


def build_network(config: RecommendConfig, n_items: int) -> SASRecModel:
    from cornac.models.sasrec.sasrec import SASRecModel

    return SASRecModel(
        item_num=n_items,
        embedding_dim=config.dim,
        maxlen=config.max_len,
        n_layers=config.blocks,
        n_heads=config.heads,
        use_pos_emb=True,
        use_biases=False,  # canonical SASRec: scores are dot products only
        dropout=config.dropout,
        pad_idx=n_items,
        device="cpu",
    )


def train_sasrec(
    config: RecommendConfig,
    train: Examples,
    valid: Examples,
    n_items: int,
    on_epoch: Callable[[dict[str, Any]], object] | None = None,
) -> SASRec:
    torch.manual_seed(config.seed)
    network = build_network(config, n_items)
    model = SASRec(network=network, n_items=n_items, max_len=config.max_len)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate, betas=(0.9, 0.98))
    seqs = torch.from_numpy(padded_histories(train.histories, config.max_len, pad=n_items))
    targets = torch.from_numpy(train.targets)
    order_rng = torch.Generator().manual_seed(config.seed)
    best, best_state, stale = -1.0, copy.deepcopy(network.state_dict()), 0
    for epoch in range(1, config.max_epochs + 1):
        start = time.perf_counter()
        network.train()
        order = torch.randperm(len(targets), generator=order_rng)
        total = 0.0
        for i in range(0, len(order), config.batch_size):
            batch = order[i : i + config.batch_size]
            hidden = network._encode(seqs[batch])
            logits = hidden @ network.item_emb.weight[:n_items].T
            loss = F.cross_entropy(logits, targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        metrics = ndcg_hr_at(valid, model.score, config.exclude_history)
        record = {
            "epoch": epoch,
            "train_loss": round(total / len(order), 5),
            **{f"valid_{k}": round(v, 5) for k, v in metrics.items()},
            "seconds": round(time.perf_counter() - start, 2),
        }
        model.epochs.append(record)
        log.info("sasrec %s", record)
        if on_epoch is not None:
            on_epoch(record)
        if metrics["ndcg@10"] > best:
            best, best_state, stale, model.best_epoch = (
                metrics["ndcg@10"],
                copy.deepcopy(network.state_dict()),
                0,
                epoch,
            )
        else:
            stale += 1
            if stale >= config.patience:
                break
    network.load_state_dict(best_state)
    network.eval()
    return model
