"""Generation with the real SmolLM2: contract-valid predictions, LoRA on vs off, constrained beam search."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from llmrec_train.config import GenerateConfig
from llmrec_train.generate import generate
from llmrec_train.train import ADAPTER_META

META_KEYS = {
    "model",
    "adapter",
    "decoding",
    "num_beams",
    "num_return_sequences",
    "constrained",
    "max_new_tokens",
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "prompt_template",
    "n_examples",
    "preset",
    "length_penalty",
}


def read_predictions(path: Path) -> tuple[list[dict], dict]:
    """Read predictions.jsonl + meta and check them against docs/contracts.md."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for i, row in enumerate(rows, start=1):
        assert set(row) == {
            "example_id",
            "target_item_id",
            "target_title",
            "predictions",
            "scores",
        }, i
        assert isinstance(row["example_id"], str)
        assert row["target_item_id"] is None or isinstance(row["target_item_id"], int)
        assert row["target_title"] is None or isinstance(row["target_title"], str)
        assert row["predictions"] and all(isinstance(p, str) for p in row["predictions"])
        assert row["scores"] is None or (
            len(row["scores"]) == len(row["predictions"])
            and all(isinstance(s, float) for s in row["scores"])
        )
        if row["scores"]:
            assert row["scores"] == sorted(row["scores"], reverse=True)
    meta = json.loads(path.with_name(path.stem + ".meta.json").read_text(encoding="utf-8"))
    assert set(meta) >= META_KEYS
    assert meta["n_examples"] == len(rows)
    return rows, meta


@pytest.mark.slow
def test_greedy_lora_on_differs_from_lora_off(trained, data_dir, tmp_path):
    result, _ = trained
    common = {
        "examples": data_dir / "test.jsonl",
        "decoding": "greedy",
        "n": 3,
        "max_new_tokens": 24,
    }
    off = generate(GenerateConfig(out=tmp_path / "off.jsonl", **common))
    on = generate(GenerateConfig(out=tmp_path / "on.jsonl", adapter=result.output_dir, **common))
    rows_off, meta_off = read_predictions(off)
    rows_on, meta_on = read_predictions(on)
    assert meta_off["adapter"] is None and meta_on["adapter"] == str(result.output_dir)
    assert meta_on["decoding"] == "greedy" and meta_on["num_return_sequences"] == 1
    assert [r["example_id"] for r in rows_on] == ["test-000000", "test-000001", "test-000002"]
    assert rows_on[0]["target_item_id"] is not None
    outputs_off = [(r["predictions"], r["scores"]) for r in rows_off]
    outputs_on = [(r["predictions"], r["scores"]) for r in rows_on]
    assert outputs_on != outputs_off
    # The trained model answers in the trained form: a quoted title.
    assert all(r["predictions"][0].startswith('"') for r in rows_on)


@pytest.mark.slow
def test_without_model_generation_uses_the_adapters_base_model(
    trained, model_path, data_dir, tmp_path
):
    """No --model: the base model is the one the adapter's llmrec_train.json records (here the
    local folder of the same SmolLM2 weights, as after `train --model FOLDER`), not the default."""
    result, _ = trained
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    for f in result.output_dir.iterdir():
        if f.is_file():
            shutil.copyfile(f, adapter / f.name)
    record = json.loads((adapter / ADAPTER_META).read_text(encoding="utf-8"))
    assert record["model"] != model_path
    (adapter / ADAPTER_META).write_text(json.dumps({**record, "model": model_path}))
    config = GenerateConfig(
        examples=data_dir / "test.jsonl",
        out=tmp_path / "p.jsonl",
        adapter=adapter,
        decoding="greedy",
        n=1,
        max_new_tokens=4,
    )
    _, meta = read_predictions(generate(config))
    assert meta["model"] == model_path and meta["prompt_template"] == record["template"]


@pytest.mark.slow
def test_constrained_beam_returns_k_distinct_catalogue_titles(trained, data_dir, tmp_path):
    result, _ = trained
    out = generate(
        GenerateConfig(
            examples=data_dir / "test.jsonl",
            out=tmp_path / "predictions.jsonl",
            adapter=result.output_dir,
            decoding="beam",
            num_beams=4,
            constrained=True,
            items=data_dir / "items.parquet",
            n=4,
            batch_size=4,
        )
    )
    rows, meta = read_predictions(out)
    assert meta["constrained"] is True and meta["num_return_sequences"] == 4
    titles = set(pq.read_table(data_dir / "items.parquet").column("title").to_pylist())
    for row in rows:
        preds = row["predictions"]
        assert len(preds) == 4 and len(set(preds)) == 4, preds
        for p in preds:
            assert p.startswith('"') and p.endswith('"') and p[1:-1] in titles, p


@pytest.mark.slow
def test_sampling_is_seeded(data_dir, model_path, tmp_path):
    common = {
        "examples": data_dir / "test.jsonl",
        "decoding": "sample",
        "n": 2,
        "max_new_tokens": 12,
        "temperature": 0.9,
        "top_p": 0.95,
        "top_k": 40,
        "num_return_sequences": 2,
        "seed": 7,
    }
    a, meta = read_predictions(generate(GenerateConfig(out=tmp_path / "a.jsonl", **common)))
    b, _ = read_predictions(generate(GenerateConfig(out=tmp_path / "b.jsonl", **common)))
    assert a == b
    assert (
        meta["temperature"] == 0.9
        and meta["top_k"] == 40
        and all(len(r["predictions"]) == 2 for r in a)
    )


