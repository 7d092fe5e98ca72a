"""llmrec-train reads every golden fixture (`fixtures/` at the repository root, written by the real
`llmrec-data prepare` and `interests prepare`) as the contracts say. No model is loaded here."""

from __future__ import annotations

from pathlib import Path

import pytest
from llmrec_train.data import read_examples, read_item_titles
from llmrec_train.profile_constraint import writable_labels

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


@pytest.mark.parametrize("dataset", ["movie", "game"])
@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_recommendation_fixtures_read_with_their_history_titles(dataset: str, split: str) -> None:
    titles = read_item_titles(FIXTURES / dataset / "items.parquet")
    examples = read_examples(FIXTURES / dataset / f"{split}.jsonl")
    assert examples
    for ex in examples:
        assert ex.history_titles == tuple(titles[i] for i in ex.raw["history_item_ids"])
        assert ex.output == f'"{titles[ex.raw["target_item_id"]]}"'


@pytest.mark.parametrize("split", ["train", "valid", "test", "unseen"])
def test_interest_fixtures_read_with_videos_and_name_only_writable_labels(split: str) -> None:
    examples = read_examples(FIXTURES / "interests" / f"{split}.jsonl", require_videos=True)
    assert examples
    for ex in examples:
        labels = writable_labels([label for video in ex.raw["videos"] for label in video])
        # the constrained decoder can write every interest of the target
        named = ex.raw["target_primary"] + ex.raw["target_secondary"]
        assert set(named) <= set(labels), ex.example_id


def test_showcase_fixture_reads_without_targets() -> None:
    examples = read_examples(
        FIXTURES / "interests" / "showcase.jsonl", require_output=False, require_videos=True
    )
    assert len(examples) == 4 and all(ex.raw.get("system") for ex in examples)
