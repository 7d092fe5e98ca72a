"""The contracts the packages meet on, pinned: the golden fixtures, the title rule, the prompt text.

- `fixtures/` is what the current `llmrec-data prepare` / `interests prepare` writes on its slices
  (rerun here; a change to the data package that changes a contract file fails until the fixtures
  are regenerated with `fixtures/make_fixtures.py` and the change is explained in the commit);
- llmrec-data and llmrec-eval clean and normalise every title of the shared datasets to the same
  title and the same duplicate-group key (the packages cannot import each other, so the agreement
  is checked here, where both are installed);
- the prompt text of every fixture example is the one docs/contracts.md specifies.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


def _data_home() -> Path:
    home = os.environ.get("LLMREC_DATA_HOME")
    if not home:
        pytest.fail("LLMREC_DATA_HOME must point at the shared raw datasets (CI sets it)")
    return Path(home)


def _make_fixtures():
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the fixtures cannot drift -------------------------------------------------------------


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fixtures")
    _make_fixtures().build(out, _data_home())
    return out


def test_committed_fixtures_are_what_llmrec_data_writes_today(regenerated: Path) -> None:
    faults = _make_fixtures().differences(FIXTURES, regenerated)
    assert not faults, (
        "the committed fixtures differ from what the current llmrec-data writes:\n"
        + "\n".join(faults)
        + "\nregenerate with `uv run python fixtures/make_fixtures.py` and say why in the commit"
    )


def test_the_drift_check_sees_one_changed_line_and_one_changed_cell(
    regenerated: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(regenerated, changed)
    lines = (changed / "movie" / "test.jsonl").read_text(encoding="utf-8").splitlines(True)
    lines[3] = lines[3].replace('"output":"\\"', '"output":"\\" ', 1)
    (changed / "movie" / "test.jsonl").write_text("".join(lines), encoding="utf-8")
    items = pl.read_parquet(changed / "game" / "items.parquet")
    items.with_columns(pl.col("popularity") + (pl.col("item_id") == 7)).write_parquet(
        changed / "game" / "items.parquet"
    )
    faults = _make_fixtures().differences(changed, regenerated)
    assert [f.split(":")[0] for f in faults] == ["movie/test.jsonl", "game/items.parquet"]


def test_fixtures_stay_small() -> None:
    size = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert size < 1_000_000, f"fixtures/ holds {size:,} bytes"


# --- one title rule --------------------------------------------------------------------------


def _shared_raw_titles() -> dict[str, list[str]]:
    home = _data_home()
    files = {
        "movie": home / "movielens" / "ml-latest-small" / "movies.csv",
        "game": home / "amazon-video-games" / "items.csv",
    }
    titles = {}
    for name, path in files.items():
        with path.open(encoding="utf-8", newline="") as f:
            titles[name] = [row["title"] for row in csv.DictReader(f) if row["title"]]
    return titles


def test_data_and_eval_agree_on_every_title_of_the_shared_datasets() -> None:
    import numpy as np
    from llmrec_data import clean_title as data_clean
    from llmrec_data import normalise_title as data_key
    from llmrec_eval._titles import TitleIndex, clean_catalogue_title, loose_key
    from llmrec_eval._titles import normalise_title as eval_key

    for name, raw_titles in _shared_raw_titles().items():
        assert len(raw_titles) > 9000, name
        titles, faults = [], []
        for raw in raw_titles:
            title = data_clean(raw)
            if title != clean_catalogue_title(raw):
                faults.append(f"cleaned differently: {raw!r}")
            if title is None:
                continue
            titles.append(title)
            key = data_key(title)
            if eval_key(title) != key:
                faults.append(f"group key differs: {title!r}")
            # What a model writes (docs/contracts.md: the title in double quotes) has the same key.
            if loose_key(f'"{title}"') != key:
                faults.append(
                    f"quoted title keyed {loose_key(chr(34) + title + chr(34))!r}: {title!r}"
                )
        # Every quoted title, and its case-folded form, grounds to its own duplicate group.
        canonical: dict[str, int] = {}
        groups = np.array([canonical.setdefault(data_key(t), i) for i, t in enumerate(titles)])
        index = TitleIndex(titles, groups)
        for i, title in enumerate(titles):
            for text in (f'"{title}"', f'"{title.upper()}"', f"  {title} "):
                if index.lookup(text) != groups[i]:
                    faults.append(f"{text!r} looked up as {index.lookup(text)}, group {groups[i]}")
        assert not faults, f"{name}: {len(faults)} disagreements:\n" + "\n".join(faults[:10])


# --- the prompt text -------------------------------------------------------------------------


def _contract_wordings() -> dict[str, tuple[str, str]]:
    """{domain: (instruction, input prefix)} as docs/contracts.md states them."""
    text = " ".join((ROOT / "docs" / "contracts.md").read_text(encoding="utf-8").split())
    found = re.search(r"Wordings: movie `([^`]+)` / `([^`]+)`; game `([^`]+)` / `([^`]+)`", text)
    assert found, (
        "docs/contracts.md no longer states the wordings as `Wordings: movie ... game ...`"
    )
    return {"movie": found.group(1, 2), "game": found.group(3, 4)}


def _contract_example_row() -> dict:
    doc = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    block = doc.split("## `train.jsonl`", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    return json.loads(block)


def _prompt_faults(row: dict, instruction: str, prefix: str) -> list[str]:
    quoted = ", ".join(f'"{t}"' for t in row["history_titles"])
    expected = {
        "instruction": instruction,
        "input": f"{prefix}{quoted}\n ",
        "output": f'"{row["target_title"]}"',
    }
    return [
        f"{row['example_id']} {field}: {row[field]!r}, the contract says {want!r}"
        for field, want in expected.items()
        if row[field] != want
    ]


def test_the_contracts_own_example_row_follows_its_prompt_rule() -> None:
    instruction, prefix = _contract_wordings()["movie"]
    assert _prompt_faults(_contract_example_row(), instruction, prefix) == []


@pytest.mark.parametrize("dataset", ["movie", "game"])
def test_fixture_prompts_are_the_contracts_text(dataset: str) -> None:
    instruction, prefix = _contract_wordings()[dataset]
    titles = pl.read_parquet(FIXTURES / dataset / "items.parquet")["title"].to_list()
    faults = []
    for split in ("train", "valid", "test"):
        with (FIXTURES / dataset / f"{split}.jsonl").open(encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        assert len(rows) >= 40, (dataset, split)
        for k, row in enumerate(rows):
            assert row["example_id"] == f"{split}-{k:06d}"
            assert row["history_titles"] == [titles[i] for i in row["history_item_ids"]]
            assert row["target_title"] == titles[row["target_item_id"]]
            faults += _prompt_faults(row, instruction, prefix)
    assert not faults, "\n".join(faults[:5])


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_interest_fixture_prompts_are_the_contracts_text(split: str) -> None:
    """docs/contracts.md: `input` is one line a video (`1) Vehicle, Car, Renault`); `output` is the
    three-line profile written from `target_*`, `none` for no secondary interest."""
    with (FIXTURES / "interests" / f"{split}.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert rows
    for k, row in enumerate(rows):
        assert row["example_id"] == f"{split}-{k:06d}"
        assert row["target_item_id"] is None and row["target_title"] is None
        lines = [f"{n}) {', '.join(labels)}" for n, labels in enumerate(row["videos"], start=1)]
        assert row["input"] == "\n".join(lines), row["example_id"]
        assert row["output"] == (
            f"Primary interests: {', '.join(row['target_primary'])}.\n"
            f"Secondary interests: {', '.join(row['target_secondary']) or 'none'}.\n"
            f"Recommendation direction: {row['target_direction']}."
        ), row["example_id"]
        named = {label for labels in row["videos"] for label in labels}
        assert set(row["target_primary"]) | set(row["target_secondary"]) <= named
        assert 1 <= len(row["target_primary"]) <= 3 and len(row["target_secondary"]) <= 3


def test_no_stand_in_builder_is_left() -> None:
    """The tests and benchmarks read fixtures/ (or run the real `llmrec-data prepare`): the former
    MovieLens-to-contract stand-ins, which wrote the prompt text differently, are gone."""
    gone = [
        "packages/llmrec-train/src/llmrec_train/testing.py",
        "packages/llmrec-eval/benchmarks/_movielens.py",
    ]
    assert [path for path in gone if (ROOT / path).exists()] == []
    # The stand-ins' prompt: a space after the colon. No Python file of the packages writes it.
    wrong = "the following movies before: "
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "packages").rglob("*.py")
        if ".venv" not in path.parts and wrong in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_train_and_eval_key_generated_texts_alike() -> None:
    """`llmrec-train embed` writes each generated text under the key llmrec-eval looks it up by
    (docs/contracts.md, text embeddings): both strip surrounding whitespace and double quotes."""
    from llmrec_eval._titles import clean_title as eval_key
    from llmrec_train.data import grounded_text as train_key

    texts = [
        '"Heat (1995)"',
        '  "Heat (1995)" ',
        '""Quoted" Title"',
        "no quotes",
        "",
        '"',
        ' " x " ',
    ]
    for line in (FIXTURES / "game" / "valid.jsonl").read_text(encoding="utf-8").splitlines():
        texts.append(f'"{json.loads(line)["target_title"]}"')
    assert [train_key(t) for t in texts] == [eval_key(t) for t in texts]
