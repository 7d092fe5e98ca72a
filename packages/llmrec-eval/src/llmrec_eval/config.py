"""One dataclass config per command; every field's help becomes the command's `--flag` help."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

Fusion = Literal["first", "min", "interleave", "rrf"]
Distance = Literal["l2", "cosine"]
Reweight = Literal["none", "popularity", "recent", "scores"]


def _help(text: str) -> dict[str, str]:
    """Field metadata: the --flag help."""
    return {"help": text}


def parse_ks(ks: str) -> list[int]:
    try:
        values = sorted({int(k) for k in ks.split(",") if k.strip()})
    except ValueError as exc:
        raise ValueError(f"--ks expects comma-separated positive integers, got {ks!r}") from exc
    if not values or values[0] < 1:
        raise ValueError(f"--ks expects comma-separated positive integers, got {ks!r}")
    return values


@dataclass(kw_only=True)
class MetricsOptions:
    """Shared by every command that writes metrics.json."""

    out: Path = field(
        metadata=_help(
            "Output folder: metrics.json, ranks.parquet, metrics.png, table.md, manifest.json."
        )
    )
    name: str | None = field(
        default=None,
        metadata=_help("Run name in tables and plots (default: the output folder's name)."),
    )
    ks: str = field(
        default="1,3,5,10,20,50", metadata=_help("Cut-offs K for NDCG@K and HR@K, comma-separated.")
    )
    top_n: int = field(
        default=50,
        metadata=_help("Length of the ranked list kept per example (ranks.parquet, coverage)."),
    )
    bootstrap: int = field(
        default=1000,
        metadata=_help("Bootstrap resamples for the 95% confidence intervals (0: none)."),
    )
    seed: int = field(default=0, metadata=_help("Seed of the bootstrap."))
    chunk_elems: int = field(
        default=1 << 26,
        metadata=_help(
            "Floats per distance matrix held at once, but at least 64 examples' rows (bounds "
            "memory: 2^26 = 256 MiB; a few such matrices are alive)."
        ),
    )


@dataclass(kw_only=True)
class ReweightOptions:
    """BIGRec's re-weighting, and where gamma comes from."""

    reweight: Reweight = field(
        default="none",
        metadata=_help(
            "Re-weight distances by (1 + W)^(-gamma): W = all-time training popularity "
            "(items.parquet), recent popularity (--train window), or external --scores.",
        ),
    )
    train: Path | None = field(
        default=None,
        metadata=_help("Training examples (train.jsonl): the window for --reweight recent."),
    )
    recent_fraction: float = field(
        default=0.1,
        metadata=_help("Recent window: this last fraction of training examples by timestamp."),
    )
    recent_examples: int | None = field(
        default=None,
        metadata=_help("Recent window: the last N training examples (overrides the fraction)."),
    )
    gamma: float | None = field(
        default=None, metadata=_help("Use this gamma instead of sweeping it on validation.")
    )
    gamma_grid: Literal["coarse", "bigrec"] = field(
        default="coarse",
        metadata=_help(
            "Sweep grid: 'coarse' (32 points, 0..99) or 'bigrec' (0.00..0.99 by 0.01, then 1..99).",
        ),
    )
    select_metric: str = field(
        default="ndcg@10",
        metadata=_help("Validation metric that picks gamma (ties: the smallest gamma)."),
    )


