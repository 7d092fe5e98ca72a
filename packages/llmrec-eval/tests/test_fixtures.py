"""llmrec-eval reads the golden fixtures (`fixtures/` at the repository root, written by the real
`llmrec-data prepare` and `interests prepare`) as the contracts say, without importing llmrec-data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from llmrec_eval import Catalogue, read_examples, read_items
from llmrec_eval.interests import parse_output

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def _groups(canonical: np.ndarray) -> set[frozenset[int]]:
    members: dict[int, set[int]] = {}
    for item, canon in enumerate(canonical.tolist()):
        members.setdefault(canon, set()).add(item)
    return {frozenset(m) for m in members.values()}


@pytest.mark.parametrize("dataset", ["movie", "game"])
def test_every_quoted_fixture_title_names_its_duplicate_group(dataset: str) -> None:
    catalogue = read_items(FIXTURES / dataset / "items.parquet")
    # The duplicate groups llmrec-data wrote are the ones llmrec-eval's title key forms.
    assert _groups(Catalogue.from_titles(catalogue.titles).canonical) == _groups(
        catalogue.canonical
    )
    assert catalogue.n_groups < catalogue.n_items  # the slice holds a real duplicate title
    for title, canon in zip(catalogue.titles, catalogue.canonical.tolist(), strict=True):
        # docs/contracts.md: prompts and outputs write a title in double quotes.
        assert catalogue.index.lookup(f'"{title}"') == canon, title
        assert catalogue.index.lookup(f'"{title.casefold()}"') == canon, title


def test_game_fixture_holds_titles_that_end_in_a_quote() -> None:
    titles = read_items(FIXTURES / "game" / "items.parquet").titles
    assert any(t.endswith('"') for t in titles) and any(not t.isascii() for t in titles)


@pytest.mark.parametrize("dataset", ["movie", "game"])
@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_fixture_examples_read_as_contract_examples(dataset: str, split: str) -> None:
    catalogue = read_items(FIXTURES / dataset / "items.parquet")
    examples = read_examples(FIXTURES / dataset / f"{split}.jsonl", catalogue.n_items)
    lines = (FIXTURES / dataset / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(examples.example_ids) == len(lines) > 0
    targets = [json.loads(line)["target_item_id"] for line in lines]
    assert examples.targets.tolist() == targets


@pytest.mark.parametrize("split", ["train", "valid", "test", "unseen"])
def test_interest_fixture_targets_parse_back_exactly(split: str) -> None:
    rows = [
        json.loads(line)
        for line in (FIXTURES / "interests" / f"{split}.jsonl").read_text("utf-8").splitlines()
    ]
    assert rows
    for row in rows:
        parsed = parse_output(row["output"])
        assert parsed.compliant and not parsed.run_on and not parsed.repeats, row["example_id"]
        assert parsed.primary == row["target_primary"], row["example_id"]
        assert parsed.secondary == row["target_secondary"], row["example_id"]
        assert parsed.direction == row["target_direction"], row["example_id"]
