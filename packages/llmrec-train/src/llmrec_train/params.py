"""Trainable-parameter counts of LoRA on a model, as BIGRec's parameter table reports them.

Counted by peft (`PeftModel.get_nb_trainable_parameters`) on the real PEFT model, built from the model's
config on the `meta` device: every parameter has its real shape but no memory, so a 7B model is counted
in seconds from its config.json alone, without loading (or downloading) its weights.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from llmrec_train._io import atomic_write_text
from llmrec_train.config import ParamsConfig
from llmrec_train.models import lora_config, resolve_model


@dataclass(frozen=True)
class ParamCount:
    model: str
    trainable: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.trainable / self.total


def count_lora_parameters(model: str, *, r: int, target_modules: list[str]) -> ParamCount:
    """peft's trainable and total parameter counts of LoRA (rank `r` on `target_modules`) on `model`."""
    path = resolve_model(model)  # a missing model fails here, before the slow imports
    import torch
    from peft import get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(path)
    with torch.device("meta"):
        base = AutoModelForCausalLM.from_config(config)
        peft_model = get_peft_model(
            base, lora_config(base, r=r, alpha=2 * r, dropout=0.0, target_modules=target_modules)
        )
    trainable, total = peft_model.get_nb_trainable_parameters()
    return ParamCount(model, int(trainable), int(total))


def params_table(counts: list[ParamCount]) -> str:
    """`Model | Trainable | Total | %` as Markdown (the percentage with 4 decimals, as BIGRec's table)."""
    lines = ["| Model | Trainable | Total | % |", "|---|---:|---:|---:|"]
    lines += [f"| {c.model} | {c.trainable:,} | {c.total:,} | {c.percent:.4f}% |" for c in counts]
    return "\n".join(lines) + "\n"


def params(config: ParamsConfig) -> str:
    """The table for every model of `config`, written to `config.out` too when given."""
    counts = [
        replace(
            count_lora_parameters(m, r=config.lora_r, target_modules=config.target_modules),
            model=name,
        )
        for m, name in zip(config.models, config.model_names, strict=True)
    ]
    table = params_table(counts)
    if config.out is not None:
        atomic_write_text(Path(config.out), table)
    return table.rstrip("\n")
