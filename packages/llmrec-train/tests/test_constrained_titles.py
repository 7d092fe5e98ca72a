"""Constrained outputs are always catalogue titles, on the golden fixtures' real catalogues.

The game catalogue (fixtures/game, written by the real `llmrec-data prepare`) holds the titles that
break naive rules: titles ending in a double quote (`N64 Retro Bit Controller "Solid Black"`, so the
prediction ends in `""`), quotes inside, `®`, an en dash, a typographic apostrophe, duplicate titles. docs/contracts.md: with
`constrained: true` every prediction is exactly `"` + a catalogue `title` + `"`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llmrec_train.config import GenerateConfig
from llmrec_train.constrained import TitleTrie
from llmrec_train.data import read_item_titles
from llmrec_train.generate import generate
from llmrec_train.models import load_tokenizer
from llmrec_train.templates import PromptBuilder

pytestmark = pytest.mark.slow  # SmolLM2's tokenizer, and generation

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def _paths(node: dict, prefix: list[int]):
    """Every complete token sequence of the trie (a leaf ends a sequence: the end-of-turn token)."""
    if not node:
        yield prefix
    for token, child in node.items():
        yield from _paths(child, [*prefix, token])


@pytest.mark.parametrize("dataset", ["movie", "game"])
@pytest.mark.parametrize("prompt_format", ["chat", "plain"])
def test_every_trie_path_decodes_to_exactly_one_quoted_title(
    model_path: str, dataset: str, prompt_format: str
) -> None:
    builder = PromptBuilder(load_tokenizer(model_path), "basic", prompt_format)
    titles = set(read_item_titles(FIXTURES / dataset / "items.parquet").values())
    assert any(t.endswith('"') for t in titles) or dataset == "movie"
    trie = TitleTrie.from_titles(titles, builder)
    decoded = [builder.decode_completion(path) for path in _paths(trie.root, [])]
    # What generate writes for each path is one title, quoted; every title is reachable.
    assert sorted(decoded) == sorted(f'"{t}"' for t in titles)


def test_constrained_beams_on_the_game_catalogue_are_quoted_titles(
    model_path: str, tmp_path: Path
) -> None:
    items = FIXTURES / "game" / "items.parquet"
    out = generate(
        GenerateConfig(
            examples=FIXTURES / "game" / "test.jsonl",
            out=tmp_path / "predictions.jsonl",
            decoding="beam",
            num_beams=6,
            num_return_sequences=6,
            n=4,
            constrained=True,
            items=items,
            batch_size=2,
        )
    )
    titles = set(read_item_titles(items).values())
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4
    for row in rows:
        predictions = row["predictions"]
        assert len(predictions) == 6 and len(set(predictions)) == 6, predictions
        for text in predictions:
            assert text.startswith('"') and text.endswith('"') and text[1:-1] in titles, text
