"""Simulated users: watch histories of real videos.

There are no real YouTube-8M users, so users are drawn from the real videos, seeded:
- random users: N videos drawn uniformly (no particular taste; the profile is still defined);
- coherent users: one to three interests, each an *anchor* label (a non-generic label carried by at
  least `min_anchor_videos` videos of the pool, anchors of one user in different verticals). The N
  slots are shared among the anchors with weights k, k-1, ..., 1 (the first interest dominates), every
  anchor gets at least one video, each slot is a random video carrying its anchor, and with probability
  `noise_prob` one slot is replaced by a random video (real traffic is not pure).
N is uniform in [min_videos, max_videos]. The videos of a history are shuffled (no order is implied).
Users of different splits are drawn from disjoint video pools (see `split_videos`), so held-out users
have never-seen videos.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from llmrec_data.interests.labels import Video


@dataclass(frozen=True)
class UserConfig:
    """How watch histories are drawn."""

    min_videos: int = 4
    """Fewest videos in a history."""
    max_videos: int = 8
    """Most videos in a history."""
    coherent_share: float = 0.7
    """Share of coherent users (the rest are random users)."""
    noise_prob: float = 0.3
    """Chance that a coherent user has one off-interest random video."""
    min_anchor_videos: int = 8
    """An anchor label needs at least this many videos in the pool."""
    generic_min_count: int = 250_000
    """Labels this common are never anchors (same threshold as the profile rule)."""


@dataclass(frozen=True)
class User:
    user_id: str
    kind: str  # "random" or "coherent"
    anchors: list[str]  # the interests a coherent user was drawn around; empty for random users
    videos: list[Video]


class UserSampler:
    """Draws users from one pool of videos."""

    def __init__(self, videos: Sequence[Video], config: UserConfig) -> None:
        if len(videos) < config.max_videos:
            raise ValueError(
                f"a pool of {len(videos)} videos is too small for {config.max_videos}-video histories"
            )
        if not 1 <= config.min_videos <= config.max_videos:
            raise ValueError("need 1 <= min_videos <= max_videos")
        self.videos = list(videos)
        self.config = config
        by_label: dict[str, list[int]] = defaultdict(list)
        vertical: dict[str, str] = {}
        for i, video in enumerate(self.videos):
            for label in video.labels:
                if label.train_video_count < config.generic_min_count:
                    by_label[label.name].append(i)
                    vertical[label.name] = label.vertical
        self.anchor_videos = {
            name: ids for name, ids in by_label.items() if len(ids) >= config.min_anchor_videos
        }
        self.anchors = sorted(self.anchor_videos)
        self.anchor_vertical = vertical
        if not self.anchors:
            raise ValueError("no label has enough videos in the pool to anchor a coherent user")

    def _pick_anchors(self, k: int, rng: random.Random) -> list[str]:
        chosen: list[str] = []
        verticals: set[str] = set()
        for _ in range(50 * k):
            if len(chosen) == k:
                break
            name = rng.choice(self.anchors)
            if self.anchor_vertical[name] not in verticals:
                chosen.append(name)
                verticals.add(self.anchor_vertical[name])
        return chosen

    def sample(self, user_id: str, rng: random.Random) -> User:
        n = rng.randint(self.config.min_videos, self.config.max_videos)
        if rng.random() >= self.config.coherent_share:
            picked = rng.sample(range(len(self.videos)), n)
            return User(user_id, "random", [], [self.videos[i] for i in picked])

        k = min(rng.choice([1, 1, 2, 2, 3]), n)
        anchors = self._pick_anchors(k, rng)
        weights = list(range(len(anchors), 0, -1))
        slots = list(anchors) + rng.choices(anchors, weights=weights, k=n - len(anchors))
        if rng.random() < self.config.noise_prob and n > len(anchors):
            slots[-1] = ""  # one off-interest video
        picked_ids: list[int] = []
        for anchor in slots:
            candidates = self.anchor_videos[anchor] if anchor else range(len(self.videos))
            for _ in range(20):  # avoid repeating a video within a history
                i = rng.choice(candidates)
                if i not in picked_ids:
                    picked_ids.append(i)
                    break
        rng.shuffle(picked_ids)
        return User(user_id, "coherent", anchors, [self.videos[i] for i in picked_ids])


def split_videos(
    videos: Sequence[Video], shares: dict[str, float], seed: int
) -> dict[str, list[Video]]:
    """Partition the videos into disjoint pools, one per split, by a seeded shuffle."""
    order = list(videos)
    random.Random(seed).shuffle(order)
    pools: dict[str, list[Video]] = {}
    start = 0
    names = list(shares)
    total = sum(shares.values())
    for j, name in enumerate(names):
        end = (
            len(order) if j == len(names) - 1 else start + round(len(order) * shares[name] / total)
        )
        pools[name] = order[start:end]
        start = end
    return pools
