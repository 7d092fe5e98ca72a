"""The commands' work: evaluate predictions, run baselines, write every output."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from llmrec_eval._embed import MINILM_ID, check_text_encoder, embed_texts
from llmrec_eval._io import atomic_write, write_json
from llmrec_eval._ranking import ItemSpace, QuerySet, Ranker, Weighting
from llmrec_eval.config import (
    CACHE_ENV,
    ContentConfig,
    EvaluateConfig,
    PopularityConfig,
    apply_preset,
    parse_ks,
)
from llmrec_eval.grounding import Queries, build_queries
from llmrec_eval.metrics import metric_function, metrics_from_ranks
from llmrec_eval.readers import (
    SENTENCE_TRANSFORMERS,
    Catalogue,
    Examples,
    InputError,
    ItemEmbeddings,
    Predictions,
    TextEmbeddings,
    read_any_predictions,
    read_example_ids,
    read_examples,
    read_item_embeddings,
    read_items,
    read_text_embeddings,
    subset_examples,
)
from llmrec_eval.result import RowResult, row_result, write_row
from llmrec_eval.reweight import choose_gamma, item_counts, minmax, recent_window
from llmrec_eval.scores import read_scores, write_scores


def _cache_folder(config: EvaluateConfig) -> Path:
    if config.cache_dir is not None:
        return Path(config.cache_dir)
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "llmrec-eval"


def _embeddings_or_embed(
    config: EvaluateConfig, catalogue: Catalogue
) -> tuple[ItemEmbeddings, str]:
    """The item embeddings: --embeddings, else the cache, else embedded now (and cached).

    Returns them and where they came from ("file", "cache <path>" or "computed")."""
    if config.embeddings is not None:
        return read_item_embeddings(config.embeddings, catalogue), "file"
    name = config.model or MINILM_ID
    meta = {
        "model": name,
        "dim": 0,
        "normalized": True,
        "n_items": catalogue.n_items,
        "text_field": "title",
        "items_sha256": catalogue.sha256,
    }
    cached = None
    if config.cache and catalogue.sha256:
        key = hashlib.sha256(
            json.dumps([name, catalogue.sha256, "title", True]).encode()
        ).hexdigest()[:24]
        cached = _cache_folder(config) / "item-embeddings" / f"{key}.npy"
        if cached.is_file() and cached.with_suffix(".json").is_file():
            try:
                emb = read_item_embeddings(cached, catalogue)
            except InputError:  # a damaged cache entry is recomputed, not reported
                pass
            else:
                if emb.model == name:
                    return emb, f"cache {cached}"
    vectors = embed_texts(
        catalogue.titles, name, normalize=True, device=config.device, progress=True
    )
    meta["dim"] = int(vectors.shape[1])
    source = "computed"
    if cached is not None:
        try:
            atomic_write(cached, lambda tmp: _save_npy(tmp, vectors))
            write_json(cached.with_suffix(".json"), meta)
            source = f"computed, cached in {cached}"
        except OSError as exc:
            print(
                f"note: embedding cache not written ({cached.parent}: {exc.strerror})",
                file=sys.stderr,
            )
    return ItemEmbeddings(vectors, name, True, meta, None), source


def _text_embeddings(config: EvaluateConfig, embeddings: ItemEmbeddings) -> TextEmbeddings | None:
    """--text-embeddings, read and checked against the item embeddings' encoder (before any work)."""
    texts = None if config.text_embeddings is None else read_text_embeddings(config.text_embeddings)
    check_text_encoder(embeddings, texts)
    return texts


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would append ".npy" to a path
        np.save(f, array)


def _recent_counts(
    train: Path | None, n_items: int, fraction: float, n_examples: int | None
) -> tuple[np.ndarray, dict[str, Any]]:
    if train is None:
        raise InputError("recent popularity needs the training examples: pass --train train.jsonl")
    examples = read_examples(train, n_items)
    rows = recent_window(examples, fraction=None if n_examples else fraction, n_examples=n_examples)
    info = {"train": str(train), "window_examples": int(rows.size), "train_examples": len(examples)}
    ts = examples.timestamps[rows]
    if not np.isnan(ts).all():
        info["window_start_timestamp"] = int(np.nanmin(ts))
    return item_counts(examples, n_items, rows), info


