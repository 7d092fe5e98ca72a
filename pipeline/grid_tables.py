"""The grid's results as BIGRec publishes them: one Markdown table `Model | Sample | Epoch | Prompt |
NG@1 ... NG@50 | HR@1 ... HR@50`, and NDCG@10 against epoch, one line per (model, prompt).

Rows are plain dicts (one per grid cell, see `pipeline.grid.Cell.row`): model, sample, epoch (0 for a
zero-shot row, which has no training), prompt (`Enhanced+basic`), preset, and the cell's metrics
(`ndcg@K`, `hr@K`, as in metrics.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.runs import write_text

KS = (1, 3, 5, 10, 20, 50)
"""The cut-offs of the published tables (llmrec-eval's default `--ks`)."""


def _metric(row: dict[str, Any], key: str) -> str:
    value = row["metrics"].get(key)
    return "" if value is None else f"{value:.4f}"


def grid_table(rows: list[dict[str, Any]]) -> str:
    """The published layout. A `Decoding` column is added only when the rows were decoded in more
    than one way (otherwise the one preset is named above the table by the caller)."""
    presets = list(dict.fromkeys(r["preset"] for r in rows))
    decoding = len(presets) > 1
    head = ["Model", "Sample", "Epoch", "Prompt", *(["Decoding"] if decoding else [])]
    head += [f"NG@{k}" for k in KS] + [f"HR@{k}" for k in KS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 4 + "---|" * decoding]
    lines[1] += "---:|" * (2 * len(KS))
    for row in rows:
        cells = [row["model"], str(row["sample"]), str(row["epoch"])]
        cells += [row["prompt"], *([row["preset"]] if decoding else [])]
        cells += [_metric(row, f"ndcg@{k}") for k in KS] + [_metric(row, f"hr@{k}") for k in KS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _line_label(row: dict[str, Any], samples: int, presets: int) -> str:
    parts = [row["model"]]
    if samples > 1:
        parts.append(f"n={row['sample']}")
    parts.append(row["prompt"])
    if presets > 1:
        parts.append(row["preset"])
    return " ".join(parts)


def plot_ndcg_by_epoch(rows: list[dict[str, Any]], path: Path) -> list[str]:
    """NDCG@10 against epoch: one line per (model, prompt) (and sample size or preset when the grid
    has several); a zero-shot row is a dotted horizontal line across the epochs. Returns the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trained = [r for r in rows if r["sample"] > 0]
    samples = len({r["sample"] for r in trained})
    presets = len({r["preset"] for r in rows})
    epochs = sorted({r["epoch"] for r in trained}) or [1]
    lines: dict[str, list[tuple[int, float]]] = {}
    for row in trained:
        lines.setdefault(_line_label(row, samples, presets), []).append(
            (row["epoch"], row["metrics"]["ndcg@10"])
        )
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, points) in enumerate(lines.items()):
        xs, ys = zip(*sorted(points), strict=True)
        ax.plot(xs, ys, marker="o", color=f"C{i % 10}", label=label)
    zero_shot = [r for r in rows if r["sample"] == 0]
    for i, row in enumerate(zero_shot, len(lines)):
        label = _line_label(row, 1, presets) + " (zero-shot)"
        y, color = row["metrics"]["ndcg@10"], f"C{i % 10}"
        ax.hlines(y, epochs[0], epochs[-1], colors=color, linestyles=":", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("NDCG@10")
    ax.set_xticks(epochs)
    ax.grid(alpha=0.3)
    # A fixed corner: matplotlib's 'best' placement warns when it is slow (a busy CPU).
    legend = ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return [text.get_text() for text in legend.get_texts()]


def write_grid_tables(rows: list[dict[str, Any]], folder: Path, heading: str) -> list[Path]:
    """grid.md (a heading paragraph, then the table) and ndcg10_by_epoch.png in `folder`."""
    table, plot = folder / "grid.md", folder / "ndcg10_by_epoch.png"
    write_text(table, f"{heading}\n\n{grid_table(rows)}")
    plot_ndcg_by_epoch(rows, plot)
    return [table, plot]
