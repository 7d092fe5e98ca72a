"""The held-out prompts test set (`unseen.jsonl`) and the showcase prompts, from the real labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from llmrec_data.interests import InterestsConfig, build_examples, load_label_data
from llmrec_data.interests.build import build_unseen_examples, prepare_interests, showcase_examples
from llmrec_data.interests.prompts import HELD_OUT_INSTRUCTIONS, INSTRUCTIONS

CONFIG = InterestsConfig(n_train=2000, n_valid=20, n_test=20, n_unseen=200, seed=0)
TRAINING_LINE = re.compile(r"\d+\) (?!Labels: )[^;\n]+")
"""A line of a training history: `3) Cartoon, Inuyasha`."""


@pytest.fixture(scope="module")
def sets() -> tuple[list[dict], list[dict]]:
    data = load_label_data()
    return build_examples(data, CONFIG)["train"], build_unseen_examples(data, CONFIG)


def _user_turn(row: dict) -> str:
    return f"{row['instruction']}\n\n{row['input']}" if row["input"] else row["instruction"]


def test_unseen_prompts_never_occur_in_training(sets) -> None:
    train, unseen = sets
    # Training: one of the training wordings, then the `1) a, b` list, no system prompt.
    for row in train:
        assert row["instruction"] in INSTRUCTIONS and "system" not in row
        assert all(TRAINING_LINE.fullmatch(line) for line in row["input"].split("\n"))
    assert not set(HELD_OUT_INSTRUCTIONS) & set(INSTRUCTIONS)
    train_turns = {_user_turn(row) for row in train}
    for row in unseen:
        turn = _user_turn(row)
        assert turn not in train_turns
        assert not any(wording in turn for wording in INSTRUCTIONS)
        assert any(wording in turn for wording in HELD_OUT_INSTRUCTIONS)
        # Its list is laid out differently: a header line, or lines training never has.
        lines = turn.split("\n")
        history = [line for line in lines if line not in HELD_OUT_INSTRUCTIONS]
        assert not all(TRAINING_LINE.fullmatch(line) for line in history), turn
        assert 8 <= len(row["videos"]) <= 12


def test_unseen_layouts_cover_every_held_out_feature(sets) -> None:
    _, unseen = sets
    turns = [_user_turn(row) for row in unseen]
    assert any(re.search(r"^1\. ", t, re.MULTILINE) for t in turns)
    assert any(re.search(r"^- ", t, re.MULTILINE) for t in turns)
    assert any("Labels: " in t for t in turns)
    assert any("; " in t for t in turns)
    assert any(t.split("\n")[0].endswith(":") and "Labels" not in t.split("\n")[0] for t in turns)
    assert any(not row["input"] for row in unseen) and any(row["input"] for row in unseen)
    assert any(row.get("system") == "You are a helpful assistant." for row in unseen)
    assert {len(row["videos"]) for row in unseen} == set(range(8, 13))


def test_unseen_targets_follow_the_same_rule(sets) -> None:
    """The unseen rows have the same target fields, from the same rule, on test-pool videos."""
    _, unseen = sets
    for row in unseen:
        labels = {name for video in row["videos"] for name in video}
        assert set(row["target_primary"] + row["target_secondary"]) <= labels
        assert row["output"].startswith("Primary interests: " + ", ".join(row["target_primary"]))
        assert row["example_id"].startswith("unseen-")


def test_showcase_prompts_are_verbatim() -> None:
    rows = showcase_examples()
    assert len(rows) == 4
    assert rows[0]["instruction"].split("\n")[1] == "1) Vehicle, Car, Renault, Ford Focus"
    assert rows[2]["instruction"].endswith(
        "4) Dance, Performance art\nSummarize the user's interests."
    )
    assert rows[3]["videos"] == [
        ["Makeup", "Cosmetics", "Lipstick"],
        ["Hairstyle", "Wig"],
        ["Fashion", "Streetwear"],
        ["Skincare"],
    ]
    assert all(
        row["system"] == "You are a helpful assistant." and row["input"] == "" for row in rows
    )


def test_prepare_writes_unseen_and_showcase(tmp_path: Path) -> None:
    config = InterestsConfig(n_train=20, n_valid=5, n_test=5, n_unseen=6, seed=2)
    paths = prepare_interests(tmp_path, config)
    assert set(paths) == {"train", "valid", "test", "unseen", "showcase"}
    unseen = [json.loads(line) for line in paths["unseen"].read_text().splitlines()]
    assert len(unseen) == 6
    test_videos = {
        v for line in paths["test"].read_text().splitlines() for v in json.loads(line)["video_ids"]
    }
    train_videos = {
        v for line in paths["train"].read_text().splitlines() for v in json.loads(line)["video_ids"]
    }
    assert not {v for row in unseen for v in row["video_ids"]} & train_videos
    assert test_videos  # drawn from the same held-out pool as test
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["counts"] == {"train": 20, "valid": 5, "test": 5, "unseen": 6, "showcase": 4}
