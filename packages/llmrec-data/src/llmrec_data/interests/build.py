"""Build the interest-summary examples and write train/valid/test.jsonl (+ manifest.json)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tqdm import tqdm

from llmrec_data._io import ensure_writable_dir
from llmrec_data.interests.labels import (
    VIDEO_LABELS_FILE,
    VOCABULARY_FILE,
    LabelData,
    default_youtube8m_dir,
    load_label_data,
)
from llmrec_data.interests.profile import ProfileConfig, format_profile, target_profile
from llmrec_data.interests.prompts import (
    HELD_OUT_INSTRUCTIONS,
    HELD_OUT_SYSTEM,
    INSTRUCTIONS,
    SHOWCASE_PROMPTS,
    PromptLayout,
    draw_held_out_layout,
    format_history,
    showcase_videos,
)
from llmrec_data.interests.users import User, UserConfig, UserSampler, split_videos

SPLITS = ("train", "valid", "test")
UNSEEN = "unseen"
"""The held-out prompts test set: test-pool users, prompt wordings and layouts never used in training."""
SHOWCASE = "showcase"
"""The four showcase prompts, verbatim (no targets: shown, not scored)."""


@dataclass(frozen=True)
class InterestsConfig:
    """Everything that decides the examples (recorded in manifest.json)."""

    n_train: int = 2000
    """Training users (one example each)."""
    n_valid: int = 100
    """Validation users."""
    n_test: int = 50
    """Held-out test users (50 keeps two CPU generation passes to minutes)."""
    n_unseen: int = 50
    """Users of the held-out prompts test set (`unseen.jsonl`; drawn from the test pool)."""
    unseen_videos: tuple[int, int] = (8, 12)
    """Fewest and most videos of an `unseen` history (training has 4 to 8)."""
    seed: int = 0
    """Seed of the video pools, the users and the prompt wordings."""
    video_shares: tuple[float, float, float] = (0.8, 0.1, 0.1)
    """Shares of the real videos in the train/valid/test pools (disjoint, so test videos are unseen)."""
    users: UserConfig = field(default_factory=UserConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)


def make_example(
    example_id: str,
    user: User,
    instruction: str,
    max_train_video_count: int,
    profile: ProfileConfig,
    layout: PromptLayout | None = None,
) -> dict[str, Any]:
    """One contract row: example_id, instruction, input, output, plus the structured fields.

    `layout`: a held-out prompt layout (None: the training one, `format_history`)."""
    videos = [list(video.labels) for video in user.videos]
    target = target_profile(videos, max_train_video_count, profile)
    names = [video.names for video in user.videos]
    history = format_history(names) if layout is None else layout.history(names)
    extra: dict[str, Any] = {}
    if layout is not None:
        if layout.instruction_after:  # the whole user turn is the instruction
            instruction, history = f"{history}\n{instruction}", ""
        if layout.system is not None:
            extra["system"] = layout.system
        extra["prompt_layout"] = asdict(layout)
    return {
        "example_id": example_id,
        "user_id": user.user_id,
        "user_kind": user.kind,
        "anchors": user.anchors,
        "video_ids": [video.video_id for video in user.videos],
        "videos": names,
        "target_item_id": None,
        "target_title": None,
        "instruction": instruction,
        "input": history,
        "output": format_profile(target),
        "target_primary": target.primary,
        "target_secondary": target.secondary,
        "target_direction": target.direction,
        **extra,
    }


def build_examples(data: LabelData, config: InterestsConfig) -> dict[str, list[dict[str, Any]]]:
    """Draw users split by split (disjoint video pools) and build their examples."""
    sizes = dict(zip(SPLITS, (config.n_train, config.n_valid, config.n_test), strict=True))
    pools = split_videos(
        data.videos, dict(zip(SPLITS, config.video_shares, strict=True)), config.seed
    )
    max_count = data.max_train_video_count
    examples: dict[str, list[dict[str, Any]]] = {}
    for split_index, split in enumerate(SPLITS):
        rng = random.Random(config.seed * 1000 + split_index)
        sampler = UserSampler(pools[split], config.users)
        rows = []
        for i in tqdm(range(sizes[split]), desc=f"interests {split}", leave=False):
            user = sampler.sample(f"{split}-u{i:06d}", rng)
            instruction = rng.choice(INSTRUCTIONS)
            rows.append(
                make_example(f"{split}-{i:06d}", user, instruction, max_count, config.profile)
            )
        examples[split] = rows
    return examples


def build_unseen_examples(data: LabelData, config: InterestsConfig) -> list[dict[str, Any]]:
    """The held-out prompts test set: users of the test pool with 8 to 12 videos, each asked with a
    held-out wording and a held-out layout (numbered `1.` or `-` lines, a `Labels:` prefix, `;`
    between labels, a header line, the request after the list, a system prompt)."""
    pools = split_videos(
        data.videos, dict(zip(SPLITS, config.video_shares, strict=True)), config.seed
    )
    low, high = config.unseen_videos
    users = replace(config.users, min_videos=low, max_videos=high)
    sampler = UserSampler(pools["test"], users)
    rng = random.Random(config.seed * 1000 + len(SPLITS))
    rows = []
    for i in range(config.n_unseen):
        user = sampler.sample(f"{UNSEEN}-u{i:06d}", rng)
        instruction = rng.choice(HELD_OUT_INSTRUCTIONS)
        layout = draw_held_out_layout(rng)
        rows.append(
            make_example(
                f"{UNSEEN}-{i:06d}",
                user,
                instruction,
                data.max_train_video_count,
                config.profile,
                layout,
            )
        )
    return rows


def showcase_examples() -> list[dict[str, Any]]:
    """The four showcase prompts as examples: the system prompt and the verbatim user turn."""
    return [
        {
            "example_id": f"{SHOWCASE}-{i:06d}",
            "videos": showcase_videos(prompt),
            "target_item_id": None,
            "target_title": None,
            "system": HELD_OUT_SYSTEM,
            "instruction": prompt,
            "input": "",
        }
        for i, prompt in enumerate(SHOWCASE_PROMPTS)
    ]


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare_interests(
    out_dir: Path, config: InterestsConfig, youtube8m_dir: Path | None = None
) -> dict[str, Path]:
    """Read the labels, build the examples and write `<split>.jsonl` (train, valid, test, unseen,
    showcase) and `manifest.json`."""
    started = time.time()
    folder = youtube8m_dir or default_youtube8m_dir()
    ensure_writable_dir(out_dir)
    data = load_label_data(folder)
    examples = build_examples(data, config)
    examples[UNSEEN] = build_unseen_examples(data, config)
    examples[SHOWCASE] = showcase_examples()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, rows in examples.items():
        path = out_dir / f"{split}.jsonl"
        _write_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        paths[split] = path
    manifest = {
        "stage": "llmrec-data interests prepare",
        "config": asdict(config),
        "seed": config.seed,
        "inputs": {
            name: {"path": str(folder / name), "sha256": _sha256(folder / name)}
            for name in (VOCABULARY_FILE, VIDEO_LABELS_FILE)
        },
        "counts": {split: len(rows) for split, rows in examples.items()},
        "n_videos": len(data.videos),
        "n_labels": len(data.vocabulary),
        "versions": {
            "python": platform.python_version(),
            "llmrec-data": version("llmrec-data"),
        },
        "wall_time_s": round(time.time() - started, 3),
    }
    _write_atomic(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return paths
