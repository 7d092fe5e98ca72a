"""The training recipe's levers: where the loss is (`--loss-on`), per-epoch adapters, parameter counts.

Real SmolLM2 tokenizer and model, real MovieLens examples (history titles as llmrec-data writes them).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from llmrec_train.config import GenerateConfig, TrainConfig
from llmrec_train.data import Example, read_examples, sample_examples
from llmrec_train.errors import UsageError
from llmrec_train.models import bf16_supported, default_device, load_model, load_tokenizer
from llmrec_train.templates import PromptBuilder
from llmrec_train.train import tokenize_examples

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tokenizer(model_path):
    return load_tokenizer(model_path)


def _labelled_runs(ids: list[int], labels: list[int]) -> list[list[int]]:
    """The maximal runs of consecutive tokens that carry the loss, in order."""
    runs: list[list[int]] = []
    previous = False
    for token, label in zip(ids, labels, strict=True):
        on = label != -100
        if on:
            assert label == token
            if not previous:
                runs.append([])
            runs[-1].append(token)
        previous = on
    return runs


@pytest.mark.parametrize(("template", "prompt_format"), [("basic", "chat"), ("enhanced", "plain")])
def test_titles_loss_covers_the_history_titles_and_the_answer(
    tokenizer, data_dir, template, prompt_format
):
    builder = PromptBuilder(tokenizer, template, prompt_format)
    examples = read_examples(data_dir / "train.jsonl")
    ds = tokenize_examples(examples, builder, loss_on="titles")
    for ex, ids, labels in zip(examples, ds["input_ids"], ds["labels"], strict=True):
        assert ex.history_titles and len(ex.history_titles) == 10
        runs = [tokenizer.decode(run) for run in _labelled_runs(ids, labels)]
        # one run per history title, then the answer; nothing of the instruction or the template
        assert len(runs) == len(ex.history_titles) + 1, runs
        # a title's last token may carry the closing quote and comma (e.g. `)",`), nothing more
        assert [r.strip(' ",') for r in runs[:-1]] == list(ex.history_titles)
        assert all(len(r) - len(t) <= 3 for r, t in zip(runs, ex.history_titles, strict=False))
        assert runs[-1] == builder.completion_text(ex.output)
        # the prompt's tokens are exactly the ones generation sees
        n_prompt = len(builder.encode_prompt(ex.instruction, ex.input))
        assert ids[:n_prompt] == builder.encode_prompt(ex.instruction, ex.input)


def test_completion_and_all_losses(tokenizer, data_dir):
    builder = PromptBuilder(tokenizer, "basic", "auto")
    examples = read_examples(data_dir / "train.jsonl")[:4]
    completion = tokenize_examples(examples, builder, loss_on="completion")
    everything = tokenize_examples(examples, builder, loss_on="all")
    for ex, ids, labels in zip(
        examples, completion["input_ids"], completion["labels"], strict=True
    ):
        runs = _labelled_runs(ids, labels)
        assert [tokenizer.decode(r) for r in runs] == [builder.completion_text(ex.output)]
    assert everything["labels"] == everything["input_ids"] == completion["input_ids"]


def test_titles_loss_needs_the_history_titles(tokenizer, data_dir, tmp_path):
    builder = PromptBuilder(tokenizer, "basic", "auto")
    ex = read_examples(data_dir / "train.jsonl")[0]
    bare = Example(ex.example_id, ex.instruction, ex.input, ex.output, {}, line=7)
    with pytest.raises(
        UsageError, match=r"t\.jsonl, line 7, field 'history_titles': example_id .*missing"
    ):
        tokenize_examples([bare], builder, loss_on="titles", source=Path("t.jsonl"))
    wrong = Example(ex.example_id, ex.instruction, ex.input, ex.output, {}, ("Nope (1900)",), 3)
    with pytest.raises(
        UsageError,
        match=r"t\.jsonl, line 3, field 'history_titles': .*'Nope \(1900\)' does not occur",
    ):
        tokenize_examples([wrong], builder, loss_on="titles", source=Path("t.jsonl"))


def _mean_loss(model_path: str, ds, use_bf16: bool, pad_id: int) -> float:
    """The base model's mean token loss over the labelled tokens of `ds` (one batch, right padding)."""
    n, width = len(ds), max(len(x) for x in ds["input_ids"])
    ids = torch.full((n, width), pad_id)
    mask = torch.zeros((n, width), dtype=torch.long)
    labels = torch.full((n, width), -100)
    for i, (x, y) in enumerate(zip(ds["input_ids"], ds["labels"], strict=True)):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
        labels[i, : len(x)] = torch.tensor(y)
    dtype = torch.bfloat16 if use_bf16 else torch.float32
    model = load_model(model_path, dtype=dtype)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
        return float(model(input_ids=ids, attention_mask=mask, labels=labels).loss)


