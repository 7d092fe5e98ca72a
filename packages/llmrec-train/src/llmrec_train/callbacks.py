"""The Trainer callbacks that save adapters and checkpoints during training (`train` adds them).

A module of its own because it needs transformers at import time (the classes subclass TrainerCallback),
which `train.py` imports only once the inputs are checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from llmrec_train.train import save_adapter_folder


class SaveEpochAdapters(TrainerCallback):
    """At the end of every complete epoch, save the adapter as it is then into `folder/epoch-N`, with
    the resolved config `generate` reads: one run yields every epoch's adapter (BIGRec's per-epoch rows)
    instead of one training per epoch count. A partial last epoch (--max-steps, early stop mid-epoch)
    is not kept. On resume, the epochs saved before the interruption stay."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder = folder
        self.meta = meta

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        epoch = round(state.epoch or 0)
        complete = epoch >= 1 and abs((state.epoch or 0) - epoch) < 1e-6
        if complete and state.is_world_process_zero and model is not None:
            meta = {**self.meta, "epoch": epoch, "global_step": state.global_step}
            save_adapter_folder(model, self.folder / f"epoch-{epoch}", meta)
        return control


class SaveEveryNSteps(TrainerCallback):
    """Save a checkpoint every `n` optimizer steps, besides the per-epoch saves (which evaluation and
    best-model selection need): an interrupted long epoch resumes near where it stopped."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_step_end(self, args, state, control, **kwargs):
        if self.n > 0 and state.global_step % self.n == 0:
            control.should_save = True
        return control
