"""Users, splits and the written examples, from the real YouTube-8M labels."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from llmrec_data.errors import DataError
from llmrec_data.interests import (
    InterestsConfig,
    UserConfig,
    UserSampler,
    build_examples,
    load_label_data,
    prepare_interests,
)
from llmrec_data.interests.labels import default_youtube8m_dir
from llmrec_data.interests.prompts import INSTRUCTIONS

CONTRACT_FIELDS = {
    "example_id": str,
    "user_id": str,
    "user_kind": str,
    "anchors": list,
    "video_ids": list,
    "videos": list,
    "instruction": str,
    "input": str,
    "output": str,
    "target_primary": list,
    "target_secondary": list,
    "target_direction": str,
}

SMALL = InterestsConfig(n_train=300, n_valid=20, n_test=40, seed=3)


@pytest.fixture(scope="module")
def examples() -> dict[str, list[dict]]:
    return build_examples(load_label_data(), SMALL)


def test_coherent_users_are_drawn_around_their_anchors() -> None:
    videos = load_label_data().videos[:3000]
    sampler = UserSampler(videos, UserConfig(coherent_share=1.0, noise_prob=0.0))
    rng = random.Random(0)
    for i in range(50):
        user = sampler.sample(f"u{i}", rng)
        assert 4 <= len(user.videos) <= 8
        assert 1 <= len(user.anchors) <= 3
        assert len({sampler.anchor_vertical[a] for a in user.anchors}) == len(user.anchors)
        # Every video carries one of the anchors, and every anchor has a video.
        names = [set(video.names) for video in user.videos]
        assert all(names_ & set(user.anchors) for names_ in names)
        assert all(any(a in n for n in names) for a in user.anchors)
        assert len({video.video_id for video in user.videos}) == len(user.videos)


def test_examples_follow_the_contract(examples: dict[str, list[dict]]) -> None:
    assert {split: len(rows) for split, rows in examples.items()} == {
        "train": 300,
        "valid": 20,
        "test": 40,
    }
    for rows in examples.values():
        for row in rows:
            for name, kind in CONTRACT_FIELDS.items():
                assert isinstance(row[name], kind), name
            assert row["input"].split("\n")[0] == "1) " + ", ".join(row["videos"][0])
            assert row["output"].split("\n")[0] == (
                "Primary interests: " + ", ".join(row["target_primary"]) + "."
            )
            assert len(row["output"].split("\n")) == 3
            named = set(row["target_primary"] + row["target_secondary"])
            assert named <= {name for video in row["videos"] for name in video}
    ids = [row["example_id"] for rows in examples.values() for row in rows]
    assert len(ids) == len(set(ids))


def test_splits_are_by_user_on_disjoint_videos(examples: dict[str, list[dict]]) -> None:
    pools = {
        split: {v for row in rows for v in row["video_ids"]} for split, rows in examples.items()
    }
    assert not pools["train"] & pools["test"]
    assert not pools["train"] & pools["valid"]
    assert not pools["valid"] & pools["test"]
    users = {split: {row["user_id"] for row in rows} for split, rows in examples.items()}
    assert not users["train"] & users["test"]


def test_prompts_vary_and_both_user_kinds_appear(examples: dict[str, list[dict]]) -> None:
    train = examples["train"]
    assert {row["instruction"] for row in train} == set(INSTRUCTIONS)
    kinds = [row["user_kind"] for row in train]
    assert 0.6 < kinds.count("coherent") / len(kinds) < 0.8


def test_prepare_writes_files_reproducibly(tmp_path: Path) -> None:
    config = InterestsConfig(n_train=30, n_valid=5, n_test=5, seed=1)
    first = prepare_interests(tmp_path / "a", config)
    second = prepare_interests(tmp_path / "b", config)
    for split in ("train", "valid", "test"):
        assert first[split].read_bytes() == second[split].read_bytes()
        rows = [json.loads(line) for line in first[split].read_text().splitlines()]
        assert len(rows) == {"train": 30, "valid": 5, "test": 5}[split]
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["config"]["seed"] == 1
    assert set(manifest["inputs"]) == {"vocabulary.csv", "video_labels.tsv"}
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.endswith(".tmp")]


def test_bad_vocabulary_names_file_and_line(tmp_path: Path) -> None:
    real = default_youtube8m_dir()
    lines = (real / "vocabulary.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "vocabulary.csv").write_text(
        lines[0] + lines[1] + "2,many,/m/x,Vehicle,,Autos & Vehicles,,,text\n", encoding="utf-8"
    )
    (tmp_path / "video_labels.tsv").write_text("video_id\tlabel_ids\nv1\t0\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"vocabulary\.csv, line 3: Index and TrainVideoCount"):
        load_label_data(tmp_path)


def test_missing_data_home_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMREC_DATA_HOME")
    with pytest.raises(DataError, match="LLMREC_DATA_HOME is not set"):
        default_youtube8m_dir()


def test_cli_prepare(tmp_path: Path) -> None:
    from llmrec_data.cli import app
    from typer.testing import CliRunner

    args = ["interests", "prepare", "--out", str(tmp_path), "--n-train", "10"]
    result = CliRunner().invoke(app, [*args, "--n-valid", "2", "--n-test", "3", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "test.jsonl").read_text().splitlines()) == 3
