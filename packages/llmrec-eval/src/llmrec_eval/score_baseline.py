"""`baseline scores`: a ranking model's score file as a row of the results, ranked like every row."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from llmrec_eval._ranking import ItemSpace, Ranker
from llmrec_eval.config import ScoresConfig, parse_ks
from llmrec_eval.evaluate import _histories_canonical
from llmrec_eval.readers import read_examples, read_items, subset_examples
from llmrec_eval.result import RowResult, row_result, write_row
from llmrec_eval.scores import read_scores


def baseline_scores(config: ScoresConfig) -> dict[str, Any]:
    """Rank every example's items by the score file: listed items by score (a duplicate group by its
    best member, ties by canonical id), unlisted items after them; history excluded on request.
    The row is written to `config.out`; returns its metrics.json."""
    return write_row(scores_row(config))


def scores_row(config: ScoresConfig) -> RowResult:
    """`baseline_scores`' row, computed, not written."""
    started = time.time()
    ks = parse_ks(config.ks)
    catalogue = read_items(config.items)
    everything = read_examples(config.examples, catalogue.n_items)
    scores = read_scores(
        config.scores,
        everything.example_ids,
        catalogue.n_items,
        examples_path=config.examples,
        items_sha256=catalogue.sha256,
    )
    examples = subset_examples(everything, config.subset)
    if len(examples) != len(everything):
        scores = scores.select(examples.example_ids)
    space = ItemSpace(np.zeros((catalogue.n_items, 1), dtype=np.float32), catalogue.canonical)
    ranks, top = Ranker(space, chunk_elems=config.chunk_elems).run_rows(
        scores.ranking_rows(catalogue.n_items),
        space.canonical[examples.targets],
        top_n=min(max(config.top_n, max(ks)), catalogue.n_groups),
        exclude=_histories_canonical(examples, catalogue) if config.exclude_history else None,
    )
    assert top is not None  # top_n > 0: the top lists are computed
    meta = scores.meta or {}
    extra = {
        "source": {
            "scores": str(scores.path),
            "examples": str(config.examples),
            "items": str(config.items),
            "scores_meta": scores.meta,
        },
        "baseline": {
            "name": "scores",
            "model": meta.get("model"),
            "exclude_history": config.exclude_history,
            "listed_per_example": {
                "min": int(np.diff(scores.offsets).min()),
                "max": int(np.diff(scores.offsets).max()),
            },
            "unlisted": "ranked after every listed item, by canonical item id",
        },
    }
    meta_path = scores.path.with_name("scores.meta.json")
    return row_result(
        config,
        command="baseline scores",
        config=config,
        started=started,
        inputs=[scores.path, meta_path, config.examples, config.items, config.subset],
        example_ids=examples.example_ids,
        targets=examples.targets,
        ranks=ranks,
        top=top,
        catalogue=catalogue,
        extra=extra,
    )
