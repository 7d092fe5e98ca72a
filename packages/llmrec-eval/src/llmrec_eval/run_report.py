"""`llmrec-eval report` and `compare-runs`: a run's report.md from its folder of evaluated rows, and
several runs side by side.

The report reads only files: row folders (`metrics.json` + `ranks.parquet`, as `evaluate`,
`baseline` and `fuse` write them under one folder), optionally the examples and catalogue for
samples and a run manifest (`invoke pipeline`'s manifest.json: device, commit, stage wall times).
Beside report.md it writes the parts it is made of: results.md, results_ci.md, metrics.png,
samples.md and comparisons.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmrec_eval._errors import InputError
from llmrec_eval._io import write_text
from llmrec_eval.compare import Comparison, compare, find_leader, pairs_markdown
from llmrec_eval.report import load_metrics, markdown_table, plot_metrics
from llmrec_eval.samples import samples_markdown

# Rows of the results table in this order (by name prefix; other rows after them, by name): the
# names `invoke pipeline` gives its rows, LLM rows first.
ROW_ORDER = (
    "fusion",
    "llm-lora+",
    "llm-lora",
    "llm-base",
    "sasrec",
    "transition",
    "content",
    "recent-popular",
    "most-popular",
)

# The questions a results table is read for, as (label, row A, row B): asked when both rows exist.
QUESTIONS = (
    ("fusion - fusion without the LLM", "fusion", "fusion-without-llm"),
    ("fusion - fusion without SASRec and transitions", "fusion", "fusion-without-collab"),
    ("LLM + SASRec (BIGRec) - SASRec", "llm-lora+sasrec", "sasrec"),
    ("LLM LoRA on - LoRA off", "llm-lora", "llm-base"),
    ("LLM ranker LoRA on - LoRA off", "rank-lora", "rank-base"),
)
# The best LLM row (by NDCG@10) is also compared with these rows.
BEST_LLM_AGAINST = ("sasrec", "content")
PAIR_METRICS = ("ndcg@10", "hr@10")


def _is_llm_row(name: str) -> bool:
    return name.startswith(("llm-", "rank-")) or name == "fusion"


def find_rows(results: Path) -> list[Path]:
    """The row folders under `results` (each holding metrics.json), in the table's order."""
    results = Path(results)
    if not results.is_dir():
        raise InputError(f"{results}: results folder not found (a folder of row folders)")

    def order(p: Path) -> tuple[int, str]:
        first = (i for i, prefix in enumerate(ROW_ORDER) if p.name.startswith(prefix))
        return next(first, len(ROW_ORDER)), p.name

    rows = sorted((p.parent for p in results.glob("*/metrics.json")), key=order)
    if not rows:
        raise InputError(
            f"{results}: no evaluated rows (no <row>/metrics.json inside): run "
            "`llmrec-eval evaluate`/`baseline`/`fuse` with --out under it first"
        )
    return rows


def comparison_pairs(
    rows: Sequence[Path], extra: Sequence[tuple[str, str, str]] = ()
) -> list[tuple[str, Path, Path]]:
    """(label, row A, row B) of the questions whose rows exist: does the LLM add to the fusion, does
    LoRA help, is the best LLM row ahead of the strongest no-LLM rows? Then `extra` (label, A, B
    by row name)."""
    have = {p.name: p for p in rows}
    ndcg10 = {name: load_metrics(p)["metrics"].get("ndcg@10", 0.0) for name, p in have.items()}
    best_llm = max((n for n in have if _is_llm_row(n)), key=ndcg10.__getitem__, default=None)
    wanted = list(QUESTIONS)
    if best_llm is not None:
        wanted += [
            (f"best LLM row ({best_llm}) - {other}", best_llm, other) for other in BEST_LLM_AGAINST
        ]
    for label, a, b in extra:
        unknown = [n for n in (a, b) if n not in have]
        if unknown:
            raise InputError(
                f"--pair {label}={a},{b}: no row {unknown[0]!r} (rows: {', '.join(have)})"
            )
        wanted.append((label, a, b))
    return [(label, have[a], have[b]) for label, a, b in wanted if a in have and b in have]


