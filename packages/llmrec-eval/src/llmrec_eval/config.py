"""One dataclass config per command; every field's help becomes the command's `--flag` help."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import typer
from llmrec_cli import command_from_config

from llmrec_eval._errors import InputError, check_writable
from llmrec_eval._ranking import CHUNK_ELEMS, RRF_K, Distance, Fusion

Normalisation = Literal["rank", "rrf", "minmax", "zscore"]
Reweight = Literal["none", "popularity", "recent", "scores"]
Preset = Literal["none", "bigrec"]
CACHE_ENV = "LLMREC_EVAL_CACHE"


def _help(text: str) -> dict[str, str]:
    """Field metadata: the --flag help."""
    return {"help": text}


def parse_ks(ks: str) -> list[int]:
    try:
        values = sorted({int(k) for k in ks.split(",") if k.strip()})
    except ValueError as exc:
        raise InputError(f"--ks expects comma-separated positive integers, got {ks!r}") from exc
    if not values or values[0] < 1:
        raise InputError(f"--ks expects comma-separated positive integers, got {ks!r}")
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
    plot: bool = field(
        default=True,
        metadata=_help("Also draw metrics.png (NDCG@K and HR@K against K) in --out."),
    )
    chunk_elems: int = field(
        default=CHUNK_ELEMS,
        metadata=_help(
            "Floats of distance matrices held at once (all text slots together), but at least "
            "64 examples' rows: bounds memory (2^23 = 32 MiB, which a large CPU cache holds)."
        ),
    )


@dataclass(kw_only=True)
class ExportOptions:
    """Write a row's ranking as a score file (docs/contracts.md) for rankers and `fuse`."""

    write_scores: Path | None = field(
        default=None,
        metadata=_help(
            "Also write this row's ranking as score files: DIR/test/ (the examples ranked here) and "
            "DIR/valid/ (the validation examples, ranked the same way with the chosen gamma, when "
            "the command has them), each scores.parquet + scores.meta.json; score = negated rank."
        ),
    )
    scores_top_n: int = field(
        default=200, metadata=_help("--write-scores: ranked items written per example.")
    )


@dataclass(kw_only=True)
class RecentWindowOptions:
    """The recent-popularity window over the training examples."""

    recent_fraction: float = field(
        default=0.1,
        metadata=_help("Recent window: this last fraction of training examples by timestamp."),
    )
    recent_examples: int | None = field(
        default=None,
        metadata=_help("Recent window: the last N training examples (overrides the fraction)."),
    )


@dataclass(kw_only=True)
class GammaOptions:
    """Where the re-weighting exponent gamma comes from: fixed, or swept on validation."""

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
class ReweightOptions(GammaOptions, RecentWindowOptions):
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


@dataclass(kw_only=True)
class RankFusionOptions:
    """How several rankings of one example (generated texts, history items) are fused."""

    fusion_depth: int = field(
        default=50,
        metadata=_help(
            "interleave/rrf: how deep each fused ranking (one per generated text; in the content "
            "baseline one per history item) is taken; items beyond follow by min distance. At "
            "least the largest K is used.",
        ),
    )
    rrf_k: int = field(
        default=RRF_K,
        metadata=_help("rrf: the constant k of reciprocal-rank fusion, 1/(k + rank + 1)."),
    )


