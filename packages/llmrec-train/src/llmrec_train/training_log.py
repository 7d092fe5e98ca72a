"""The training log: loss per step and per epoch as JSON and CSV data, and a PNG plot of the curves."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from llmrec_train._io import atomic_write_json, atomic_write_text


class LossRecorder(TrainerCallback):
    """Collects the Trainer's logs: training loss per logged step, validation loss per epoch."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        if "loss" in logs:
            self.steps.append(
                {
                    "step": state.global_step,
                    "epoch": round(float(state.epoch or 0.0), 4),
                    "loss": float(logs["loss"]),
                    "learning_rate": float(logs.get("learning_rate", float("nan"))),
                    "grad_norm": float(logs.get("grad_norm", float("nan"))),
                }
            )
        if "eval_loss" in logs:
            self.evals.append(
                {
                    "step": state.global_step,
                    "epoch": round(float(state.epoch or 0.0), 4),
                    "eval_loss": float(logs["eval_loss"]),
                }
            )

    def epochs(self) -> list[dict[str, Any]]:
        """One row per (possibly partial) epoch: mean training loss over its steps, and its validation loss."""
        rows: dict[int, dict[str, Any]] = {}
        for s in self.steps:
            # A step logged at epoch 1.0 closes epoch 1.
            e = max(1, int(-(-s["epoch"] // 1)))
            row = rows.setdefault(
                e, {"epoch": e, "train_loss": 0.0, "n_steps": 0, "eval_loss": None}
            )
            row["train_loss"] += s["loss"]
            row["n_steps"] += 1
        for row in rows.values():
            row["train_loss"] /= row["n_steps"]
        for ev in self.evals:
            e = max(1, round(ev["epoch"]))
            rows.setdefault(e, {"epoch": e, "train_loss": None, "n_steps": 0, "eval_loss": None})
            rows[e]["eval_loss"] = ev["eval_loss"]
        return [rows[k] for k in sorted(rows)]

    def write(self, folder: Path) -> None:
        epochs = self.epochs()
        atomic_write_json(folder / "training_log.json", {"steps": self.steps, "epochs": epochs})
        atomic_write_text(
            folder / "loss_steps.csv",
            _csv(self.steps, ["step", "epoch", "loss", "learning_rate", "grad_norm"]),
        )
        atomic_write_text(
            folder / "loss_epochs.csv",
            _csv(epochs, ["epoch", "train_loss", "eval_loss", "n_steps"]),
        )
        plot_losses(self.steps, self.evals, folder / "loss.png")


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def plot_losses(steps: list[dict[str, Any]], evals: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if steps:
        ax.plot(
            [s["step"] for s in steps],
            [s["loss"] for s in steps],
            label="training loss (per step)",
            lw=1,
        )
    if evals:
        ax.plot(
            [e["step"] for e in evals],
            [e["eval_loss"] for e in evals],
            "o-",
            label="validation loss (per epoch)",
        )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (mean token NLL)")
    ax.set_title("llmrec-train SFT")
    ax.grid(alpha=0.3)
    if steps or evals:
        ax.legend(loc="upper right")  # not "best": its search is slow on a busy CPU (and warns)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