def test_constrained_needs_items(data_dir, tmp_path):
    with pytest.raises(ValueError, match="needs --items"):
        GenerateConfig(examples=data_dir / "test.jsonl", out=tmp_path / "p.jsonl", constrained=True)


def test_repetition_penalty_must_be_positive(data_dir, tmp_path):
    with pytest.raises(ValueError, match=r"repetition_penalty must be > 0, got 0\.0"):
        GenerateConfig(
            examples=data_dir / "test.jsonl", out=tmp_path / "p.jsonl", repetition_penalty=0.0
        )


@pytest.mark.slow
def test_repetition_penalty_changes_greedy_output(data_dir, model_path, tmp_path):
    common = {
        "examples": data_dir / "test.jsonl",
        "decoding": "greedy",
        "n": 2,
        "max_new_tokens": 16,
    }
    plain, _ = read_predictions(generate(GenerateConfig(out=tmp_path / "a.jsonl", **common)))
    penalised, meta = read_predictions(
        generate(GenerateConfig(out=tmp_path / "b.jsonl", repetition_penalty=3.0, **common))
    )
    assert meta["repetition_penalty"] == 3.0
    assert [r["predictions"] for r in plain] != [r["predictions"] for r in penalised]


def _generated_length(builder, text: str) -> int:
    """Tokens beam search generated for a constrained prediction: the title's, up to the stop token."""
    ids = builder.encode_completion(text)
    stops = set(builder.stop_token_ids)
    return next(i for i, t in enumerate(ids) if t in stops) + 1


@pytest.mark.slow
def test_length_penalty_sets_the_beam_score_definition(trained, data_dir, model_path, tmp_path):
    """length_penalty 1: summed token log-probs / generated length (EOS included); 0: the plain sum."""
    from llmrec_train.models import load_tokenizer
    from llmrec_train.templates import PromptBuilder

    result, _ = trained
    common = {
        "examples": data_dir / "test.jsonl",
        "adapter": result.output_dir,
        "decoding": "beam",
        "num_beams": 4,
        "constrained": True,
        "items": data_dir / "items.parquet",
        "n": 3,
        "batch_size": 3,
        "bf16": False,
    }
    rows = {}
    for penalty in (1.0, 0.0):
        out = generate(
            GenerateConfig(out=tmp_path / f"lp{penalty}.jsonl", length_penalty=penalty, **common)
        )
        rows[penalty], meta = read_predictions(out)  # also: scores non-increasing
        assert meta["length_penalty"] == penalty
    builder = PromptBuilder(
        load_tokenizer(model_path), meta["prompt_template"], meta["prompt_format"]
    )
    lengths = set()
    for mean_row, sum_row in zip(rows[1.0], rows[0.0], strict=True):
        means = dict(zip(mean_row["predictions"], mean_row["scores"], strict=True))
        for text, total in zip(sum_row["predictions"], sum_row["scores"], strict=True):
            if text in means:  # the same sequence, scored under both definitions
                n = _generated_length(builder, text)
                assert total == pytest.approx(means[text] * n, rel=1e-4, abs=1e-4), text
                lengths.add(n)
    assert len(lengths) >= 2  # titles of different lengths: the two definitions really differ


def _assert_same_outputs(outputs, reference):
    assert [texts for texts, _ in outputs] == [texts for texts, _ in reference]
    for (_, scores), (_, ref) in zip(outputs, reference, strict=True):
        assert scores == pytest.approx(ref, abs=1e-4)


@pytest.mark.slow
def test_merged_lora_and_prompt_prefill_keep_the_outputs(trained, data_dir, model_path):
    """The speed levers change no output (fp32): merged LoRA weights, and prompts prefilled once per
    prompt (and the common prefix once per run) instead of once per beam by transformers."""
    from llmrec_train.constrained import TitleTrie
    from llmrec_train.data import read_examples, read_item_titles
    from llmrec_train.generate import Generator

    result, _ = trained
    examples = read_examples(data_dir / "test.jsonl")[:4]
    titles = read_item_titles(data_dir / "items.parquet").values()
    beam = {"decoding": "beam", "num_beams": 4, "num_return_sequences": 4, "batch_size": 4}
    greedy = {"decoding": "greedy", "num_beams": 1, "num_return_sequences": 1}
    greedy |= {"max_new_tokens": 12, "batch_size": 4}

    unmerged = Generator(model_path, adapter=result.output_dir, merge_lora=False, bf16=False)
    lora_b = [p for n, p in unmerged.model.named_parameters() if "lora_B" in n]
    assert lora_b and any(float(p.abs().max()) > 0 for p in lora_b)  # a trained, non-zero adapter
    trie = TitleTrie.from_titles(titles, unmerged.builder)
    reference = unmerged.generate(examples, prefill="hf", trie=trie, progress=False, **beam)
    for prefill in ("once", "shared"):
        outputs = unmerged.generate(examples, prefill=prefill, trie=trie, progress=False, **beam)
        _assert_same_outputs(outputs, reference)
    _assert_same_outputs(
        unmerged.generate(examples, prefill="shared", progress=False, **greedy),
        unmerged.generate(examples, prefill="hf", progress=False, **greedy),
    )
    del unmerged

    merged = Generator(model_path, adapter=result.output_dir, merge_lora=True, bf16=False)
    assert merged.merged_lora
    assert not any("lora" in n for n, _ in merged.model.named_modules())
    for prefill in ("hf", "shared"):
        outputs = merged.generate(examples, prefill=prefill, trie=trie, progress=False, **beam)
        _assert_same_outputs(outputs, reference)
