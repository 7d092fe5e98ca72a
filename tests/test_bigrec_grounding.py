"""BIGRec-exact grounding end to end: `llmrec-train embed` writes the real SmolLM2's hidden states
of the catalogue titles and of the generated texts, and `llmrec-eval evaluate --text-embeddings`
grounds with them: a title generated verbatim ranks its own item first, and every other text is
ranked by the L2 distance between the two files' vectors (checked here with numpy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow  # loads SmolLM2

ROOT = Path(__file__).resolve().parents[1]
GAME = ROOT / "fixtures" / "game"
runner = CliRunner()


def test_llm_hidden_states_ground_generated_texts(tmp_path: Path) -> None:
    from llmrec_eval.cli import app as eval_app
    from llmrec_train.cli import app as train_app

    items = pl.read_parquet(GAME / "items.parquet")
    examples = [json.loads(line) for line in (GAME / "valid.jsonl").read_text().splitlines()[:3]]
    texts = [
        [f'"{examples[0]["target_title"]}"', "a racing game"],  # verbatim title first
        ["an open world crime game for the Xbox"],
        ['"A wireless controller"', "a wireless controller"],  # one key once quotes are stripped
    ]
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(
        "".join(
            json.dumps(
                {"example_id": ex["example_id"], "target_item_id": ex["target_item_id"]}
                | {"predictions": t}
            )
            + "\n"
            for ex, t in zip(examples, texts, strict=True)
        ),
        encoding="utf-8",
    )
    emb = tmp_path / "emb"
    res = runner.invoke(
        train_app,
        ["embed", "--items", str(GAME / "items.parquet"), "--predictions", str(predictions)]
        + ["--out", str(emb), "--no-bf16"],
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "eval"
    res = runner.invoke(
        eval_app,
        ["evaluate", "--predictions", str(predictions), "--items", str(GAME / "items.parquet")]
        + ["--embeddings", str(emb / "item_embeddings.npy"), "--text-embeddings", str(emb)]
        + ["--fusion", "first", "--bootstrap", "0", "--no-plot", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["grounding"]["texts_exact"] == 1
    assert metrics["grounding"]["strings_embedded"] == 2  # looked up in text_embeddings.npy
    ranks = pl.read_parquet(out / "ranks.parquet")["rank"].to_list()
    assert ranks[0] == 0  # the verbatim title: its own item, distance 0

    # The other two by hand: L2 from the text's vector to every item, each duplicate group scored
    # by its closest member, ties to the smaller canonical id (docs/contracts.md).
    item_vectors = np.load(emb / "item_embeddings.npy")
    meta = json.loads((emb / "text_embeddings.json").read_text())
    text_vectors = np.load(emb / "text_embeddings.npy")
    canonical = items["canonical_item_id"].to_numpy()
    groups = np.unique(canonical)
    for row in (1, 2):
        query = text_vectors[meta["texts"].index(texts[row][0].strip('"'))]
        distance = np.linalg.norm(item_vectors - query, axis=1)
        best = np.array([distance[canonical == g].min() for g in groups])
        target = canonical[examples[row]["target_item_id"]]
        mine = best[groups == target][0]
        expected = int(((best < mine) | ((best == mine) & (groups < target))).sum())
        assert ranks[row] == expected