def parse_pair(spec: str) -> tuple[str, str, str]:
    """`LABEL=A,B` or `A,B` (row names) -> (label, A, B); the label defaults to `A - B`."""
    label, eq, names = spec.rpartition("=") if "=" in spec else ("", "", spec)
    a, comma, b = names.partition(",")
    if not comma or not a or not b or (eq and not label):
        raise InputError(f"--pair {spec!r}: expected A,B or LABEL=A,B (two row names)")
    return label or f"{a} - {b}", a, b


@dataclass
class RunReport:
    """What `write_report` computed and wrote: every part as Markdown, and the files."""

    rows: list[Path]
    results: str  # the table, best row marked, with the sentence on the runner-up
    results_ci: str  # the table with 95% intervals
    comparisons: list[tuple[str, Comparison]] = field(default_factory=list)
    samples: str | None = None
    files: dict[str, Path] = field(default_factory=dict)  # part -> path written


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()


def write_report(
    results: Path,
    out: Path,
    *,
    examples: Path | None = None,
    items: Path | None = None,
    manifest: Path | None = None,
    title: str | None = None,
    loss_plot: Path | None = None,
    pairs: Sequence[str] = (),
    best_by: str = "ndcg@10",
    bootstrap: int = 1000,
    seed: int = 0,
) -> RunReport:
    """report.md at `out`, and beside it results.md, results_ci.md, metrics.png, samples.md (with
    `examples` and `items`) and comparisons.md (when a pair exists).

    Every input is read and every number computed before the first file is written."""
    out = Path(out)
    folder = out.parent
    rows = find_rows(results)
    if (examples is None) != (items is None):
        raise InputError("--examples and --items go together (the samples need both)")
    run_manifest = _read_manifest(manifest) if manifest is not None else None
    runs = [load_metrics(p) for p in rows]
    files = [p / "metrics.json" for p in rows]
    leader = None
    if best_by != "none":
        leader = find_leader(runs, files, best_by, n_resamples=bootstrap, seed=seed)
    report = RunReport(
        rows=rows,
        results=markdown_table(runs, leader=leader),
        # the best-row line is in results.md already: once in report.md
        results_ci=markdown_table(runs, ci=True),
    )
    ks = sorted({int(m.partition("@")[2]) for m in PAIR_METRICS})
    for label, a, b in comparison_pairs(rows, [parse_pair(p) for p in pairs]):
        cmp = compare(a, b, ks=ks, metrics=list(PAIR_METRICS), n_resamples=bootstrap, seed=seed)
        report.comparisons.append((label, cmp))
    if examples is not None and items is not None:
        report.samples = samples_markdown(examples, items, {p.name: p for p in rows})

    parts = {
        "results": (folder / "results.md", report.results),
        "results_ci": (folder / "results_ci.md", report.results_ci),
    }
    if report.comparisons:
        text = pairs_markdown(report.comparisons, list(PAIR_METRICS))
        parts["comparisons"] = (folder / "comparisons.md", text)
    if report.samples is not None:
        parts["samples"] = (folder / "samples.md", report.samples)
    for name, (path, text) in parts.items():
        report.files[name] = write_text(path, text)
    report.files["plot"] = plot_metrics(runs, folder / "metrics.png")
    body = _assemble(
        report,
        parts,
        run_manifest,
        title or _default_title(run_manifest, folder, Path(results)),
        loss_plot if loss_plot is not None and Path(loss_plot).is_file() else None,
        folder,
        manifest,
    )
    report.files["report"] = write_text(out, body)
    return report


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: run manifest not found") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object (a run manifest)")
    return data


def _default_title(manifest: dict[str, Any] | None, folder: Path, results: Path) -> str:
    if manifest is not None and manifest.get("dataset"):
        return f"llmrec run: {manifest['dataset']} / {folder.resolve().name}"
    return f"llmrec evaluation: {results}"


