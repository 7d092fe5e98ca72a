"""The target interest profile of a watch history: a documented, deterministic rule.

1. Label score = recurrence^2 x specificity.
   - recurrence: in how many of the user's videos the label appears;
   - specificity: 1 + log2(M / TrainVideoCount), M the largest count in the vocabulary ("Game").
     "Game" scores 1, "Vehicle" 2.0, "Car" 3.0, "Airplane" 5.5, "Renault" 9.4, "Ford Focus" 10.6,
     so a specific entity beats a generic one seen as often; recurrence is squared so that a label
     the user keeps coming back to beats a one-off rarity ("Tree" in two videos, 28.8, beats "Saw"
     once, 9.6).
2. Interest areas: the vocabulary verticals ("Autos & Vehicles", "Games", ...). An area's coverage is
   the number of videos with at least one label whose main vertical (Vertical1) is that area.
   Dominant areas are those with the largest coverage (ties included): this is where the user keeps
   coming back, even when no single label recurs ("Car" then "Airplane" are both Autos & Vehicles).
   A label is in a dominant area if any of its verticals (Vertical1-3) is one: "Tree" (Business &
   Industrial, Home & Garden, Science) counts for a Home & Garden user. Only Vertical1 counts for
   coverage because Vertical2-3 are broad catch-alls (Science holds "Nail (anatomy)" and
   "Two-stroke engine").
3. Generic labels (TrainVideoCount >= 250,000: Game, Video game, Vehicle, Concert, Musician) are never
   named, unless the history has nothing else.
4. Primary = labels in a dominant area ranked by score (ties: higher recurrence, then first
   appearance), keeping those scoring at least `primary_share` of the best, at most `max_primary`.
5. Secondary = the rest worth naming (score >= `min_secondary_score`, i.e. a one-off label needs
   fewer than about 100k training videos): first the best label of every main area (Vertical1) not
   yet named, by score, then the other labels by score, at most `max_secondary`. Breadth first, so a
   lone fishing video is not dropped.
6. Recommendation direction = the first two primary interests ("more videos about A and B") and, when
   there are secondary interests, the first two of them ("occasional videos about C and D").

The output is exactly three lines (see `format_profile`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from llmrec_data.interests.labels import Label

PRIMARY_PREFIX = "Primary interests: "
SECONDARY_PREFIX = "Secondary interests: "
DIRECTION_PREFIX = "Recommendation direction: "
NO_INTERESTS = "none"


@dataclass(frozen=True)
class ProfileConfig:
    """Knobs of the target profile rule (defaults are the documented rule)."""

    max_primary: int = 3
    """At most this many primary interests."""
    max_secondary: int = 3
    """At most this many secondary interests."""
    primary_share: float = 0.5
    """A primary interest scores at least this share of the best dominant-area score."""
    min_secondary_score: float = 4.0
    """A secondary interest scores at least this (4: a one-off label with at most ~98k videos)."""
    generic_min_count: int = 250_000
    """Labels with at least this many YouTube-8M training videos are too generic to name."""


@dataclass(frozen=True)
class ScoredLabel:
    """A label of the history with the figures the rule uses."""

    name: str
    area: str  # main area (Vertical1), for breadth
    areas: tuple[str, ...]  # all verticals, for dominance
    recurrence: int
    specificity: float
    score: float
    first_seen: int  # position of first appearance, over all videos' labels in order
    generic: bool


@dataclass(frozen=True)
class Profile:
    """The target profile: primary and secondary interest names, and the direction sentence."""

    primary: list[str]
    secondary: list[str]
    direction: str


def specificity(train_video_count: int, max_train_video_count: int) -> float:
    """1 + log2(M / count): 1 for the most common label, +1 for every halving of the count."""
    return 1.0 + math.log2(max_train_video_count / train_video_count)


def score_labels(
    videos: Sequence[Sequence[Label]], max_train_video_count: int, config: ProfileConfig
) -> list[ScoredLabel]:
    """Score every distinct label of the history, best first."""
    recurrence: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    by_name: dict[str, Label] = {}
    position = 0
    for labels in videos:
        for label in dict.fromkeys(labels):
            recurrence[label.name] = recurrence.get(label.name, 0) + 1
            first_seen.setdefault(label.name, position)
            by_name.setdefault(label.name, label)
            position += 1
    scored = []
    for name, label in by_name.items():
        spec = specificity(label.train_video_count, max_train_video_count)
        scored.append(
            ScoredLabel(
                name=name,
                area=label.vertical,
                areas=label.verticals,
                recurrence=recurrence[name],
                specificity=spec,
                score=recurrence[name] ** 2 * spec,
                first_seen=first_seen[name],
                generic=label.train_video_count >= config.generic_min_count,
            )
        )
    scored.sort(key=lambda s: (-s.score, -s.recurrence, s.first_seen))
    return scored


def area_coverage(videos: Sequence[Sequence[Label]]) -> dict[str, int]:
    """Number of videos with at least one label whose main vertical is each area."""
    coverage: dict[str, int] = {}
    for labels in videos:
        for area in {label.vertical for label in labels}:
            coverage[area] = coverage.get(area, 0) + 1
    return coverage


def _direction(primary: list[str], secondary: list[str]) -> str:
    text = "more videos about " + " and ".join(primary[:2])
    if secondary:
        text += "; occasional videos about " + " and ".join(secondary[:2])
    return text


def target_profile(
    videos: Sequence[Sequence[Label]],
    max_train_video_count: int,
    config: ProfileConfig | None = None,
) -> Profile:
    """Apply the rule (module docstring) to a history of videos, each a sequence of labels."""
    config = config or ProfileConfig()
    if not videos or not any(videos):
        raise ValueError("a history needs at least one video with a label")
    scored = score_labels(videos, max_train_video_count, config)
    nameable = [s for s in scored if not s.generic] or scored
    coverage = area_coverage(videos)
    # Dominance among the areas that still have something to name.
    best_coverage = max(coverage[s.area] for s in nameable)
    dominant_areas = {area for area, n in coverage.items() if n == best_coverage}
    dominant = [s for s in nameable if dominant_areas.intersection(s.areas)]
    top = dominant[0].score
    primary = [s for s in dominant if s.score >= config.primary_share * top][: config.max_primary]

    named_areas = {s.area for s in primary}
    rest = [s for s in nameable if s not in primary and s.score >= config.min_secondary_score]
    breadth: list[ScoredLabel] = []
    for s in rest:
        if s.area not in named_areas:
            breadth.append(s)
            named_areas.add(s.area)
    depth = [s for s in rest if s not in breadth]
    secondary = (breadth + depth)[: config.max_secondary]

    primary_names = [s.name for s in primary]
    secondary_names = [s.name for s in secondary]
    return Profile(primary_names, secondary_names, _direction(primary_names, secondary_names))


def format_profile(profile: Profile) -> str:
    """The exact three-line output the model is trained to write."""
    secondary = ", ".join(profile.secondary) if profile.secondary else NO_INTERESTS
    return (
        f"{PRIMARY_PREFIX}{', '.join(profile.primary)}.\n"
        f"{SECONDARY_PREFIX}{secondary}.\n"
        f"{DIRECTION_PREFIX}{profile.direction}."
    )