@dataclass(kw_only=True)
class EvaluateConfig(ReweightOptions, MetricsOptions):
    """`llmrec-eval evaluate`: ground generated texts and score them."""

    predictions: Path = field(
        metadata=_help(
            "predictions.jsonl (llmrec) or a BIGRec result JSON (list of {instruction, input, output, predict})."
        )
    )
    items: Path = field(metadata=_help("items.parquet: the item catalogue."))
    embeddings: Path | None = field(
        default=None,
        metadata=_help(
            "item_embeddings.npy (metadata .json beside it). Without it the item "
            "titles are embedded with --model.",
        ),
    )
    format: Literal["auto", "predictions", "bigrec"] = field(
        default="auto", metadata=_help("Format of --predictions (auto: by content).")
    )
    exclude_history: bool = field(
        default=False,
        metadata=_help(
            "Never rank an item of the example's own history (needs --examples, and "
            "--valid-examples with --valid-predictions)."
        ),
    )
    examples: Path | None = field(
        default=None,
        metadata=_help("Examples JSONL holding the histories of --predictions (test.jsonl)."),
    )
    valid_examples: Path | None = field(
        default=None,
        metadata=_help("Examples JSONL holding the histories of --valid-predictions."),
    )
    model: str | None = field(
        default=None,
        metadata=_help(
            "sentence-transformers model to embed texts; must equal the one recorded in the "
            "embeddings metadata (default: that one; without --embeddings: all-MiniLM-L6-v2).",
        ),
    )
    device: str | None = field(
        default=None,
        metadata=_help("Torch device for embedding (default: sentence-transformers' choice)."),
    )
    distance: Distance = field(
        default="l2",
        metadata=_help("Distance between text and item vectors: l2 (BIGRec) or cosine."),
    )
    fusion: Fusion = field(
        default="interleave",
        metadata=_help(
            "Several generated texts per example: 'interleave' (default, best on the README's proxy) takes "
            "each text's nearest items round-robin, best text first; 'first' grounds only the first "
            "text (BIGRec's rule: use it to reproduce BIGRec); 'min' min distance over texts; 'rrf' "
            "reciprocal-rank fusion (best on real constrained beams, see the README).",
        ),
    )
    fusion_depth: int = field(
        default=50,
        metadata=_help(
            "interleave/rrf: how deep each text's ranking is fused (items beyond follow "
            "by min distance).",
        ),
    )
    valid_predictions: Path | None = field(
        default=None, metadata=_help("Validation predictions (same format) to sweep gamma on.")
    )
    scores: Path | None = field(
        default=None,
        metadata=_help(
            "--reweight scores: parquet (example_id, item_id, score) for --predictions."
        ),
    )
    valid_scores: Path | None = field(
        default=None, metadata=_help("--reweight scores: the same for --valid-predictions.")
    )


@dataclass(kw_only=True)
class PopularityConfig(MetricsOptions):
    """`llmrec-eval baseline most-popular | recent-popular`."""

    examples: Path = field(
        metadata=_help("Examples to rank for (test.jsonl): history_item_ids and target_item_id.")
    )
    items: Path = field(
        metadata=_help("items.parquet (its popularity column is the all-time training popularity).")
    )
    train: Path | None = field(
        default=None, metadata=_help("train.jsonl: needed for recent-popular (the window).")
    )
    subset: Path | None = field(
        default=None,
        metadata=_help(
            "Score only the examples whose example_id occurs in this JSONL (e.g. the LLM's "
            "predictions.jsonl), so that baselines and the LLM are scored on the same examples."
        ),
    )
    recent_fraction: float = field(
        default=0.1,
        metadata=_help("Recent window: this last fraction of training examples by timestamp."),
    )
    recent_examples: int | None = field(
        default=None,
        metadata=_help("Recent window: the last N training examples (overrides the fraction)."),
    )
    exclude_history: bool = field(
        default=False, metadata=_help("Never recommend an item of the example's own history.")
    )


