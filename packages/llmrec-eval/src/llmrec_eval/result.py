"""One scored row as a typed result, and its writer: the commands compute a `RowResult` (metrics,
intervals, the ranks table) and `write_row` writes it, so the ranking code never touches files or
plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from llmrec_eval import __version__
from llmrec_eval._io import atomic_write, write_json, write_manifest, write_text
from llmrec_eval.config import MetricsOptions, config_dict, parse_ks
from llmrec_eval.metrics import bootstrap_ci, coverage, metrics_from_ranks
from llmrec_eval.readers import Catalogue
from llmrec_eval.report import markdown_table, plot_metrics

SCHEMA_VERSION = 1


@dataclass
class RowResult:
    """A scored row, nothing written yet: what `write_row` puts in `out`."""

    out: Path
    metrics: dict[str, Any]  # metrics.json (docs/contracts.md)
    ranks: pl.DataFrame  # ranks.parquet: each example's target rank and top items
    command: str
    config: dict[str, Any]  # the command's settings, as manifest.json records them
    inputs: list[Path]
    started: float
    manifest_extra: dict[str, Any] | None = None
    plot: bool = True  # draw metrics.png

    @property
    def name(self) -> str:
        return str(self.metrics["name"])


def row_result(
    opts: MetricsOptions,
    *,
    command: str,
    config: Any,
    inputs: list[Path | None],
    started: float,
    example_ids: list[str],
    targets: np.ndarray,
    ranks: np.ndarray,
    top: np.ndarray,
    catalogue: Catalogue,
    extra: dict[str, Any],
    extra_columns: dict[str, Any] | None = None,
    manifest_extra: dict[str, Any] | None = None,
) -> RowResult:
    """The metrics (with bootstrap intervals and coverage) and ranks table of 0-based target
    `ranks` and `top` lists (canonical ids, -1 padded), with `extra` metrics.json fields."""
    ks = parse_ks(opts.ks)
    out = Path(opts.out)
    metrics: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": opts.name or out.resolve().name,
        "kind": command,
        "n_examples": len(example_ids),
        "n_items": catalogue.n_items,
        "n_groups": catalogue.n_groups,
        "ks": ks,
        "metrics": metrics_from_ranks(ranks, ks),
        "ci95": bootstrap_ci(ranks, ks, n_resamples=opts.bootstrap, seed=opts.seed)
        if opts.bootstrap
        else {},
        "bootstrap": {"n_resamples": opts.bootstrap, "seed": opts.seed, "level": 0.95},
        "rank": {"mean": float(ranks.mean()), "median": float(np.median(ranks))},
        "coverage": coverage(top, ks, catalogue.n_groups),
        **extra,
        "llmrec_eval_version": __version__,
    }
    frame = pl.DataFrame(
        {
            "example_id": example_ids,
            "target_item_id": targets.astype(np.int64),
            "target_canonical_id": catalogue.canonical[targets],
            "rank": ranks.astype(np.int64),
            **(extra_columns or {}),
            "top_item_ids": [[i for i in row if i >= 0] for row in top.astype(np.int64).tolist()],
        }
    )
    return RowResult(
        out=out,
        metrics=metrics,
        ranks=frame,
        command=command,
        config=config_dict(config),
        inputs=[Path(p) for p in inputs if p is not None],
        started=started,
        manifest_extra=manifest_extra,
        plot=opts.plot,
    )


def write_row(result: RowResult) -> dict[str, Any]:
    """Write `result.out`: ranks.parquet, metrics.json, table.md, metrics.png (unless `plot` is
    off) and manifest.json (settings, versions, input hashes, wall time). Returns the metrics."""
    out = result.out
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "ranks.parquet", lambda tmp: result.ranks.write_parquet(tmp))
    write_json(out / "metrics.json", result.metrics)
    write_text(out / "table.md", markdown_table([result.metrics]))
    if result.plot:
        plot_metrics([result.metrics], out / "metrics.png")
    write_manifest(
        out,
        command=result.command,
        config=result.config,
        inputs=result.inputs,
        started=result.started,
        extra=result.manifest_extra,
    )
    return result.metrics
