"""Generation with the real SmolLM2: contract-valid predictions, LoRA on vs off, constrained beam search."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from llmrec_train.config import GenerateConfig
from llmrec_train.generate import generate

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
