"""Real LoRA SFT of SmolLM2 on MovieLens examples: loss goes down, outputs are complete and reload."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import torch
from llmrec_train.data import read_examples
from llmrec_train.models import load_model, load_tokenizer
from llmrec_train.templates import PromptBuilder
from llmrec_train.train import tokenize_examples
from peft import PeftModel


def _completion_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float:
    with torch.inference_mode():
        return float(model(**batch).loss)


def _batch(model_path: str, data_dir: Path, n: int = 8) -> dict[str, torch.Tensor]:
    tokenizer = load_tokenizer(model_path)
    builder = PromptBuilder(tokenizer, "basic", "auto")
    ds = tokenize_examples(read_examples(data_dir / "train.jsonl")[:n], builder)
    width = max(len(x) for x in ds["input_ids"])
    ids = torch.full((n, width), tokenizer.pad_token_id)
    mask = torch.zeros((n, width), dtype=torch.long)
    labels = torch.full((n, width), -100)
    for i, (x, m) in enumerate(zip(ds["input_ids"], ds["completion_mask"], strict=True)):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
        labels[i, : len(x)] = torch.where(torch.tensor(m) == 1, torch.tensor(x), -100)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def test_training_lowers_the_completion_loss(trained, model_path, data_dir):
    result, _ = trained
    batch = _batch(model_path, data_dir)
    base = load_model(model_path, dtype=torch.bfloat16)
    before = _completion_loss(base, batch)
    after = _completion_loss(result.model.eval(), batch)
    assert after < before - 0.1, (before, after)


def test_output_folder_is_complete(trained):
    result, config = trained
    out = result.output_dir
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "llmrec_train.json",
        "config.json",
        "training_log.json",
        "loss_steps.csv",
        "loss_epochs.csv",
        "loss.png",
        "manifest.json",
    ):
        assert (out / name).is_file(), name
    log = json.loads((out / "training_log.json").read_text())
    assert len(log["steps"]) >= 6 and all(s["loss"] > 0 for s in log["steps"])
    epochs = list(csv.DictReader((out / "loss_epochs.csv").read_text().splitlines()))
    assert [int(r["epoch"]) for r in epochs] == [1, 2]
    assert all(float(r["eval_loss"]) > 0 for r in epochs)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["versions"]["trl"]
    assert str(config.train_file) in manifest["inputs_sha256"]
    assert manifest["best_checkpoint"] is not None
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_saved_adapter_reloads_with_identical_outputs(trained, model_path, data_dir):
    result, _ = trained
    batch = _batch(model_path, data_dir, n=4)
    batch.pop("labels")
    reloaded = PeftModel.from_pretrained(
        load_model(model_path, dtype=torch.bfloat16), str(result.output_dir)
    ).eval()
    trained_model = result.model.eval()
    lora = {k: v for k, v in trained_model.state_dict().items() if "lora_" in k}
    lora_reloaded = {k: v for k, v in reloaded.state_dict().items() if "lora_" in k}
    assert (
        lora.keys() == lora_reloaded.keys() and len(lora) == 4 * 30
    )  # q_proj, v_proj x A, B x 30 layers
    assert all(torch.equal(lora[k], lora_reloaded[k]) for k in lora)
    # Same computation (bf16 autocast, as in training) on both: identical logits.
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = trained_model(**batch).logits.float()
        got = reloaded(**batch).logits.float()
    assert torch.equal(expected, got)


def test_resume_continues_from_the_last_checkpoint(trained, tmp_path):
    from llmrec_train.train import train

    result, config = trained
    out = tmp_path / "resumed"
    shutil.copytree(result.output_dir, out)
    steps_before = json.loads((out / "manifest.json").read_text())["global_steps"]
    config_resumed = type(config)(
        **{**config.__dict__, "output_dir": out, "epochs": 3, "resume": True}
    )
    resumed = train(config_resumed)
    manifest = json.loads((resumed.output_dir / "manifest.json").read_text())
    assert manifest["global_steps"] == steps_before + 3  # one more epoch of 24 examples / batch 8