@dataclass(kw_only=True)
class ContentConfig(MetricsOptions):
    """`llmrec-eval baseline content`: no LLM; items nearest the last watched items' title embeddings."""

    examples: Path = field(metadata=_help("Examples to rank for (test.jsonl)."))
    items: Path = field(metadata=_help("items.parquet."))
    embeddings: Path = field(
        metadata=_help("item_embeddings.npy (the same title embeddings the LLM is grounded with).")
    )
    train: Path = field(metadata=_help("train.jsonl: the recent-popularity window."))
    subset: Path | None = field(
        default=None,
        metadata=_help(
            "Score only the examples whose example_id occurs in this JSONL (e.g. the LLM's "
            "predictions.jsonl), so that baselines and the LLM are scored on the same examples."
        ),
    )
    valid_subset: Path | None = field(
        default=None,
        metadata=_help("Like --subset, for --valid (e.g. the LLM's validation predictions)."),
    )
    valid: Path | None = field(
        default=None, metadata=_help("valid.jsonl to sweep gamma on (required unless --gamma).")
    )
    last_n: int = field(default=3, metadata=_help("Use the last N history items as queries."))
    aggregate: Literal["mean", "min", "interleave", "rrf"] = field(
        default="interleave",
        metadata=_help(
            "Combine the last items: one query per item, most recent first, fused like evaluate's "
            "--fusion (interleave: default, as good as the best on ml-latest-small validation), "
            "or 'mean' of their vectors (one query).",
        ),
    )
    distance: Distance = field(default="cosine", metadata=_help("Distance between item vectors."))
    exclude_history: bool = field(
        default=True,
        metadata=_help(
            "Never recommend an item of the example's own history (MovieLens has no "
            "repeats; without this the nearest items are the history itself).",
        ),
    )
    recent_fraction: float = field(
        default=0.1,
        metadata=_help("Recent window: this last fraction of training examples by timestamp."),
    )
    recent_examples: int | None = field(
        default=None,
        metadata=_help("Recent window: the last N training examples (overrides the fraction)."),
    )
    gamma: float | None = field(
        default=None, metadata=_help("Use this gamma instead of sweeping it on --valid.")
    )
    gamma_grid: Literal["coarse", "bigrec"] = field(
        default="coarse", metadata=_help("Sweep grid (see evaluate).")
    )
    select_metric: str = field(
        default="ndcg@10", metadata=_help("Validation metric that picks gamma.")
    )


@dataclass(kw_only=True)
class ReportConfig:
    """`llmrec-eval table` / `plot`."""

    out: Path | None = field(
        default=None,
        metadata=_help("Write here (table: Markdown; plot: PNG). Table default: print only."),
    )
    ci: bool = field(default=False, metadata=_help("Table: add the 95% bootstrap intervals."))


@dataclass
class SamplesConfig:
    """`llmrec-eval samples`."""

    examples: Path = field(metadata=_help("Examples JSONL the runs were scored on (test.jsonl)."))
    items: Path = field(metadata=_help("items.parquet: titles of the ranked items."))
    run: list[str] = field(
        metadata=_help("NAME=FOLDER of an evaluate/baseline output (its ranks.parquet); repeat.")
    )
    out: Path | None = field(
        default=None, metadata=_help("Write the Markdown here (default: print).")
    )
    n: int = field(default=8, metadata=_help("Examples shown, drawn with --seed."))
    seed: int = field(default=0, metadata=_help("Seed of the draw."))
    history: int = field(default=5, metadata=_help("Most recent history titles shown."))
    top: int = field(default=3, metadata=_help("Top-ranked items shown per run."))


def config_dict(config: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}


def add_command(
    app: typer.Typer,
    name: str,
    config_cls: type,
    run: Callable[[Any], Any],
    extra: list[inspect.Parameter] | None = None,
    help: str | None = None,
) -> None:
    """Register `run(config_cls(**flags))` as `name`, one --flag per dataclass field (help from metadata)."""
    hints = typing.get_type_hints(config_cls)
    params = list(extra or [])
    for f in sorted(fields(config_cls), key=lambda f: f.default is not MISSING):
        option = typer.Option(help=f.metadata.get("help", ""))
        default = inspect.Parameter.empty if f.default is MISSING else f.default
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[hints[f.name], option],
            )
        )
    extra_names = {p.name for p in extra or []}

    def command(**kwargs: Any) -> None:
        extras = {k: kwargs.pop(k) for k in extra_names}
        try:
            run(config_cls(**kwargs), **extras)
        except (ValueError, FileNotFoundError) as err:  # InputError is a ValueError
            # Bad input is the user's to fix: say what and where, without a traceback.
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from err

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = help or (config_cls.__doc__ or "").strip()
    app.command(name)(command)
