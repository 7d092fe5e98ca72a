"""Real LoRA SFT of SmolLM2 on MovieLens examples: loss goes down, outputs are complete and reload."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from llmrec_train.data import read_examples
from llmrec_train.models import load_model, load_tokenizer
from llmrec_train.templates import PromptBuilder
from llmrec_train.train import tokenize_examples
from peft import PeftModel

pytestmark = pytest.mark.slow


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
    for i, (x, y) in enumerate(zip(ds["input_ids"], ds["labels"], strict=True)):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
        labels[i, : len(x)] = torch.tensor(y)
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
    # every file gets the mode a new file gets (umask), not mkstemp's or safetensors' private 0600
    mask = os.umask(0)
    os.umask(mask)
    modes = {f.name: oct(f.stat().st_mode & 0o777) for f in out.iterdir() if f.is_file()}
    assert set(modes.values()) == {oct(0o666 & ~mask)}, modes


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


def _retrain(config, **changes):
    return type(config)(**{**config.__dict__, **changes})


def test_resume_auto_continues_a_checkpoint_made_with_the_same_settings(trained, tmp_path, caplog):
    from llmrec_train.train import train

    result, config = trained
    out = tmp_path / "resumed"
    shutil.copytree(result.output_dir, out)
    checkpoints = sorted(
        (out / "checkpoints").glob("checkpoint-*"), key=lambda d: int(d.name.split("-")[1])
    )
    assert len(checkpoints) >= 2
    for later in checkpoints[1:]:  # as if interrupted after the first kept checkpoint
        shutil.rmtree(later)
    caplog.set_level("INFO", logger="llmrec_train.train")
    resumed = train(_retrain(config, output_dir=out, resume="auto"))
    assert f"resuming from {checkpoints[0]}" in caplog.text
    manifest = json.loads((resumed.output_dir / "manifest.json").read_text())
    assert manifest["global_steps"] == 6  # 2 epochs of 24 examples / batch 8, finished
    # the epoch adapters of the interrupted run and of the resumed one are all there
    assert [e["epoch"] for e in manifest["epoch_adapters"]] == [1, 2]
    assert (out / "epochs" / "epoch-2" / "adapter_model.safetensors").is_file()


def test_resume_auto_starts_fresh_after_a_settings_change(trained, tmp_path, caplog):
    """The old pipeline resumed the finished checkpoint: 0 steps, the old adapter under a new lr."""
    from llmrec_train.train import RESUME_KEY, train

    result, config = trained
    out = tmp_path / "changed"
    shutil.copytree(result.output_dir, out)
    old_adapter = (out / "adapter_model.safetensors").read_bytes()
    old_epoch_1 = (out / "epochs" / "epoch-1" / "adapter_model.safetensors").read_bytes()
    caplog.set_level("INFO", logger="llmrec_train.train")
    fresh = train(_retrain(config, output_dir=out, resume="auto", learning_rate=5e-3))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        "other settings (learning_rate 0.001 -> 0.005)" in w and "starting fresh" in w
        for w in warnings
    ), warnings
    manifest = json.loads((fresh.output_dir / "manifest.json").read_text())
    assert manifest["global_steps"] == 6  # all of it, from step 0
    assert (out / "adapter_model.safetensors").read_bytes() != old_adapter
    # a fresh start replaces the earlier run's epoch adapters too
    assert (out / "epochs" / "epoch-1" / "adapter_model.safetensors").read_bytes() != old_epoch_1
    key = json.loads((out / "checkpoints" / RESUME_KEY).read_text())
    assert key["learning_rate"] == 5e-3


def test_every_epoch_adapter_is_kept_and_recorded(trained, model_path):
    """One 2-epoch run keeps two distinct adapters; the final one is the best epoch's."""
    from safetensors.torch import load_file

    result, _ = trained
    out = result.output_dir
    manifest = json.loads((out / "manifest.json").read_text())
    kept = manifest["epoch_adapters"]
    assert [(e["epoch"], e["adapter"], e["global_step"]) for e in kept] == [
        (1, "epochs/epoch-1", 3),
        (2, "epochs/epoch-2", 6),
    ]
    epochs = list(csv.DictReader((out / "loss_epochs.csv").read_text().splitlines()))
    assert [e["eval_loss"] for e in kept] == pytest.approx([float(r["eval_loss"]) for r in epochs])
    weights = {}
    for e in kept:
        folder = out / e["adapter"]
        meta = json.loads((folder / "llmrec_train.json").read_text())
        assert meta["epoch"] == e["epoch"] and meta["template"] == "basic"  # what generate reads
        weights[e["epoch"]] = load_file(folder / "adapter_model.safetensors")
    assert weights[1].keys() == weights[2].keys() and len(weights[1]) == 4 * 30
    assert any(not torch.equal(weights[1][k], weights[2][k]) for k in weights[1])
    best = min(kept, key=lambda e: e["eval_loss"])
    final = load_file(out / "adapter_model.safetensors")
    assert all(torch.equal(final[k], weights[best["epoch"]][k]) for k in final)