def _assemble(
    report: RunReport,
    parts: dict[str, tuple[Path, str]],
    manifest: dict[str, Any] | None,
    title: str,
    loss_plot: Path | None,
    folder: Path,
    manifest_path: Path | None,
) -> str:
    lines = [f"# {title}", ""]
    if manifest is not None:
        lines += [
            f"Device {manifest.get('device')}, git commit {manifest.get('git_commit')}, "
            f"total wall time {manifest.get('wall_time_s', '?')} s (each stage's last real run; "
            f"the last invocation took {manifest.get('invocation_wall_time_s', '?')} s).",
            "",
        ]
    lines += [
        "## Results (test split, full ranking)",
        "",
        report.results,
        "With 95% bootstrap intervals:",
        "",
        report.results_ci,
        "![NDCG@K and HR@K](metrics.png)",
        "",
    ]
    if "comparisons" in parts:
        lines += ["## Paired comparisons", "", parts["comparisons"][1]]
    if loss_plot is not None:
        lines += ["## Training", "", f"![training and validation loss]({_rel(loss_plot, folder)})"]
        lines += [""]
    if report.samples is not None:
        names = {p.name for p in report.rows}
        lora = " (LoRA on vs off)" if {"llm-lora", "llm-base"} <= names else ""
        lines += [f"## Samples: history, target, and what each run ranked{lora}", ""]
        lines += [report.samples]
    if manifest is not None:
        stages = manifest.get("stages", {})
        lines += [
            "## Stages",
            "",
            "| stage | wall time (s) |",
            "|---|---:|",
            *(f"| {name} | {info.get('wall_time_s')} |" for name, info in stages.items()),
            "",
            f"Settings: `{_rel(manifest_path, folder) if manifest_path else 'manifest.json'}`.",
            "",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- several runs


def _flatten(config: dict[str, Any]) -> dict[str, Any]:
    """`{stage: {option: value}}` -> `{"stage.option": value}` (other values kept as they are)."""
    out: dict[str, Any] = {}
    for stage, opts in config.items():
        if isinstance(opts, dict):
            out.update({f"{stage}.{k}": v for k, v in opts.items()})
        else:
            out[stage] = opts
    return out


def compare_runs(runs: Sequence[Path], out: Path) -> str:
    """`out` (Markdown): the resolved settings that differ between runs (each run folder's
    manifest.json `config`), then each run's results.md (as `write_report` writes it)."""
    folders = [Path(r) for r in runs]
    if len(folders) < 2:
        raise InputError("compare-runs needs at least two run folders")
    manifests, tables = [], []
    for f in folders:
        manifests.append(_read_manifest(f / "manifest.json"))
        results = f / "results.md"
        if not results.is_file():
            raise InputError(f"{results}: not found (write the run's report first)")
        tables.append(results.read_text(encoding="utf-8"))
    configs = [_flatten(m.get("config", {})) for m in manifests]
    keys = sorted({k for cfg in configs for k in cfg})
    differing = [k for k in keys if len({json.dumps(cfg.get(k)) for cfg in configs}) > 1]
    names = [f.resolve().name for f in folders]
    datasets = sorted({str(m["dataset"]) for m in manifests if m.get("dataset")})
    what = f"{', '.join(datasets)}, runs" if datasets else "runs"
    lines = [f"# llmrec comparison: {what} {', '.join(names)}", ""]
    lines += ["## Settings that differ", ""]
    if differing:
        lines += ["| setting | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        lines += [
            f"| {k} | " + " | ".join(f"`{cfg.get(k)}`" for cfg in configs) + " |" for k in differing
        ]
    else:
        lines += ["(none: same resolved config)"]
    out = Path(out)
    for folder, name, manifest, table in zip(folders, names, manifests, tables, strict=True):
        link = _rel(folder / "report.md", out.parent)
        lines += ["", f"## {name} ([report]({link}))", ""]
        lines += [
            f"git commit {manifest.get('git_commit')}, wall time {manifest.get('wall_time_s', '?')} s.",
            "",
        ]
        lines += [table]
    text = "\n".join(lines)
    write_text(out, text)
    return text
