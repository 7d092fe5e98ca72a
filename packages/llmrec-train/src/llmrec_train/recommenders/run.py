"""`llmrec-train recommend`: fit on train, select on valid, write scores for valid and test."""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from llmrec_train._io import atomic_write_json, package_versions, sha256_file
from llmrec_train.recommenders.config import RecommendConfig, parse_floats
from llmrec_train.recommenders.data import Examples, read_catalogue, read_examples
from llmrec_train.recommenders.scores import (
    META_FILE,
    SCORES_FILE,
    ScoreFn,
    ndcg_hr_at,
    write_scores,
)

log = logging.getLogger(__name__)
SPLITS = ("valid", "test")


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = package_versions()
    for name in ("cornac", "numpy", "scipy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _clear_outputs(out: Path) -> None:
    """A run's outputs belong to that run: remove the previous ones first, so that a failed or
    interrupted run leaves no score file (stale or half-written) behind."""
    for split in SPLITS:
        for name in (SCORES_FILE, META_FILE):
            (out / split / name).unlink(missing_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)


def _fit_transition(
    config: RecommendConfig, train: Examples, valid: Examples, n_items: int
) -> tuple[ScoreFn, dict[str, Any]]:
    from llmrec_train.recommenders.transition import TransitionModel

    model = TransitionModel.fit(train, n_items)
    grid = []
    for decay, backoff in itertools.product(
        parse_floats("decays", config.decays), parse_floats("backoffs", config.backoffs)
    ):
        model.decay, model.backoff = decay, backoff
        metrics = ndcg_hr_at(valid, model.score, config.exclude_history)
        grid.append(
            {
                "decay": decay,
                "backoff": backoff,
                **{f"valid_{k}": round(v, 5) for k, v in metrics.items()},
            }
        )
        log.info("transition %s", grid[-1])
    # Best valid NDCG@10; ties to the earlier (simpler) setting.
    best = max(grid, key=lambda g: (g["valid_ndcg@10"], -grid.index(g)))
    model.decay, model.backoff = best["decay"], best["backoff"]
    return model.score, {
        "selected": {"decay": best["decay"], "backoff": best["backoff"]},
        "grid": grid,
    }


def _fit_sasrec(
    config: RecommendConfig, train: Examples, valid: Examples, n_items: int
) -> tuple[ScoreFn, dict[str, Any]]:
    import torch

    from llmrec_train.recommenders.sasrec import train_sasrec

    torch.set_num_threads(config.threads)
    bar = tqdm(total=config.max_epochs, desc="sasrec epochs", unit="epoch")
    try:
        model = train_sasrec(
            config,
            train,
            valid,
            n_items,
            on_epoch=lambda r: (bar.update(1), bar.set_postfix(ndcg10=r["valid_ndcg@10"])),
        )
    finally:
        bar.close()
    best = model.epochs[model.best_epoch - 1]
    return model.score, {
        "selected": {"epoch": model.best_epoch, "valid_ndcg@10": best["valid_ndcg@10"]},
        "epochs": model.epochs,
    }


def recommend(config: RecommendConfig) -> Path:
    start = time.perf_counter()
    out = config.out
    _clear_outputs(out)
    catalogue = read_catalogue(config.items)
    train = read_examples(config.train, catalogue.n_items, need_target=True)
    valid = read_examples(config.valid, catalogue.n_items, need_target=True)
    test = read_examples(config.test, catalogue.n_items, need_target=False)
    log.info(
        "%s: %d train, %d valid, %d test examples, %d items",
        config.model,
        len(train),
        len(valid),
        len(test),
        catalogue.n_items,
    )

    fit_start = time.perf_counter()
    fit = _fit_sasrec if config.model == "sasrec" else _fit_transition
    score, selection = fit(config, train, valid, catalogue.n_items)
    fit_seconds = round(time.perf_counter() - fit_start, 2)

    versions = _versions()
    valid_metrics = ndcg_hr_at(valid, score, config.exclude_history)
    written = {}
    for split, examples in (("valid", valid), ("test", test)):
        with tqdm(total=len(examples), desc=f"scores {split}", unit="ex") as bar:
            t = time.perf_counter()
            write_scores(
                out / split,
                examples,
                score,
                items=config.items,
                model=config.model,
                top_n=config.top_n,
                exclude_history=config.exclude_history,
                config=config.model_settings(),
                seed=config.seed,
                versions=versions,
                extra={"selection": selection["selected"]},
                progress=bar.update,
            )
            written[split] = round(time.perf_counter() - t, 2)
    manifest = {
        "stage": "llmrec-train recommend",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(config).items()},
        "inputs": {
            p.name: sha256_file(p) for p in (config.train, config.valid, config.test, config.items)
        },
        "counts": {
            "train": len(train),
            "valid": len(valid),
            "test": len(test),
            "items": catalogue.n_items,
        },
        "selection": selection,
        "valid_metrics": {k: round(v, 5) for k, v in valid_metrics.items()},
        "timings_s": {
            "fit": fit_seconds,
            "write_valid": written["valid"],
            "write_test": written["test"],
        },
        "versions": versions,
        "wall_time_s": round(time.perf_counter() - start, 2),
    }
    atomic_write_json(out / "manifest.json", manifest)
    log.info(
        "%s: valid %s, fit %.1f s; wrote %s",
        config.model,
        manifest["valid_metrics"],
        fit_seconds,
        out,
    )
    return out
