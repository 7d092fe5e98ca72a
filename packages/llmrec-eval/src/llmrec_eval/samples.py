"""Side-by-side samples for reports: a user's history, the target, and what each run ranked."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

from llmrec_eval._io import write_text
from llmrec_eval.readers import InputError, _read_jsonl, read_items


def _quote(title: str) -> str:
    return '"' + title.replace("|", "\\|") + '"'


def _cell(text: str, limit: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def samples_markdown(
    examples: Path,
    items: Path,
    runs: dict[str, Path],
    *,
    n: int = 8,
    seed: int = 0,
    history: int = 5,
    top: int = 3,
) -> str:
    """Markdown: for `n` seeded examples, the last `history` titles, the target, and per run its
    first generated text (if any), its top-`top` items and the target's rank.

    `runs` maps a run name to an `llmrec-eval evaluate`/`baseline` output folder (its ranks.parquet).
    """
    catalogue = read_items(items)
    rows = {obj["example_id"]: obj for _, obj in _read_jsonl(Path(examples))}
    ranked: dict[str, dict[str, dict]] = {}
    for name, folder in runs.items():
        path = Path(folder) / "ranks.parquet"
        if not path.is_file():
            raise InputError(f"{path}: ranks file not found (run `llmrec-eval evaluate` first)")
        ranked[name] = {r["example_id"]: r for r in pl.read_parquet(path).iter_rows(named=True)}
    shared = sorted(set(rows).intersection(*(set(r) for r in ranked.values())))
    if not shared:
        raise InputError(f"{examples}: no example_id is ranked by every run")
    chosen = sorted(random.Random(seed).sample(shared, min(n, len(shared))))

    out: list[str] = []
    for example_id in chosen:
        ex = rows[example_id]
        titles = ex.get("history_titles") or []
        shown = ", ".join(_quote(t) for t in titles[-history:])
        more = f" (last {history} of {len(titles)})" if len(titles) > history else ""
        out += [
            f"#### {example_id} (user {ex.get('user_id', '?')})",
            "",
            f"History{more}: {shown}",
            "",
            f"Target: {_quote(str(ex.get('target_title')))}",
            "",
            "| run | generated (first text) | top items | target rank |",
            "|---|---|---|---:|",
        ]
        for name, by_id in ranked.items():
            r = by_id[example_id]
            generated = r.get("first_prediction")
            tops = ", ".join(_quote(catalogue.titles[i]) for i in (r["top_item_ids"] or [])[:top])
            cell = "" if generated is None else _cell(generated)
            out.append(f"| {name} | {cell} | {_cell(tops, 160)} | {r['rank'] + 1} |")
        out.append("")
    return "\n".join(out)


def write_samples(out: Path, text: str) -> Path:
    return write_text(Path(out), text)
