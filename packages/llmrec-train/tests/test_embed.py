"""`llmrec-train embed`: bad input fails in one line (exit 2) before the model loads, and, with the
real SmolLM2, titles and generated texts get the LLM's hidden states in the contract files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from llmrec_train.cli import app
from typer.testing import CliRunner

runner = CliRunner()
GAME_ITEMS = Path(__file__).resolve().parents[3] / "fixtures" / "game" / "items.parquet"


def _embed(*argv: str):
    return runner.invoke(app, ["embed", *argv])


def _one_line_error(res, *shown: str) -> None:
    """Exit 2 and, last (after any progress bar of a model that loaded), one `error:` line."""
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    text = text[text.rfind("error: ") :]
    assert text.startswith("error: ") and text.count("error: ") == 1
    for part in shown:
        assert part in text, text


def test_nothing_to_embed_and_bad_settings_fail_in_one_line(tmp_path):
    out = str(tmp_path / "out")
    _one_line_error(_embed("--out", out), "nothing to embed: give --items")
    items = ["--items", str(GAME_ITEMS), "--out", out]
    _one_line_error(_embed(*items, "--pooling", "max"), "--pooling: 'max' is not one of last, mean")
    _one_line_error(_embed(*items, "--batch-size", "0"), "--batch-size must be >= 1, got 0")
    _one_line_error(_embed(*items, "--quantization", "2bit"), "'2bit' is not one of none")
    assert not (tmp_path / "out").exists()


def test_bad_predictions_name_file_line_and_field(tmp_path):
    good = {"example_id": "a", "predictions": ['"Heat (1995)"']}
    path = tmp_path / "predictions.jsonl"
    cases = [
        ([good, {"example_id": "b", "predictions": "Heat"}], "line 2, field 'predictions'"),
        ([good, {"example_id": "b", "predictions": ["a", 3]}], "line 2, field 'predictions'"),
        ([good, ["not an object"]], "line 2: expected a JSON object, got list"),
    ]
    for rows, shown in cases:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        res = _embed("--predictions", str(path), "--out", str(tmp_path / "out"))
        _one_line_error(res, f"{path}, {shown}")
    path.write_text(json.dumps(good) + "\n{oops\n", encoding="utf-8")
    _one_line_error(
        _embed("--predictions", str(path), "--out", str(tmp_path / "out")),
        f"{path}, line 2: not valid JSON",
    )
    missing = tmp_path / "nope.jsonl"
    _one_line_error(
        _embed("--predictions", str(missing), "--out", str(tmp_path / "out")),
        f"{missing}: predictions file not found",
    )
    assert not (tmp_path / "out").exists()


def test_items_with_gaps_in_their_ids_and_a_folder_that_is_no_adapter(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    items = tmp_path / "items.parquet"
    pq.write_table(pa.table({"item_id": [0, 2], "title": ["Heat (1995)", "Fargo (1996)"]}), items)
    _one_line_error(
        _embed("--items", str(items), "--out", str(tmp_path / "out")),
        f"{items}, field 'item_id': item ids must be 0..1",
        "1 is missing",
    )
    not_adapter = tmp_path / "adapter"
    not_adapter.mkdir()
    res = _embed("--items", str(GAME_ITEMS), "--adapter", str(not_adapter), "--out", str(tmp_path))
    _one_line_error(res, f"{not_adapter}: no adapter_model.safetensors")


def test_a_config_file_gives_the_options(tmp_path):
    config = tmp_path / "embed.toml"
    config.write_text(
        'out = "x"\npooling = "mean"\npredictions = ["a.jsonl", "b.jsonl"]\nlayr = 3\n'
    )
    _one_line_error(_embed("--config", str(config)), "line 4", "'layr'", "'layer'")
    config.write_text(f'out = "{tmp_path / "out"}"\npredictions = ["{tmp_path / "a.jsonl"}"]\n')
    _one_line_error(_embed("--config", str(config)), "a.jsonl: predictions file not found")


# --------------------------------------------------------------------------- real SmolLM2

TEXTS = ['"Grand Theft Auto V - Xbox 360"', "  a wireless controller ", '"Wii Fit"', ""]


@pytest.fixture(scope="module")
def embedded(model_path, tmp_path_factory) -> dict[str, Path]:
    """The fixture catalogue (256 game titles) and a few generated texts, embedded in one run."""
    folder = tmp_path_factory.mktemp("embed")
    predictions = folder / "predictions.jsonl"
    rows = [
        {"example_id": "a", "predictions": TEXTS[:2]},
        {"example_id": "b", "predictions": TEXTS[1:]},
    ]
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = ["--items", str(GAME_ITEMS), "--predictions", str(predictions), "--batch-size", "16"]
    res = _embed(*args, "--no-bf16", "--out", str(folder / "out"))
    assert res.exit_code == 0, res.output
    return {"out": folder / "out", "predictions": predictions}


@pytest.mark.slow
def test_items_and_texts_follow_the_contract_and_a_quoted_title_is_its_item(embedded):
    import polars as pl

    out = embedded["out"]
    items = np.load(out / "item_embeddings.npy")
    item_meta = json.loads((out / "item_embeddings.json").read_text())
    texts = np.load(out / "text_embeddings.npy")
    text_meta = json.loads((out / "text_embeddings.json").read_text())
    titles = pl.read_parquet(GAME_ITEMS)["title"].to_list()
    assert items.shape == (len(titles), 576) and items.dtype == np.float32
    encoder = ("encoder", "model", "adapter_sha256", "layer", "pooling", "normalized", "dim")
    assert {k: item_meta[k] for k in encoder} == {
        "encoder": "llm-hidden-state",
        "model": "smollm2-135m-instruct",
        "adapter_sha256": None,
        "layer": -1,
        "pooling": "last",
        "normalized": False,
        "dim": 576,
    }
    assert {k: text_meta[k] for k in encoder} == {k: item_meta[k] for k in encoder}
    assert item_meta["n_items"] == len(titles) and item_meta["text_field"] == "title"
    # distinct texts, first seen first, as grounding sees them: quotes and whitespace stripped
    assert text_meta["texts"] == [
        "Grand Theft Auto V - Xbox 360",
        "a wireless controller",
        "Wii Fit",
        "",
    ]
    assert texts.shape == (4, 576) and np.isfinite(texts).all()
    # A title generated verbatim gets its item's vector: BIGRec's distance 0, rank 0. The two were
    # computed in different batches (other lengths, other padding); float32 rounding of the batch
    # shape moves them by ~1e-6 of their norm, far below the gap to the next item.
    gta = titles.index("Grand Theft Auto V - Xbox 360")
    distances = np.linalg.norm(items - texts[0], axis=1)
    assert int(np.argmin(distances)) == gta
    assert distances[gta] < 1e-4 * np.linalg.norm(items[gta])
    assert np.sort(distances)[1] > 100 * distances[gta]


@pytest.mark.slow
def test_mean_pooling_and_an_inner_layer_differ_from_the_default(embedded, tmp_path):
    args = ["--predictions", str(embedded["predictions"]), "--no-bf16"]
    res = _embed(*args, "--pooling", "mean", "--layer", "6", "--out", str(tmp_path))
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "text_embeddings.json").read_text())
    assert (meta["layer"], meta["pooling"]) == (6, "mean")
    last = np.load(embedded["out"] / "text_embeddings.npy")
    assert not np.allclose(np.load(tmp_path / "text_embeddings.npy"), last)
    res = _embed(*args, "--layer", "31", "--out", str(tmp_path))
    _one_line_error(res, "--layer 31: smollm2-135m-instruct has hidden states 0..30")