def _history_exclusion(
    examples_path: Path | None, example_ids: list[str], catalogue: Catalogue, flag: str
) -> list[np.ndarray]:
    """Each prediction's history (canonical ids), looked up by example_id in the examples file."""
    if examples_path is None:
        raise InputError(f"--exclude-history needs {flag} (the examples file with the histories)")
    examples = read_examples(examples_path, catalogue.n_items)
    by_id = dict(zip(examples.example_ids, _histories_canonical(examples, catalogue), strict=True))
    missing = [i for i in example_ids if i not in by_id]
    if missing:
        raise InputError(
            f"{examples_path}: no example_id {missing[0]!r} (and {len(missing) - 1} more) "
            f"of the predictions: {flag} must be the file the predictions answer"
        )
    return [by_id[i] for i in example_ids]


def _rank_kept(
    q: Queries | None,
    preds: Predictions,
    keep: np.ndarray,
    n_groups: int,
    ranker: Ranker,
    *,
    top_n: int,
    weighting: Weighting | None,
    gammas: list[float],
    exclude: list[np.ndarray] | None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """`ranker.run` over the examples with texts (`keep`); empty predictions get rank n_groups (a
    miss) and an empty top list (-1)."""
    ranks = np.full((len(gammas), keep.size), n_groups, dtype=np.int64)
    top = np.full((keep.size, top_n), -1, dtype=np.int64) if top_n else None
    if q is None:
        return ranks, top
    if exclude is not None:
        exclude = [e for e, k in zip(exclude, keep, strict=True) if k]
    kept_ranks, kept_top = ranker.run(
        q.queries,
        ranker.space.canonical[preds.targets[keep]],
        weighting=weighting,
        gammas=gammas,
        top_n=top_n,
        exclude=exclude,
        progress=progress,
    )
    ranks[:, keep] = kept_ranks
    if top is not None and kept_top is not None:
        top[keep] = kept_top
    return ranks, top


def _queries(
    preds: Predictions,
    keep: np.ndarray,
    catalogue: Catalogue,
    embeddings: ItemEmbeddings,
    config: EvaluateConfig,
    progress: bool,
    text_embeddings: TextEmbeddings | None,
) -> Queries | None:
    if not keep.any():
        return None
    return build_queries(
        [t for t, k in zip(preds.texts, keep, strict=True) if k],
        catalogue,
        embeddings,
        max_texts=1 if config.fusion == "first" else None,
        model=config.model if config.embeddings else None,
        device=config.device,
        progress=progress,
        text_embeddings=text_embeddings,
    )


@dataclass
class _Checked:
    """One predictions file read and checked against the catalogue, ready to ground and rank."""

    config: EvaluateConfig
    preds: Predictions
    keep: np.ndarray  # bool [n]: the example has a generated text
    exclude: list[np.ndarray] | None
    weighting: Weighting | None
    reweight_info: dict[str, Any] | None
    # the validation predictions, their weighting and exclusions: to sweep gamma and/or to export
    valid_inputs: tuple[Predictions, Weighting | None, list[np.ndarray] | None] | None


def _check_settings(config: EvaluateConfig) -> EvaluateConfig:
    """The config with its preset applied, after the checks on flags alone."""
    config = apply_preset(config)
    parse_ks(config.ks)
    metric_function(config.select_metric)
    if config.text_embeddings is not None and config.embeddings is None:
        raise InputError(
            "--text-embeddings needs --embeddings: the item embeddings of the same "
            "`llmrec-train embed` settings"
        )
    if config.reweight != "none" and config.gamma is None and config.valid_predictions is None:
        raise InputError(
            "re-weighting needs --valid-predictions to sweep gamma on (or a fixed --gamma)"
        )
    _check_export(config)
    return config


def _check_export(config: Any) -> None:
    if config.write_scores is not None:
        if config.scores_top_n < 1:
            raise InputError(f"--scores-top-n must be at least 1, got {config.scores_top_n}")
        if Path(config.write_scores).resolve() == Path(config.out).resolve():
            raise InputError(
                f"--write-scores {config.write_scores}: must differ from --out (it gets test/ and "
                "valid/ subfolders of score files)"
            )


def _note_test_only(folder: Path, flag: str) -> None:
    print(
        f"note: --write-scores without {flag} writes only {Path(folder) / 'test'}/ "
        "(fuse reads valid/ too)",
        file=sys.stderr,
    )


def _no_empty_for_export(preds: Predictions, keep: np.ndarray, flag: str) -> None:
    """--write-scores needs a ranked item for every example: fail before any model is loaded."""
    if not keep.all():
        row = int(np.argmin(keep))
        raise InputError(
            f"{preds.path}: example_id {preds.example_ids[row]!r} ({flag}) has no generated "
            "text, so --write-scores has nothing to list for it (the scores contract needs at "
            "least one item per example); drop --write-scores or the empty predictions"
        )


def evaluate(config: EvaluateConfig) -> dict[str, Any]:
    """Ground predictions (llmrec or BIGRec format) against the catalogue and write metrics.

    Every check that needs no model runs first (inputs, flags, example ids, the encoding trap), so
    bad input fails in seconds, before any embedding or ranking."""
    started = time.time()
    config = _check_settings(config)
    catalogue = read_items(config.items)
    checked = _check_predictions(config, catalogue)
    embeddings, embeddings_source = _embeddings_or_embed(config, catalogue)
    texts = _text_embeddings(config, embeddings)
    return write_row(
        _grade(checked, catalogue, embeddings, embeddings_source, started, text_embeddings=texts)
    )


def _check_predictions(config: EvaluateConfig, catalogue: Catalogue) -> _Checked:
    """Read `config.predictions` and everything it is scored with; no model is loaded here."""
    preds = read_any_predictions(
        config.predictions, catalogue, config.format, empty=config.empty_prediction
    )
    keep = np.asarray([len(t) > 0 for t in preds.texts], dtype=bool)
    if config.write_scores is not None:
        _no_empty_for_export(preds, keep, "--predictions")
    if preds.format == "bigrec" and config.fusion != "first":
        print(
            f"note: --fusion {config.fusion} fuses every generated text; BIGRec grounds only "
            "the first (--preset bigrec reproduces its protocol)",
            file=sys.stderr,
        )
    exclude = (
        _history_exclusion(config.examples, preds.example_ids, catalogue, "--examples")
        if config.exclude_history
        else None
    )
    weighting, valid_weighting, reweight_info = None, None, None
    valid_inputs = None
    if config.reweight != "none":
        weighting, valid_weighting, reweight_info = _weightings(
            config, catalogue, preds.example_ids
        )
    sweep = config.reweight != "none" and config.gamma is None
    export_valid = config.write_scores is not None and config.valid_predictions is not None
    if sweep or export_valid:
        assert config.valid_predictions is not None  # checked in _check_settings
        vpreds = read_any_predictions(
            config.valid_predictions, catalogue, config.format, empty=config.empty_prediction
        )
        if export_valid:
            _no_empty_for_export(
                vpreds, np.asarray([len(t) > 0 for t in vpreds.texts]), "--valid-predictions"
            )
        if config.reweight == "scores":
            valid_weighting = _score_weighting(
                config.valid_scores,
                vpreds.example_ids,
                catalogue,
                "--valid-scores",
                config.valid_examples,
            )
        valid_exclude = (
            _history_exclusion(
                config.valid_examples, vpreds.example_ids, catalogue, "--valid-examples"
            )
            if config.exclude_history
            else None
        )
        valid_inputs = (vpreds, valid_weighting, valid_exclude)
    return _Checked(config, preds, keep, exclude, weighting, reweight_info, valid_inputs)


def _grade(
    checked: _Checked,
    catalogue: Catalogue,
    embeddings: ItemEmbeddings,
    embeddings_source: str,
    started: float,
    *,
    text_embeddings: TextEmbeddings | None = None,
) -> RowResult:
    """Ground and rank one checked predictions file (and write its --write-scores files)."""
    config, preds, keep, exclude = checked.config, checked.preds, checked.keep, checked.exclude
    weighting, reweight_info, valid_inputs = (
        checked.weighting,
        checked.reweight_info,
        checked.valid_inputs,
    )
    ks = parse_ks(config.ks)
    top_n = min(max(config.top_n, max(ks)), catalogue.n_groups)
    export_n = min(config.scores_top_n, catalogue.n_groups) if config.write_scores else 0
    depth = max(config.fusion_depth, max(ks))
    gammas = [0.0]
    # The expensive part: embed the generated texts, rank.
    q = _queries(preds, keep, catalogue, embeddings, config, True, text_embeddings)
    space = ItemSpace(embeddings.vectors, catalogue.canonical, config.distance)
    ranker = Ranker(
        space,
        fusion=config.fusion,
        depth=depth,
        rrf_k=config.rrf_k,
        chunk_elems=config.chunk_elems,
    )
    vq = None
    if valid_inputs is not None:
        vpreds, valid_weighting, valid_exclude = valid_inputs
        vkeep = np.asarray([len(t) > 0 for t in vpreds.texts], dtype=bool)
        vq = _queries(vpreds, vkeep, catalogue, embeddings, config, False, text_embeddings)
    if reweight_info is not None:

        def rank_valid(grid: list[float]) -> np.ndarray:
            assert valid_inputs is not None  # checked in _check_settings
            vranks, _ = _rank_kept(
                vq,
                vpreds,
                vkeep,
                catalogue.n_groups,
                ranker,
                top_n=0,
                weighting=valid_weighting,
                gammas=grid,
                exclude=valid_exclude,
            )
            return vranks

        valid = {"valid_predictions": str(config.valid_predictions)}
        gamma, chosen = choose_gamma(config, rank_valid, valid)
        reweight_info.update(chosen)
        gammas = [0.0, gamma]

    with tqdm(total=int(keep.sum()), desc="ranking", unit="ex", disable=None) as bar:
        ranks, top = _rank_kept(
            q,
            preds,
            keep,
            catalogue.n_groups,
            ranker,
            top_n=max(top_n, export_n),
            weighting=weighting,
            gammas=gammas,
            exclude=exclude,
            progress=bar.update,
        )
    assert top is not None
    if config.write_scores is not None:
        export = {
            "row": "evaluate",
            "fusion": config.fusion,
            "distance": config.distance,
            "reweighting": None if reweight_info is None else reweight_info["source"],
            "gamma": gammas[-1] if reweight_info is not None else None,
            "predictions": str(config.predictions),
        }
        folder = Path(config.write_scores)
        model = config.name or Path(config.out).resolve().name
        if valid_inputs is None:
            _note_test_only(folder, "--valid-predictions")
        else:
            vpreds, valid_weighting, valid_exclude = valid_inputs
            _, vtop = _rank_kept(
                vq,
                vpreds,
                vkeep,
                catalogue.n_groups,
                ranker,
                top_n=export_n,
                weighting=weighting if valid_weighting is None else valid_weighting,
                gammas=[gammas[-1]],
                exclude=valid_exclude,
            )
            assert vtop is not None  # top_n > 0: the top lists are computed
            write_scores(
                folder / "valid",
                vpreds.example_ids,
                vtop,
                model=model,
                items_sha256=catalogue.sha256,
                exclude_history=config.exclude_history,
                extra={**export, "predictions": str(config.valid_predictions)},
            )
        write_scores(
            folder / "test",
            preds.example_ids,
            top[:, :export_n],
            model=model,
            items_sha256=catalogue.sha256,
            exclude_history=config.exclude_history,
            extra=export,
        )
    top = top[:, :top_n]
    all_texts = [t for ts in preds.texts for t in ts]
    n_valid = sum(catalogue.index.lookup(t) is not None for t in all_texts)
    exact_first = np.zeros(len(preds), dtype=bool)
    if q is not None:
        exact_first[keep] = q.exact_first
    extra: dict[str, Any] = {
        "source": {
            "predictions": str(config.predictions),
            "format": preds.format,
            "items": str(config.items),
            "embeddings": str(config.embeddings) if config.embeddings else None,
            "item_embeddings": embeddings_source,
            "text_embeddings": str(text_embeddings.path) if text_embeddings else None,
            "predictions_meta": preds.meta,
        },
        "validity_rate": n_valid / len(all_texts) if all_texts else 0.0,
        "validity_rate_first": float(
            np.mean([bool(ts) and catalogue.index.lookup(ts[0]) is not None for ts in preds.texts])
        ),
        "grounding": {
            "preset": config.preset,
            "distance": config.distance,
            "fusion": config.fusion,
            "fusion_depth": depth,
            "exclude_history": config.exclude_history,
            "embedding_model": embeddings.model,
            "embedding_encoder": {
                k: embeddings.meta.get(k) for k in ("encoder", "adapter", "layer", "pooling")
            }
            if embeddings.encoder != SENTENCE_TRANSFORMERS
            else None,
            "texts_used": q.n_texts if q else 0,
            "texts_exact": q.n_exact if q else 0,
            "strings_embedded": q.n_embedded if q else 0,
            "empty_predictions": int((~keep).sum()),
            "empty_prediction": config.empty_prediction,
            "duplicates": "collapsed to canonical_item_id groups",
            "ties": "strictly closer, then smaller item id",
        },
        "reweighting": reweight_info,
    }
    if reweight_info is not None:
        extra["metrics_without_reweighting"] = metrics_from_ranks(ranks[0], ks)
    first = [ts[0] if ts else "" for ts in preds.texts]
    return row_result(
        config,
        command="evaluate",
        config=config,
        started=started,
        inputs=[
            config.predictions,
            config.items,
            config.embeddings,
            text_embeddings.path if text_embeddings else None,
            config.valid_predictions,
            config.train,
            config.scores,
            config.valid_scores,
        ],
        example_ids=preds.example_ids,
        targets=preds.targets,
        ranks=ranks[-1],
        top=top,
        catalogue=catalogue,
        extra=extra,
        extra_columns={"first_prediction": first, "first_is_title": exact_first},
    )


def _score_weighting(
    path: Path | None,
    example_ids: list[str],
    catalogue: Catalogue,
    flag: str,
    examples_path: Path | None,
) -> Weighting:
    """W from a score file (docs/contracts.md), validated against the examples file the
    predictions answer when given (it may hold more examples than were predicted), else against
    the predictions' own example ids."""
    if path is None:
        raise InputError(f"--reweight scores needs {flag} (scores.parquet or its folder)")
    if examples_path is not None:
        scores = read_scores(
            path,
            read_example_ids(examples_path),
            catalogue.n_items,
            examples_path=examples_path,
            items_sha256=catalogue.sha256,
        ).select(example_ids)
    else:
        scores = read_scores(path, example_ids, catalogue.n_items, items_sha256=catalogue.sha256)
    return Weighting(rows=scores.weights(catalogue.n_items))


def _weightings(
    config: EvaluateConfig, catalogue: Catalogue, example_ids: list[str]
) -> tuple[Weighting, Weighting | None, dict[str, Any]]:
    if config.reweight == "popularity":
        if catalogue.popularity is None:
            raise InputError(f"{config.items}: --reweight popularity needs the 'popularity' column")
        w = Weighting(item=minmax(catalogue.popularity))
        return w, w, {"source": "popularity", "window": "all training interactions (items.parquet)"}
    if config.reweight == "recent":
        counts, info = _recent_counts(
            config.train, catalogue.n_items, config.recent_fraction, config.recent_examples
        )
        w = Weighting(item=minmax(counts))
        return w, w, {"source": "recent-popularity", **info}
    w = _score_weighting(config.scores, example_ids, catalogue, "--scores", config.examples)
    return w, None, {"source": "scores", "scores": str(config.scores)}


# --------------------------------------------------------------------------- baselines


def _histories_canonical(examples: Examples, catalogue: Catalogue) -> list[np.ndarray]:
    return [
        np.unique(catalogue.canonical[np.asarray(h, dtype=np.int64)]) for h in examples.histories
    ]


def baseline_popularity(config: PopularityConfig, *, recent: bool) -> dict[str, Any]:
    """Most popular items over the training split (items.parquet) or over its recent window:
    the row written to `config.out`; returns its metrics.json."""
    return write_row(popularity_row(config, recent=recent))


def popularity_row(config: PopularityConfig, *, recent: bool) -> RowResult:
    """`baseline_popularity`'s row, computed, not written (its --write-scores files are)."""
    started = time.time()
    ks = parse_ks(config.ks)
    _check_export(config)
    catalogue = read_items(config.items)
    examples = subset_examples(read_examples(config.examples, catalogue.n_items), config.subset)
    valid = None
    if config.write_scores is not None and config.valid_examples is not None:
        valid = read_examples(config.valid_examples, catalogue.n_items)
    if recent:
        counts, info = _recent_counts(
            config.train, catalogue.n_items, config.recent_fraction, config.recent_examples
        )
        info = {"source": "recent-popularity", **info}
    else:
        if catalogue.popularity is None:
            raise InputError(f"{config.items}: most-popular needs the 'popularity' column")
        counts, info = catalogue.popularity, {"source": "popularity (items.parquet)"}
    space = ItemSpace(np.zeros((catalogue.n_items, 1), dtype=np.float32), catalogue.canonical)
    exclude = _histories_canonical(examples, catalogue) if config.exclude_history else None
    top_n = min(max(config.top_n, max(ks)), catalogue.n_groups)
    export_n = min(config.scores_top_n, catalogue.n_groups) if config.write_scores else 0
    ranks, top = Ranker(space).run_static(
        -counts.astype(np.float64),
        space.canonical[examples.targets],
        top_n=max(top_n, export_n),
        exclude=exclude,
    )
    assert top is not None  # top_n > 0: the top lists are computed
    name = "recent-popular" if recent else "most-popular"
    if config.write_scores is not None:
        model = config.name or Path(config.out).resolve().name
        splits = [("test", examples, top)]
        if valid is None:
            _note_test_only(Path(config.write_scores), "--valid-examples")
        else:
            _, vtop = Ranker(space).run_static(
                -counts.astype(np.float64),
                space.canonical[valid.targets],
                top_n=export_n,
                exclude=_histories_canonical(valid, catalogue) if config.exclude_history else None,
            )
            assert vtop is not None  # top_n > 0: the top lists are computed
            splits.append(("valid", valid, vtop))
        _write_split_scores(config, splits, export_n, model, catalogue, {"row": f"baseline {name}"})
    top = top[:, :top_n]
    extra = {
        "source": {"examples": str(config.examples), "items": str(config.items)},
        "baseline": {"name": name, "exclude_history": config.exclude_history, **info},
    }
    return row_result(
        config,
        command=f"baseline {name}",
        config=config,
        started=started,
        inputs=[config.examples, config.items, config.train, config.subset],
        example_ids=examples.example_ids,
        targets=examples.targets,
        ranks=ranks,
        top=top,
        catalogue=catalogue,
        extra=extra,
    )


def content_queries(
    examples: Examples, embeddings: ItemEmbeddings, last_n: int, aggregate: str
) -> QuerySet:
    """Query vectors from each example's last `last_n` history items (mean, or one per item)."""
    vecs = embeddings.vectors
    n = len(examples)
    if aggregate == "mean":
        out = np.zeros((n, vecs.shape[1]), dtype=np.float32)
        for i, h in enumerate(examples.histories):
            if h:
                out[i] = np.asarray(vecs[h[-last_n:]], dtype=np.float32).mean(axis=0)
        return QuerySet(out, np.arange(n, dtype=np.int64)[:, None], np.full(n, -1, dtype=np.int64))
    slots = np.full((n, last_n), -1, dtype=np.int64)
    for i, h in enumerate(examples.histories):
        recent = list(reversed(h[-last_n:]))  # the most recent item first
        slots[i, : len(recent)] = recent
    if (slots[:, 0] < 0).any():
        raise InputError(
            f"{examples.path}: example {examples.example_ids[int(np.argmax(slots[:, 0] < 0))]!r} "
            "has an empty history_item_ids"
        )
    return QuerySet(
        np.asarray(vecs, dtype=np.float32), slots, np.full(vecs.shape[0], -1, dtype=np.int64)
    )


def baseline_content(config: ContentConfig) -> dict[str, Any]:
    """No LLM: items nearest the last watched items, re-weighted by recent popularity (gamma on
    valid): the row written to `config.out`; returns its metrics.json."""
    return write_row(content_row(config))


def content_row(config: ContentConfig) -> RowResult:
    """`baseline_content`'s row, computed, not written (its --write-scores files are)."""
    started = time.time()
    ks = parse_ks(config.ks)
    metric_function(config.select_metric)  # a bad name fails now, not after the ranking
    _check_export(config)
    catalogue = read_items(config.items)
    embeddings = read_item_embeddings(config.embeddings, catalogue)
    examples = subset_examples(read_examples(config.examples, catalogue.n_items), config.subset)
    counts, info = _recent_counts(
        config.train, catalogue.n_items, config.recent_fraction, config.recent_examples
    )
    weighting = Weighting(item=minmax(counts))
    space = ItemSpace(embeddings.vectors, catalogue.canonical, config.distance)
    fusion = "first" if config.aggregate == "mean" else config.aggregate
    ranker = Ranker(
        space,
        fusion=fusion,
        depth=max(config.fusion_depth, max(ks)),
        rrf_k=config.rrf_k,
        chunk_elems=config.chunk_elems,
    )
    reweight: dict[str, Any] = {"source": "recent-popularity", **info}
    valid = None
    if config.valid is not None:
        valid = subset_examples(read_examples(config.valid, catalogue.n_items), config.valid_subset)
    if config.gamma is None and valid is None:
        raise InputError(
            "the content baseline sweeps gamma on --valid valid.jsonl (or pass --gamma)"
        )

    def rank_valid(grid: list[float]) -> np.ndarray:
        assert valid is not None
        vranks, _ = ranker.run(
            content_queries(valid, embeddings, config.last_n, config.aggregate),
            space.canonical[valid.targets],
            weighting=weighting,
            gammas=grid,
            exclude=_histories_canonical(valid, catalogue) if config.exclude_history else None,
        )
        return vranks

    gamma, chosen = choose_gamma(config, rank_valid, {"valid": str(config.valid)})
    reweight.update(chosen)
    top_n = min(max(config.top_n, max(ks)), catalogue.n_groups)
    export_n = min(config.scores_top_n, catalogue.n_groups) if config.write_scores else 0
    ranks, top = ranker.run(
        content_queries(examples, embeddings, config.last_n, config.aggregate),
        space.canonical[examples.targets],
        weighting=weighting,
        gammas=[0.0, gamma],
        top_n=max(top_n, export_n),
        exclude=_histories_canonical(examples, catalogue) if config.exclude_history else None,
    )
    assert top is not None
    if config.write_scores is not None:
        export = {"row": "baseline content", "gamma": gamma, "aggregate": config.aggregate}
        model = config.name or Path(config.out).resolve().name
        splits = [("test", examples, top)]
        if valid is None:
            _note_test_only(Path(config.write_scores), "--valid")
        else:
            _, vtop = ranker.run(
                content_queries(valid, embeddings, config.last_n, config.aggregate),
                space.canonical[valid.targets],
                weighting=weighting,
                gammas=[gamma],
                top_n=export_n,
                exclude=_histories_canonical(valid, catalogue) if config.exclude_history else None,
            )
            assert vtop is not None  # top_n > 0: the top lists are computed
            splits.append(("valid", valid, vtop))
        _write_split_scores(config, splits, export_n, model, catalogue, export)
    top = top[:, :top_n]
    extra = {
        "source": {
            "examples": str(config.examples),
            "items": str(config.items),
            "embeddings": str(config.embeddings),
        },
        "baseline": {
            "name": "content",
            "last_n": config.last_n,
            "aggregate": config.aggregate,
            "distance": config.distance,
            "exclude_history": config.exclude_history,
            "embedding_model": embeddings.model,
        },
        "reweighting": reweight,
        "metrics_without_reweighting": metrics_from_ranks(ranks[0], ks),
    }
    return row_result(
        config,
        command="baseline content",
        config=config,
        started=started,
        inputs=[
            config.examples,
            config.items,
            config.embeddings,
            config.train,
            config.valid,
            config.subset,
        ],
        example_ids=examples.example_ids,
        targets=examples.targets,
        ranks=ranks[-1],
        top=top,
        catalogue=catalogue,
        extra=extra,
    )


def _write_split_scores(
    config: Any, splits: list, export_n: int, model: str, catalogue: Any, extra: dict[str, Any]
) -> None:
    """A baseline row's `--write-scores`: one score file per split (`DIR/test/`, `DIR/valid/`)."""
    for split, split_examples, split_top in splits:
        write_scores(
            Path(config.write_scores) / split,
            split_examples.example_ids,
            split_top[:, :export_n],
            model=model,
            items_sha256=catalogue.sha256,
            exclude_history=config.exclude_history,
            extra={**extra, "examples": str(split_examples.path)},
        )
