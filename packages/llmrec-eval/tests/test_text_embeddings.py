"""`evaluate --text-embeddings`: generated texts' vectors looked up in a file from `llmrec-train
embed` (BIGRec's LLM hidden states) instead of embedded here, and the checks that keep text and item
vectors from the same encoder. No model is loaded: the metadata says `llm-hidden-state`, which
llmrec-eval can never embed, so every vector used comes from the files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from eval_contract_files import write_catalogue, write_jsonl
from llmrec_eval.cli import app
from typer.testing import CliRunner

runner = CliRunner()
TITLES = ["Heat (1995)", "Casino (1995)", "Fargo (1996)", "Emma (1996)", "Clueless (1995)"]
ENCODER = {
    "encoder": "llm-hidden-state",
    "model": "smollm2-135m-instruct",
    "adapter": None,
    "adapter_sha256": None,
    "layer": -1,
    "pooling": "last",
}


def _set_meta(npy: Path, **fields: object) -> None:
    meta_path = npy.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) | fields
    meta_path.write_text(json.dumps(meta))


def _text_embeddings(
    folder: Path, texts: list[str], vectors: np.ndarray, **encoder: object
) -> Path:
    """text_embeddings.npy + .json as `llmrec-train embed --predictions` writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "text_embeddings.npy", vectors.astype(np.float32))
    meta = ENCODER | encoder | {"dim": vectors.shape[1], "normalized": False}
    meta |= {"n_texts": len(texts), "texts": texts}
    (folder / "text_embeddings.json").write_text(json.dumps(meta))
    return folder / "text_embeddings.npy"


@pytest.fixture
def run(tmp_path):
    """Five items with LLM-kind embeddings; three examples, none of whose texts is a title."""
    rng = np.random.default_rng(0)
    items_vectors = rng.normal(size=(5, 6)).astype(np.float32)
    items, emb = write_catalogue(tmp_path / "cat", TITLES, items_vectors)
    _set_meta(emb, **ENCODER)
    texts = ["a heist thriller", "a Coen brothers film", "Jane Austen, modernised"]
    # each text lies next to one item (2, 1, 4) and far from the others
    text_vectors = items_vectors[[2, 1, 4]] + 0.01
    predictions = write_jsonl(
        tmp_path / "predictions.jsonl",
        [
            {"example_id": "a", "target_item_id": 2, "predictions": [f'"{texts[0]}"']},
            {"example_id": "b", "target_item_id": 1, "predictions": [texts[1], " "]},
            {"example_id": "c", "target_item_id": 0, "predictions": [texts[2]]},
        ],
    )
    # what llmrec-train embed keys: quotes and whitespace stripped, the blank text as ""
    keys = [*texts, ""]
    vectors = np.vstack([text_vectors, items_vectors[:1]])
    return {
        "items": items,
        "emb": emb,
        "predictions": predictions,
        "texts": _text_embeddings(tmp_path / "texts", keys, vectors),
        "keys": keys,
        "vectors": vectors,
        "out": tmp_path / "out",
        "tmp": tmp_path,
    }


def _evaluate(run: dict, *extra: str):
    args = ["evaluate", "--predictions", str(run["predictions"]), "--items", str(run["items"])]
    args += ["--embeddings", str(run["emb"]), "--out", str(run["out"]), "--bootstrap", "0"]
    return runner.invoke(app, [*args, "--fusion", "first", "--no-plot", *extra])


def test_texts_are_looked_up_in_the_text_embeddings_and_ranked_by_l2(run):
    res = _evaluate(run, "--text-embeddings", str(run["texts"].parent))
    assert res.exit_code == 0, res.output
    metrics = json.loads((run["out"] / "metrics.json").read_text())
    assert metrics["grounding"]["strings_embedded"] == 3
    assert metrics["grounding"]["embedding_encoder"]["encoder"] == "llm-hidden-state"
    assert metrics["source"]["text_embeddings"] == str(run["texts"])
    # the ranks, computed independently from the two files by numpy
    items = np.load(run["emb"])
    queries = run["vectors"][:3]
    dist = np.linalg.norm(queries[:, None, :] - items[None, :, :], axis=-1)
    expected = [int((dist[i] < dist[i, t]).sum()) for i, t in enumerate([2, 1, 0])]
    assert expected[:2] == [0, 0]  # built so: the first two texts sit on their targets
    ranks = json.loads((run["out"] / "metrics.json").read_text())["rank"]
    assert ranks["mean"] == pytest.approx(np.mean(expected))


def test_llm_item_embeddings_without_text_embeddings_say_which_command_makes_them(run):
    res = _evaluate(run)
    assert res.exit_code == 2
    assert "llmrec-train embed --predictions" in res.output
    assert "--text-embeddings" in res.output
    assert not (run["out"] / "metrics.json").exists()


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("layer", 12, "layer: -1 vs 12"),
        ("pooling", "mean", "pooling: 'last' vs 'mean'"),
        ("adapter_sha256", "ab" * 32, "adapter_sha256: None vs"),
        ("model", "HuggingFaceTB/SmolLM2-360M-Instruct", "model: 'smollm2-135m-instruct' vs"),
    ],
)
def test_text_embeddings_of_another_encoder_are_refused(run, field, value, shown):
    texts = _text_embeddings(run["tmp"] / "other", run["keys"], run["vectors"], **{field: value})
    res = _evaluate(run, "--text-embeddings", str(texts))
    assert res.exit_code == 2
    assert "different encoders" in res.output and shown in " ".join(res.output.split())


def test_sentence_transformers_item_embeddings_refuse_llm_text_embeddings(run):
    _set_meta(run["emb"], encoder="sentence-transformers")
    res = _evaluate(run, "--text-embeddings", str(run["texts"]))
    assert res.exit_code == 2
    assert "encoder: 'sentence-transformers' vs 'llm-hidden-state'" in " ".join(res.output.split())


def test_a_text_missing_from_the_text_embeddings_is_named(run):
    texts = _text_embeddings(run["tmp"] / "few", run["keys"][1:], run["vectors"][1:])
    res = _evaluate(run, "--text-embeddings", str(texts))
    assert res.exit_code == 2
    assert "no vector for the generated text 'a heist thriller'" in " ".join(res.output.split())


def test_text_embeddings_need_item_embeddings(run):
    args = ["evaluate", "--predictions", str(run["predictions"]), "--items", str(run["items"])]
    res = runner.invoke(
        app, [*args, "--text-embeddings", str(run["texts"]), "--out", str(run["out"])]
    )
    assert res.exit_code == 2
    assert "--text-embeddings needs --embeddings" in res.output


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"texts": ["a", "a", "b", "c"]}, "field 'texts': texts[1]: expected a distinct string"),
        ({"n_texts": 3}, "n_texts/dim 3x6 do not match the array (4, 6)"),
        ({"texts": "abc"}, "field 'texts': expected list"),
    ],
)
def test_bad_text_embeddings_metadata_names_file_and_field(run, change, shown):
    _set_meta(run["texts"], **change)
    res = _evaluate(run, "--text-embeddings", str(run["texts"]))
    assert res.exit_code == 2
    assert "text_embeddings.json" in res.output and shown in " ".join(res.output.split())
