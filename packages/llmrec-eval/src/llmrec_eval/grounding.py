"""Grounding: generated texts -> query vectors -> full-catalogue rankings.

Exact catalogue titles (see `TitleIndex`) are never embedded: they take their item's own vector and
that item is pinned at distance 0. Every other distinct cleaned string is embedded once, or looked up
in text embeddings made by the encoder of the item embeddings (`llmrec-train embed`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from llmrec_eval._embed import check_model, check_text_encoder, embed_texts
from llmrec_eval._ranking import CHUNK_ELEMS, ItemSpace, QuerySet, Ranker, Weighting
from llmrec_eval._titles import clean_title
from llmrec_eval.readers import Catalogue, ItemEmbeddings, TextEmbeddings


@dataclass
class Queries:
    """Query vectors for a set of predictions, and what grounding them cost."""

    queries: QuerySet
    n_texts: int  # texts considered (all of them, or only the first per example)
    n_exact: int  # of which exact catalogue titles
    n_embedded: int  # distinct strings embedded
    exact_first: np.ndarray  # bool [n]: the first text is a catalogue title
    embed_seconds: float


def build_queries(
    texts: list[list[str]],
    catalogue: Catalogue,
    embeddings: ItemEmbeddings,
    *,
    max_texts: int | None = None,
    model: str | None = None,
    device: str | None = None,
    progress: bool = False,
    text_embeddings: TextEmbeddings | None = None,
) -> Queries:
    """Turn each example's generated texts (best first) into query vectors.

    `max_texts`: use only the first N texts per example (1 for BIGRec's rule). `model`: must equal
    the model recorded with the item embeddings (None: use that one). `text_embeddings`: the texts'
    vectors, looked up instead of embedded (required for LLM hidden-state item embeddings).
    """
    check_text_encoder(embeddings, text_embeddings)
    if any(len(t) == 0 for t in texts):
        raise ValueError("every example needs at least one generated text")
    width = max(len(t) for t in texts) if max_texts is None else max_texts
    slots = np.full((len(texts), width), -1, dtype=np.int64)
    query_of: dict[str, int] = {}
    forced: list[int] = []
    to_embed: list[str] = []
    embed_slot: list[int] = []
    n_texts = n_exact = 0
    exact_first = np.zeros(len(texts), dtype=bool)
    for i, example in enumerate(texts):
        for j, text in enumerate(example[:width]):
            n_texts += 1
            # The lookup sees the text itself (a title may end in a quote); what is embedded, and
            # embedded once, is BIGRec's stripped text.
            item = catalogue.index.lookup(text)
            key = f"\x00item {item}" if item is not None else clean_title(text)
            q = query_of.get(key)
            if q is None:
                q = query_of[key] = len(forced)
                forced.append(-1 if item is None else item)
                if item is None:
                    to_embed.append(key)
                    embed_slot.append(q)
            if forced[q] >= 0:
                n_exact += 1
                exact_first[i] |= j == 0
            slots[i, j] = q
    forced_arr = np.asarray(forced, dtype=np.int64)
    vectors = np.empty((len(forced), embeddings.vectors.shape[1]), dtype=np.float32)
    exact_q = np.flatnonzero(forced_arr >= 0)
    vectors[exact_q] = embeddings.vectors[forced_arr[exact_q]]
    started = time.perf_counter()
    name = check_model(embeddings.model, model)
    if to_embed and text_embeddings is not None:
        vectors[np.asarray(embed_slot)] = text_embeddings.lookup(to_embed)
    elif to_embed:
        vectors[np.asarray(embed_slot)] = embed_texts(
            to_embed,
            name,
            normalize=embeddings.normalized,
            expected_dim=embeddings.vectors.shape[1],
            device=device,
            progress=progress,
        )
    return Queries(
        QuerySet(vectors, slots, forced_arr),
        n_texts,
        n_exact,
        len(to_embed),
        exact_first,
        time.perf_counter() - started,
    )


def rank(
    queries: QuerySet,
    targets: np.ndarray,
    space: ItemSpace,
    *,
    fusion: str = "first",
    depth: int = 50,
    top_n: int = 50,
    weighting: Weighting | None = None,
    gammas: list[float] | tuple[float, ...] = (0.0,),
    chunk_elems: int = CHUNK_ELEMS,
    exclude: list[np.ndarray] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Target ranks [len(gammas), n] (canonical groups) and top-`top_n` canonical ids for gammas[-1].

    `exclude[i]`: canonical ids never ranked for example i (e.g. its own history)."""
    ranker = Ranker(space, fusion=fusion, depth=depth, chunk_elems=chunk_elems)
    canon_targets = space.canonical[np.asarray(targets, dtype=np.int64)]
    return ranker.run(
        queries,
        canon_targets,
        weighting=weighting,
        gammas=gammas,
        top_n=top_n,
        exclude=exclude,
        progress=progress,
    )


def ground(
    texts: list[str] | list[list[str]],
    catalogue: Catalogue,
    embeddings: ItemEmbeddings,
    *,
    k: int = 10,
    distance: str = "l2",
    fusion: str = "first",
    model: str | None = None,
    text_embeddings: TextEmbeddings | None = None,
) -> np.ndarray:
    """The k catalogue items (canonical ids) each generated text, or list of texts, grounds to.

    >>> ground(['"Heat (1995)"'], catalogue, embeddings, k=3)   # doctest: +SKIP
    array([[ 5, 17, 42]])
    """
    nested = [[t] if isinstance(t, str) else list(t) for t in texts]
    q = build_queries(
        nested,
        catalogue,
        embeddings,
        max_texts=1 if fusion == "first" else None,
        model=model,
        text_embeddings=text_embeddings,
    )
    space = ItemSpace(embeddings.vectors, catalogue.canonical, distance)
    ranker = Ranker(space, fusion=fusion, depth=max(50, k))
    _, top = ranker.run(q.queries, np.zeros(len(nested), dtype=np.int64), top_n=k)
    assert top is not None  # top_n > 0: the top lists are computed
    return top