@dataclass(kw_only=True)
class EvaluateConfig(ExportOptions, RankFusionOptions, ReweightOptions, MetricsOptions):
    """`llmrec-eval evaluate`: ground generated texts and score them."""

    predictions: Path = field(
        metadata=_help(
            "predictions.jsonl (llmrec) or a BIGRec result JSON (list of {instruction, input, output, "
            "predict}); or a folder: every predictions.jsonl and BIGRec *.json in it, each written to "
            "--out/<its path>, plus --out/table.md and table.json."
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
    text_embeddings: Path | None = field(
        default=None,
        metadata=_help(
            "text_embeddings.npy (or its folder) from `llmrec-train embed --predictions`: the "
            "generated texts' vectors, looked up instead of embedded; its encoder (model, adapter, "
            "layer, pooling) must be the --embeddings' one. Required when --embeddings come from "
            "`llmrec-train embed` (BIGRec's LLM hidden states).",
        ),
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
    valid_predictions: Path | None = field(
        default=None, metadata=_help("Validation predictions (same format) to sweep gamma on.")
    )
    scores: Path | None = field(
        default=None,
        metadata=_help(
            "--reweight scores: a score file (scores.parquet or its folder) covering --examples, "
            "or the examples of --predictions when --examples is not given."
        ),
    )
    valid_scores: Path | None = field(
        default=None, metadata=_help("--reweight scores: the same for --valid-predictions.")
    )
    preset: Preset = field(
        default="none",
        metadata=_help(
            "'bigrec': BIGRec's evaluation settings in one flag (fusion first, distance l2, "
            "gamma grid bigrec, no history exclusion); an explicit conflicting flag is an error.",
        ),
    )
    empty_prediction: Literal["error", "miss"] = field(
        default="error",
        metadata=_help(
            "An example with no generated text (empty list, or only blank texts): 'error' stops "
            "naming the line/row; 'miss' scores it as a miss (rank = number of groups).",
        ),
    )
    cache: bool = field(
        default=True,
        metadata=_help(
            "Without --embeddings: keep the item-title embeddings in --cache-dir, keyed by model "
            "and items.parquet sha256, so the next evaluation reuses them.",
        ),
    )
    cache_dir: Path | None = field(
        default=None,
        metadata=_help(
            f"Embedding cache folder (default: ${CACHE_ENV}, else ~/.cache/llmrec-eval)."
        ),
    )


# What `--preset bigrec` sets: BIGRec's evaluate.py grounds only the first text by L2 distance over
# the whole catalogue, and adjust_pda.py sweeps gamma over 0.00..0.99 by 0.01 then 1..99.
PRESETS: dict[str, dict[str, Any]] = {
    "bigrec": {
        "fusion": "first",
        "distance": "l2",
        "gamma_grid": "bigrec",
        "exclude_history": False,
    },
}


def _flag(name: str, value: Any) -> str:
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return f"--{flag}" if value else f"--no-{flag}"
    return f"--{flag} {value}"


def apply_preset(config: EvaluateConfig) -> EvaluateConfig:
    """The config with its preset's settings; a field set away from its default to another value fails."""
    if config.preset == "none":
        return config
    if config.preset not in PRESETS:
        raise InputError(
            f"--preset: expected one of none, {', '.join(PRESETS)}, got {config.preset!r}"
        )
    defaults = {f.name: f.default for f in fields(config)}
    for name, value in PRESETS[config.preset].items():
        current = getattr(config, name)
        if current != value and current != defaults[name]:
            raise InputError(
                f"--preset {config.preset} sets {_flag(name, value)}, but {_flag(name, current)} "
                "was given: drop one of them"
            )
    return replace(config, **PRESETS[config.preset])


@dataclass(kw_only=True)
class PopularityConfig(ExportOptions, RecentWindowOptions, MetricsOptions):
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
    exclude_history: bool = field(
        default=False, metadata=_help("Never recommend an item of the example's own history.")
    )
    valid_examples: Path | None = field(
        default=None,
        metadata=_help("--write-scores: also rank these examples (valid.jsonl) into DIR/valid/."),
    )


@dataclass(kw_only=True)
class ContentConfig(
    ExportOptions, RankFusionOptions, GammaOptions, RecentWindowOptions, MetricsOptions
):
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


@dataclass(kw_only=True)
class CatalogueConfig:
    """`llmrec-eval catalogue`: an items file (movies.dat, CSV, TSV) -> contract items.parquet."""

    items_file: Path = field(
        metadata=_help(
            "Raw items: MovieLens movies.dat (id::title::genres) or a CSV/TSV with a header."
        )
    )
    out: Path = field(metadata=_help("items.parquet to write (docs/contracts.md)."))
    format: Literal["auto", "dat", "csv", "tsv"] = field(
        default="auto", metadata=_help("Format of --items-file (auto: .dat, .tsv, else CSV).")
    )
    encoding: str = field(
        default="auto",
        metadata=_help(
            "Text encoding of --items-file: auto (UTF-8 if valid, else latin-1), or a codec "
            "such as utf-8 or latin-1. Use the reading the predictions saw: BIGRec's scripts "
            "read movies.dat as latin-1.",
        ),
    )
    id_column: str = field(
        default="movieId",
        metadata=_help("CSV/TSV: the item id column (also in a CSV/TSV --interactions)."),
    )
    title_column: str = field(default="title", metadata=_help("CSV/TSV: the title column."))
    extra_columns: str = field(
        default="",
        metadata=_help("CSV/TSV: more columns to keep as text, comma-separated (e.g. genres)."),
    )
    interactions: Path | None = field(
        default=None,
        metadata=_help(
            "Optional interactions (ratings.dat user::item::..., or CSV/TSV): popularity = "
            "the item's rows in it (else 0).",
        ),
    )
    interactions_format: Literal["auto", "dat", "csv", "tsv"] = field(
        default="auto", metadata=_help("Format of --interactions (auto: by suffix).")
    )


@dataclass(kw_only=True)
class ScoresConfig(MetricsOptions):
    """`llmrec-eval baseline scores`: rank by a ranking model's score file (docs/contracts.md)."""

    scores: Path = field(
        metadata=_help(
            "scores.parquet (example_id, item_id, score; higher = better) or the folder holding "
            "it, with scores.meta.json beside it. Items an example does not list rank last."
        )
    )
    examples: Path = field(
        metadata=_help("The examples file the scores answer (test.jsonl): targets and histories.")
    )
    items: Path = field(metadata=_help("items.parquet: the item catalogue."))
    subset: Path | None = field(
        default=None,
        metadata=_help(
            "Score only the examples whose example_id occurs in this JSONL (e.g. the LLM's "
            "predictions.jsonl), so that every row is scored on the same examples."
        ),
    )
    exclude_history: bool = field(
        default=False, metadata=_help("Never recommend an item of the example's own history.")
    )


@dataclass(kw_only=True)
class FuseConfig(ExportOptions, MetricsOptions):
    """`llmrec-eval fuse`: a weighted sum of several rankings' normalised scores, weights on valid."""

    source: list[str] = field(
        metadata=_help(
            "A score source, NAME=DIR (DIR/valid/ and DIR/test/, as `llmrec-train recommend --out` "
            "and `--write-scores` write them) or NAME=VALID,TEST (two scores.parquet files or their "
            "folders); repeat for each source."
        )
    )
    examples: Path = field(metadata=_help("test.jsonl: the examples ranked and scored."))
    valid_examples: Path = field(
        metadata=_help("valid.jsonl: the examples the weights are chosen on.")
    )
    items: Path = field(metadata=_help("items.parquet: the item catalogue."))
    subset: Path | None = field(
        default=None,
        metadata=_help(
            "Fuse only the test examples whose example_id occurs in this JSONL (e.g. the LLM's "
            "predictions.jsonl): every source must score each of them."
        ),
    )
    valid_subset: Path | None = field(
        default=None, metadata=_help("Like --subset, for --valid-examples.")
    )
    exclude_history: bool = field(
        default=False,
        metadata=_help("Never recommend an item of the example's own history (as the other rows)."),
    )
    normalise: Normalisation = field(
        default="rank",
        metadata=_help(
            "Per example and source: 'rank' 1 - r/N (r the item's 0-based rank in the source's "
            "list, N the source's longest list), 'rrf' 1/(k + r + 1), 'minmax' (s - min)/(max - min), "
            "'zscore' (s - mean)/std minus the lowest listed z. Unlisted items get 0, the floor."
        ),
    )
    normalise_source: list[str] | None = field(
        default=None,
        metadata=_help(
            "NAME=METHOD: this source normalised by METHOD instead of --normalise; repeat."
        ),
    )
    rrf_k: int = field(default=RRF_K, metadata=_help("--normalise rrf: the constant k."))
    search: Literal["auto", "grid", "coordinate"] = field(
        default="auto",
        metadata=_help(
            "Weight search on valid: 'grid' every weight vector on the simplex with --grid-step; "
            "'coordinate' coordinate ascent over a weight grid from several starts; 'auto': grid "
            "when it has at most --max-grid points, else coordinate."
        ),
    )
    grid_step: float = field(
        default=0.1, metadata=_help("--search grid: the step of each weight (1/step an integer).")
    )
    max_grid: int = field(
        default=2000,
        metadata=_help("--search auto: the most grid points before coordinate ascent."),
    )
    select_metric: str = field(
        default="ndcg@10", metadata=_help("Validation metric the weights maximise.")
    )
    ablate: list[str] | None = field(
        default=None,
        metadata=_help(
            "GROUP=NAME,NAME: also write the fusion without these sources as a row of its own "
            "(--out's sibling folder OUT-without-GROUP), weights searched on valid again; repeat."
        ),
    )
    cv_folds: int = field(
        default=5,
        metadata=_help(
            "Also estimate each row's validation metric out of fold: the validation examples in K "
            "seeded folds, weights searched on K-1 and scored on the held-out one. The in-sample "
            "figure is the best of many weight vectors on the same examples, so it flatters; the "
            "out-of-fold one does not, and the full fusion is compared with each ablation on it "
            "(paired bootstrap). 0: off (weights and test results are the same either way)."
        ),
    )
    cv_seed: int = field(default=0, metadata=_help("Seed of the folds and of their bootstrap."))


@dataclass(kw_only=True)
class ReportConfig:
    """`llmrec-eval table` / `plot`."""

    out: Path | None = field(
        default=None,
        metadata=_help("Write here (table: Markdown; plot: PNG). Table default: print only."),
    )
    ci: bool = field(default=False, metadata=_help("Table: add the 95% bootstrap intervals."))


@dataclass(kw_only=True)
class TableConfig(ReportConfig):
    """`llmrec-eval table`."""

    best_by: str = field(
        default="ndcg@10",
        metadata=_help(
            "Mark the best row by this metric and say whether it is significantly ahead of the "
            "runner-up (paired bootstrap 95% interval on the examples both scored, from the "
            "ranks.parquet beside each metrics.json); 'none': no marking."
        ),
    )
    bootstrap: int = field(default=1000, metadata=_help("Resamples of the paired bootstrap."))
    seed: int = field(default=0, metadata=_help("Seed of the paired bootstrap."))


@dataclass(kw_only=True)
class CompareConfig:
    """`llmrec-eval compare A B`."""

    out: Path | None = field(
        default=None, metadata=_help("Also write the Markdown table here (default: print only).")
    )
    ks: str | None = field(
        default=None,
        metadata=_help("Cut-offs K, comma-separated (default: those of A's metrics.json)."),
    )
    bootstrap: int = field(default=1000, metadata=_help("Resamples of the paired bootstrap."))
    seed: int = field(default=0, metadata=_help("Seed of the paired bootstrap."))


@dataclass
class ComparePairsConfig:
    """`llmrec-eval compare-pairs`."""

    pair: list[str] = field(
        metadata=_help(
            "A pair of eval folders, A,B (row A minus row B); repeat for each pair. "
            "Optionally LABEL=A,B to name it in the table; a label written 'NAME A - NAME B' is "
            "read as a sentence about the two rows, any other as the name of the difference."
        )
    )
    metric: str = field(
        default="ndcg@10,hr@10",
        metadata=_help("Metrics compared, comma-separated; the first one is read in sentences."),
    )
    out: Path | None = field(
        default=None, metadata=_help("Also write the Markdown here (default: print only).")
    )
    bootstrap: int = field(default=1000, metadata=_help("Resamples of the paired bootstrap."))
    seed: int = field(default=0, metadata=_help("Seed of the paired bootstrap."))


@dataclass(kw_only=True)
class RunReportConfig:
    """`llmrec-eval report`: a run's report.md from its folder of evaluated rows."""

    results: Path = field(
        metadata=_help(
            "Folder of evaluated rows: each subfolder with metrics.json and ranks.parquet, as "
            "evaluate, baseline and fuse write them (e.g. runs/<dataset>/<run>/eval)."
        )
    )
    out: Path = field(
        metadata=_help(
            "report.md to write; results.md, results_ci.md, metrics.png, samples.md and "
            "comparisons.md are written beside it."
        )
    )
    examples: Path | None = field(
        default=None,
        metadata=_help("Examples the rows were scored on (test.jsonl), for the samples section."),
    )
    items: Path | None = field(
        default=None, metadata=_help("items.parquet, for the samples section (with --examples).")
    )
    manifest: Path | None = field(
        default=None,
        metadata=_help(
            "A run manifest (invoke pipeline's manifest.json): the title's dataset, device, git "
            "commit, wall times and the stages table."
        ),
    )
    title: str | None = field(
        default=None,
        metadata=_help(
            "The report's title (default: 'llmrec run: <manifest dataset> / <folder of --out>')."
        ),
    )
    loss_plot: Path | None = field(
        default=None,
        metadata=_help(
            "A training loss plot (llmrec-train's loss.png) shown when the file exists."
        ),
    )
    pair: list[str] | None = field(
        default=None,
        metadata=_help(
            "Another paired comparison, A,B or LABEL=A,B (row names), beside the built-in "
            "questions (README); repeat."
        ),
    )
    best_by: str = field(
        default="ndcg@10",
        metadata=_help("Mark the best row by this metric ('none': no marking), as `table`."),
    )
    bootstrap: int = field(default=1000, metadata=_help("Resamples of the paired bootstraps."))
    seed: int = field(default=0, metadata=_help("Seed of the paired bootstraps."))


@dataclass(kw_only=True)
class CompareRunsConfig:
    """`llmrec-eval compare-runs`: several reported runs side by side."""

    run: list[Path] = field(
        metadata=_help(
            "A run folder with manifest.json and the results.md `report` wrote; repeat (two or more)."
        )
    )
    out: Path = field(metadata=_help("Markdown file to write."))


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


def check_outputs(config: Any) -> None:
    """Fail before any work if an output path cannot be written (`out` of metrics commands is a folder)."""
    if isinstance(config, MetricsOptions):
        check_writable(config.out, folder=True)
        return
    for name in ("out", "metrics_out"):
        path = getattr(config, name, None)
        if path is not None:
            check_writable(path, folder=False)


def add_command(
    app: typer.Typer,
    name: str,
    config_cls: type,
    run: Callable[..., Any],
    extra: list[inspect.Parameter] | None = None,
    help: str | None = None,
) -> None:
    """Register `run(config_cls(**flags), **extras)` as `name`: one --flag per dataclass field (help
    from metadata) and `--config FILE`, through llmrec-cli's adapter. InputError -> one line, exit 2;
    Ctrl-C -> exit 130; anything else is a bug and keeps its traceback."""
    command = command_from_config(
        config_cls,
        run,
        error=InputError,
        extra=extra or (),
        validate=check_outputs,
        interrupted="no output was half-written; run the command again",
    )
    command.__doc__ = help or (config_cls.__doc__ or "").strip()
    app.command(name)(command)