def test_titles_training_two_epochs_keeps_two_loadable_adapters(
    model_path, data_dir, tokenizer, tmp_path
):
    """A 2-epoch run with the loss on the titles: its first step's loss is the base model's loss on the
    titles (LoRA starts as the identity), and both epochs' adapters are kept, distinct and loadable."""
    from llmrec_train.generate import generate
    from llmrec_train.train import train
    from safetensors.torch import load_file

    config = TrainConfig(
        train_file=data_dir / "train.jsonl",
        output_dir=tmp_path / "out",
        model=model_path,
        loss_on="titles",
        template="enhanced",  # not the default: generation must read it from the epoch's folder
        n_train=4,
        batch_size=4,  # one batch holds the whole training set: step 1 sees exactly these examples
        epochs=2,
        learning_rate=1e-3,
        lr_scheduler="constant",
        warmup_ratio=0.0,
    )
    result = train(config)
    out = result.output_dir

    builder = PromptBuilder(tokenizer, "enhanced", "auto")
    sample = sample_examples(read_examples(config.train_file), 4, config.seed)
    use_bf16 = bf16_supported(default_device())
    on_titles = _mean_loss(
        model_path,
        tokenize_examples(sample, builder, loss_on="titles"),
        use_bf16,
        tokenizer.pad_token_id,
    )
    on_answer = _mean_loss(
        model_path,
        tokenize_examples(sample, builder, loss_on="completion"),
        use_bf16,
        tokenizer.pad_token_id,
    )
    steps = json.loads((out / "training_log.json").read_text())["steps"]
    assert [s["step"] for s in steps] == [1, 2] and all(math.isfinite(s["loss"]) for s in steps)
    # measured: 2.360 on the titles, 2.571 on the answer; the step-1 loss matches the first to 0.001
    assert abs(on_titles - on_answer) > 0.1, (on_titles, on_answer)  # the check can tell them apart
    assert steps[0]["loss"] == pytest.approx(on_titles, abs=0.02), (steps[0], on_titles, on_answer)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["loss_on"] == "titles"
    assert [(e["epoch"], e["adapter"]) for e in manifest["epoch_adapters"]] == [
        (1, "epochs/epoch-1"),
        (2, "epochs/epoch-2"),
    ]
    one = load_file(out / "epochs/epoch-1/adapter_model.safetensors")
    two = load_file(out / "epochs/epoch-2/adapter_model.safetensors")
    assert one.keys() == two.keys() and any(not torch.equal(one[k], two[k]) for k in one)
    # without validation the final adapter is the last epoch's
    final = load_file(out / "adapter_model.safetensors")
    assert all(torch.equal(final[k], two[k]) for k in final)
    for epoch in (1, 2):
        predictions = out / f"pred-{epoch}.jsonl"
        generate(
            GenerateConfig(
                examples=data_dir / "test.jsonl",
                out=predictions,
                model=model_path,
                adapter=out / f"epochs/epoch-{epoch}",
                decoding="greedy",
                max_new_tokens=8,
                n=2,
            )
        )
        meta = json.loads(predictions.with_suffix(".meta.json").read_text())
        assert meta["adapter"].endswith(f"epoch-{epoch}")
        assert meta["prompt_template"] == "enhanced"
        assert len(predictions.read_text().splitlines()) == 2


def test_params_table_matches_peft_on_the_loaded_model(model_path, tmp_path):
    """The table's counts (built on the meta device) equal peft's own count on the real model."""
    from llmrec_train.models import lora_config
    from peft import get_peft_model

    real = load_model(model_path, dtype=torch.float32)
    peft_model = get_peft_model(
        real, lora_config(real, r=8, alpha=16, dropout=0.05, target_modules=["q_proj", "v_proj"])
    )
    trainable, total = peft_model.get_nb_trainable_parameters()

    out = tmp_path / "params.md"
    argv = [sys.executable, "-m", "llmrec_train", "params", "--model", model_path]
    argv += ["--lora-r", "8", "--lora-target-modules", "q_proj,v_proj", "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = out.read_text().splitlines()
    assert lines[0] == "| Model | Trainable | Total | % |"
    assert lines[2] == (
        f"| {model_path} | {trainable:,} | {total:,} | {100 * trainable / total:.4f}% |"
    )
    assert lines[2] in done.stdout
