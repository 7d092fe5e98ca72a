"""`evaluate` over a folder of result files (BIGRec's `evaluate.py --input_dir`): one call, one
embedding model and one item-embedding matrix, one output folder per input and a combined table."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from llmrec_eval._errors import InputError
from llmrec_eval._io import write_json, write_manifest, write_text
from llmrec_eval.compare import find_leader
from llmrec_eval.config import EvaluateConfig, config_dict
from llmrec_eval.evaluate import (
    _check_predictions,
    _check_settings,
    _embeddings_or_embed,
    _grade,
    _text_embeddings,
)
from llmrec_eval.readers import read_items
from llmrec_eval.report import markdown_table, plot_metrics, run_label
from llmrec_eval.result import write_row

WHAT = (
    "llmrec predictions.jsonl (or NAME.predictions.jsonl) files, or BIGRec result files "
    "(*.json holding a JSON list)"
)


def _is_json_list(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read(4096).lstrip().startswith("[")


def _row_name(rel: Path) -> str:
    """`run-a/predictions.jsonl` -> `run-a`; `x.predictions.jsonl` -> `x`; `sub/x.json` -> `sub/x`."""
    if rel.name == "predictions.jsonl" and rel.parent != Path("."):
        return rel.parent.as_posix()
    name = rel.name
    for suffix in (".predictions.jsonl", ".jsonl", ".json"):
        if name.endswith(suffix) and name != suffix:
            name = name.removesuffix(suffix)
            break
    return (rel.parent / name).as_posix()


def find_result_files(folder: Path, *, skip: Path | None = None) -> list[tuple[str, Path]]:
    """(row name, path) of every result file under `folder`, sorted by path.

    Result files: `predictions.jsonl` / `*.predictions.jsonl` (llmrec) and `*.json` files holding a
    JSON list (BIGRec). Sidecars (`*.meta.json`), hidden files and anything under `skip` (the output
    folder) are left out; other `.json` files (e.g. a previous run's metrics.json) are named in a note."""
    folder = Path(folder)
    skip = skip.resolve() if skip is not None else None
    found: list[tuple[str, Path]] = []
    ignored: list[str] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if skip is not None and path.resolve().is_relative_to(skip):
            continue
        name = path.name
        if name == "predictions.jsonl" or name.endswith(".predictions.jsonl"):
            found.append((_row_name(rel), path))
        elif name.endswith(".json") and not name.endswith(".meta.json"):
            if _is_json_list(path):
                found.append((_row_name(rel), path))
            else:
                ignored.append(rel.as_posix())
    if ignored:
        print(
            f"note: {folder}: {len(ignored)} .json file(s) are not result lists, not evaluated: "
            + ", ".join(ignored[:5])
            + (" ..." if len(ignored) > 5 else ""),
            file=sys.stderr,
        )
    if not found:
        raise InputError(f"{folder}: no result files in this folder (looked for {WHAT})")
    names: dict[str, Path] = {}
    for name, path in found:
        if name in names:
            raise InputError(
                f"{folder}: {names[name]} and {path} would both be row {name!r}: rename one"
            )
        names[name] = path
    return found


def evaluate_folder(config: EvaluateConfig) -> list[dict[str, Any]]:
    """Evaluate every result file under `config.predictions` (a folder) with the same settings.

    Writes `out/<row name>/` (metrics.json, ranks.parquet, ... as `evaluate`) per file, then
    `out/table.md` (one row per file, the best row marked by NDCG@10 with a paired comparison),
    `out/table.json`, `out/metrics.png` and `out/manifest.json`. Every file is read and checked
    before anything is embedded or written."""
    started = time.time()
    if config.name is not None:
        raise InputError(
            "--name names one run; with a folder of results the rows are named by path"
        )
    config = _check_settings(config)
    if config.write_scores is not None:
        raise InputError(
            "--write-scores takes one predictions file, not a folder: evaluate the file "
            "whose ranking you want as scores on its own"
        )
    folder, out = Path(config.predictions), Path(config.out)
    if out.resolve() == folder.resolve():
        raise InputError(f"--out {out}: is the folder of result files; write to another folder")
    files = find_result_files(folder, skip=out)
    catalogue = read_items(config.items)
    checked = []
    for name, path in files:
        file_config = replace(config, predictions=path, out=out / name, name=name)
        try:
            checked.append(_check_predictions(file_config, catalogue))
        except InputError as err:
            if str(path) in str(err):
                raise
            raise InputError(f"{path}: {err}") from err
    embeddings, source = _embeddings_or_embed(config, catalogue)
    texts = _text_embeddings(config, embeddings)
    results = []
    for i, item in enumerate(checked, 1):
        print(f"[{i}/{len(checked)}] {item.config.predictions}", file=sys.stderr)
        results.append(
            write_row(
                _grade(item, catalogue, embeddings, source, time.time(), text_embeddings=texts)
            )
        )
    metrics_files = [out / name / "metrics.json" for name, _ in files]
    leader = None
    if config.bootstrap:
        leader = find_leader(
            results, metrics_files, "ndcg@10", n_resamples=config.bootstrap, seed=config.seed
        )
    write_text(out / "table.md", markdown_table(results, leader=leader))
    rows = [
        {
            "name": result["name"],
            "label": run_label(result),
            "predictions": str(path),
            "metrics_file": (Path(name) / "metrics.json").as_posix(),
            "n_examples": result["n_examples"],
            "metrics": result["metrics"],
            "ci95": result["ci95"],
        }
        for result, (name, path) in zip(results, files, strict=True)
    ]
    best = None
    if leader is not None:
        d = leader.difference
        best = {
            "metric": leader.metric,
            "best": rows[leader.best]["name"],
            "runner_up": None if leader.runner_up is None else rows[leader.runner_up]["name"],
            "difference": None if d is None else d.diff,
            "ci95": None if d is None else list(d.ci),
            "significant": leader.significant,
            "note": leader.note,
        }
    write_json(out / "table.json", {"folder": str(folder), "rows": rows, "best": best})
    if config.plot:
        plot_metrics(results, out / "metrics.png")
    write_manifest(
        out,
        command="evaluate (folder)",
        config=config_dict(config),
        inputs=[p for p in (config.items, config.embeddings, config.text_embeddings) if p]
        + [path for _, path in files],
        started=started,
    )
    return results
