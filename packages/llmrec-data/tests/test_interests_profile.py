"""The target profile rule on the real YouTube-8M labels."""

from __future__ import annotations

import functools

import pytest
from llmrec_data.interests import (
    Label,
    LabelData,
    ProfileConfig,
    format_profile,
    load_label_data,
    score_labels,
    target_profile,
)


@functools.cache
def _data() -> LabelData:
    return load_label_data()  # $LLMREC_DATA_HOME/youtube8m: CI always provides it


@pytest.fixture(scope="module")
def data() -> LabelData:
    return _data()


def history(data: LabelData, *videos: str) -> list[list[Label]]:
    by_name = {label.name: label for label in data.vocabulary.values()}
    return [[by_name[name.strip()] for name in video.split(",")] for video in videos]


# The reference prompt of issue 6.
REFERENCE = (
    "Vehicle, Car, Renault, Ford Focus",
    "Vehicle, Aircraft, Airplane, Airline",
    "Cartoon, Inuyasha",
    "Fishing, Recreational fishing",
)


def test_loader_cleans_the_real_labels(data: LabelData) -> None:
    assert len(data.vocabulary) == 3862 - 56 - 6  # no name (56), a comma in the name (6)
    assert all("," not in label.name and label.name for label in data.vocabulary.values())
    assert len(data.videos) == 31_886  # 6 of 31,892 had only dropped labels
    assert all(video.labels for video in data.videos)
    assert data.max_train_video_count == 788_288  # "Game"


def test_specific_entity_beats_generic_one(data: LabelData) -> None:
    scored = {s.name: s for s in score_labels(history(data, *REFERENCE), 788_288, ProfileConfig())}
    assert (
        scored["Ford Focus"].specificity > scored["Car"].specificity > scored["Vehicle"].specificity
    )
    # Vehicle recurs (2 videos) and still loses to the one-off Ford Focus.
    assert scored["Vehicle"].recurrence == 2
    assert scored["Ford Focus"].score > scored["Vehicle"].score


def test_reference_history(data: LabelData) -> None:
    profile = target_profile(history(data, *REFERENCE), data.max_train_video_count)
    # Vehicles fill two of four videos: the dominant area, its specific labels first.
    assert profile.primary[:2] == ["Ford Focus", "Renault"]
    assert "Vehicle" not in profile.primary + profile.secondary  # too generic to name
    # Breadth: the lone cartoon and fishing videos are named, not dropped.
    assert "Inuyasha" in profile.secondary
    assert "Recreational fishing" in profile.secondary
    assert profile.direction.startswith("more videos about Ford Focus and Renault; occasional")


def test_recurring_label_wins(data: LabelData) -> None:
    videos = history(
        data,
        "Game, Video game, Minecraft",
        "Game, Minecraft, Garry's Mod",
        "Game, Video game, Minecraft",
        "Food, Recipe, Cooking",
    )
    profile = target_profile(videos, data.max_train_video_count)
    assert profile.primary[0] == "Minecraft"
    assert "Game" not in profile.primary
    # A one-off rarity does not outrank the label seen in three videos.
    scored = {s.name: s for s in score_labels(videos, 788_288, ProfileConfig())}
    assert scored["Garry's Mod"].specificity > scored["Minecraft"].specificity
    assert scored["Minecraft"].score > scored["Garry's Mod"].score


def test_vertical2_puts_a_recurring_label_in_the_dominant_area(data: LabelData) -> None:
    # Tree's Vertical1 is Business & Industrial, but it is also Home & Garden, the dominant area.
    videos = history(
        data,
        "Food, Recipe, Cooking, Kitchen",
        "Plant, Gardening, Garden, Tree",
        "Gran Turismo 5",
        "Tree, Saw, Logging, Chainsaw",
    )
    assert target_profile(videos, data.max_train_video_count).primary == ["Tree"]


def test_only_generic_labels_are_still_named(data: LabelData) -> None:
    profile = target_profile(history(data, "Game", "Game, Video game"), 788_288)
    assert profile.primary == ["Game"]


def test_format_is_exactly_three_lines(data: LabelData) -> None:
    text = format_profile(target_profile(history(data, *REFERENCE), 788_288))
    lines = text.split("\n")
    assert len(lines) == 3
    assert lines[0] == "Primary interests: Ford Focus, Renault, Airplane."
    assert lines[1].startswith("Secondary interests: Inuyasha, ")
    assert lines[2].startswith(
        "Recommendation direction: more videos about Ford Focus and Renault;"
    )
    assert lines[2].endswith(".")
    single = format_profile(target_profile(history(data, "Minecraft", "Minecraft"), 788_288))
    assert single.split("\n")[1:] == [
        "Secondary interests: none.",
        "Recommendation direction: more videos about Minecraft.",
    ]


def test_empty_history_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one video"):
        target_profile([], 788_288)
