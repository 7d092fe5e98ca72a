"""The SFT speed lever `lm_head_on_labels_only`: the same loss and gradients with less work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llmrec_train.config import TrainConfig
from llmrec_train.train import training_key

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def test_the_lever_is_not_part_of_the_training_key(tmp_path: Path):
    """It changes how the loss is computed, not what is learned: a checkpoint made with it on resumes
    with it off (the resume check compares training keys)."""
    train_file = tmp_path / "train.jsonl"
    train_file.write_text("{}\n", encoding="utf-8")
    on, off = (
        TrainConfig(train_file=train_file, output_dir=tmp_path / "out", lm_head_on_labels_only=flag)
        for flag in (True, False)
    )
    assert training_key(on, use_bf16=False) == training_key(off, use_bf16=False)
    assert "lm_head_on_labels_only" not in training_key(on, use_bf16=False)


@pytest.mark.slow
@pytest.mark.parametrize("loss_on", ["completion", "titles"])
def test_labelled_positions_only_gives_the_same_loss_and_gradients(
    model_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loss_on: str
):
    """One real batch (6 fixture examples, padded, fp32) through SFTTrainer's own loss: with the lever
    the LM head projects exactly the labelled positions, and the loss and every LoRA gradient equal
    TRL's all-positions path. Tolerance 1e-5 relative: both compute each selected row's log-softmax
    identically in fp32; only the order of the sums differs."""
    import torch
    from llmrec_train.data import read_examples
    from llmrec_train.models import load_model, load_tokenizer, lora_config
    from llmrec_train.templates import PromptBuilder
    from llmrec_train.train import lm_head_on_labels_only, sft_config, tokenize_examples
    from peft import get_peft_model
    from trl import SFTTrainer
    from trl.trainer import utils as trl_utils

    n = 6
    examples = read_examples(FIXTURES / "movie" / "train.jsonl")[:n]
    tokenizer = load_tokenizer(model_path)
    dataset = tokenize_examples(
        examples, PromptBuilder(tokenizer, "basic", "auto"), loss_on=loss_on
    )
    torch.manual_seed(0)
    model = load_model(model_path, dtype=torch.float32)
    model.config.use_cache = False
    model = get_peft_model(
        model, lora_config(model, r=8, alpha=16, dropout=0.0, target_modules=["q_proj", "v_proj"])
    )
    with torch.no_grad():  # LoRA's B starts at zero, which would make every A gradient zero
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.02)
    config = TrainConfig(
        train_file=Path("unused"), output_dir=tmp_path, batch_size=n, n_train=n, bf16=False
    )
    args = sft_config(config, use_bf16=False, has_valid=False, use_cpu=True, n_train=n)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    batch = trainer.data_collator([dataset[i] for i in range(n)])
    labelled = int((batch["labels"][:, 1:] != -100).sum())
    assert 0 < labelled < batch["labels"][:, 1:].numel()  # padded, mostly unlabelled: a real test

    rows_projected: list[int] = []
    original = trl_utils._ChunkedLogProbFunction

    class CountRows:
        @staticmethod
        def apply(hidden: torch.Tensor, *rest: Any) -> Any:
            rows_projected.append(hidden.shape[0])
            return original.apply(hidden, *rest)

    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", CountRows)

    def loss_and_grads(labels_only: bool) -> tuple[float, dict[str, torch.Tensor]]:
        trainer.model.train()
        trainer.model.zero_grad()
        with lm_head_on_labels_only(labels_only):
            loss = trainer.compute_loss(trainer.model, dict(batch))
        loss.backward()
        grads = {
            name: p.grad.detach().clone()
            for name, p in trainer.model.named_parameters()
            if p.requires_grad and p.grad is not None
        }
        return float(loss.detach()), grads

    all_loss, all_grads = loss_and_grads(False)
    fast_loss, fast_grads = loss_and_grads(True)

    assert rows_projected == [batch["labels"][:, 1:].numel(), labelled]
    assert fast_loss == pytest.approx(all_loss, rel=1e-5)
    assert fast_grads.keys() == all_grads.keys() and len(all_grads) > 0
    for name, grad in all_grads.items():
        assert torch.allclose(fast_grads[name], grad, rtol=1e-5, atol=1e-7), name
