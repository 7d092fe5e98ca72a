"""Reports over metrics.json files: BIGRec-layout Markdown table and an NDCG@K / HR@K plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmrec_eval._errors import InputError
from llmrec_eval._io import atomic_write, write_text
from llmrec_eval.compare import Leader, leader_sentence


def load_metrics(path: Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: metrics file not found") from exc
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise InputError(f"{path}: not an llmrec-eval metrics.json (no 'metrics' object)")
    data.setdefault("name", path.parent.name)
    return data


def _ks(runs: list[dict[str, Any]]) -> list[int]:
    ks: set[int] = set()
    for run in runs:
        ks.update(int(name.split("@")[1]) for name in run["metrics"] if name.startswith("hr@"))
    return sorted(ks)


def run_label(run: dict[str, Any]) -> str:
    """A row's name in tables, with its re-weighting gamma when it has one."""
    label = str(run["name"])
    gamma = (run.get("reweighting") or {}).get("gamma")
    return label if gamma is None else f"{label} (gamma={gamma:g})"


def markdown_table(
    runs: list[dict[str, Any]],
    *,
    ci: bool = False,
    digits: int = 4,
    leader: Leader | None = None,
) -> str:
    """One row per run, columns NG@K ... then HR@K ... (BIGRec's layout). With `leader`
    (`compare.find_leader`), the best row is marked and a line under the table says whether it is
    significantly ahead of the runner-up."""
    ks = _ks(runs)
    cols = [f"NG@{k}" for k in ks] + [f"HR@{k}" for k in ks]
    keys = [f"ndcg@{k}" for k in ks] + [f"hr@{k}" for k in ks]
    lines = ["| run | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    labels = [run_label(run) for run in runs]
    for i, run in enumerate(runs):
        cells = []
        for key in keys:
            v = run["metrics"].get(key)
            cell = "" if v is None else f"{v:.{digits}f}"
            if ci and v is not None and key in run.get("ci95", {}):
                lo, hi = run["ci95"][key]
                cell += f" ({lo:.{digits}f}-{hi:.{digits}f})"
            cells.append(cell)
        label = labels[i]
        if leader is not None and leader.best == i:
            label += " **(best, significant)**" if leader.significant else " **(best)**"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if leader is not None:
        lines += ["", leader_sentence(leader, labels, digits)]
    return "\n".join(lines) + "\n"


def plot_metrics(runs: list[dict[str, Any]], out: Path) -> Path:
    """PNG with NDCG@K (left) and HR@K (right) against K, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = _ks(runs)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, prefix, label in ((axes[0], "ndcg", "NDCG@K"), (axes[1], "hr", "HR@K")):
        for run in runs:
            xs = [k for k in ks if f"{prefix}@{k}" in run["metrics"]]
            ax.plot(
                xs,
                [run["metrics"][f"{prefix}@{k}"] for k in xs],
                marker="o",
                label=str(run["name"]),
            )
        ax.set_xscale("log")
        ax.set_xticks(ks)
        ax.set_xticklabels([str(k) for k in ks])
        ax.set_xlabel("K")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    # a fixed corner: "best" searches every placement, slow on a busy CPU (and warns)
    axes[1].legend(fontsize="small", loc="upper left")
    atomic_write(Path(out), lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
    return Path(out)


def write_table(
    runs: list[dict[str, Any]], out: Path, *, ci: bool = False, leader: Leader | None = None
) -> Path:
    return write_text(Path(out), markdown_table(runs, ci=ci, leader=leader))
