"""A no-model reference point for interest summaries: count the labels of the input alone.

`recurrence` rule, per example, from its own `videos` only:
- a label's recurrence is the number of videos it appears in (once per video);
- primary = the labels with the highest recurrence, in order of first appearance, at most 3;
- secondary = the next labels by recurrence (ties: first appearance), at most 3;
- direction = `more videos about A[ and B][; occasional videos about C[ and D]]`, as llmrec-data's
  targets write it.
Optionally, labels that are too generic to be an interest ("Game", "Vehicle": at least N YouTube-8M
training videos in `vocabulary.csv`) are skipped unless the history has nothing else, as the target
rule skips them. The profile is written in the examples contract's three-line format, so every
baseline output complies, names only input labels (each once) and never runs on: only primary F1
says how good it is.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmrec_eval._errors import InputError
from llmrec_eval.interests.io import InterestExample
from llmrec_eval.interests.parse import DIRECTION, NONE_WORDS, PRIMARY, SECONDARY

METHODS = ("recurrence",)
GENERIC_ABOVE = 250_000
"""Default --generic-above: the target rule's threshold; on valid it beat no filter (see README)."""
MAX_PRIMARY = 3
MAX_SECONDARY = 3
NO_INTERESTS = "none"
assert NO_INTERESTS in NONE_WORDS  # what the parser reads as an empty list


@dataclass(frozen=True)
class BaselineProfile:
    primary: list[str]
    secondary: list[str]

    @property
    def direction(self) -> str:
        text = "more videos about " + " and ".join(self.primary[:2])
        if self.secondary:
            text += "; occasional videos about " + " and ".join(self.secondary[:2])
        return text

    def text(self) -> str:
        """The exact three-line profile (docs/contracts.md, interest-summary examples)."""
        secondary = ", ".join(self.secondary) or NO_INTERESTS
        return (
            f"{PRIMARY} {', '.join(self.primary)}.\n"
            f"{SECONDARY} {secondary}.\n"
            f"{DIRECTION} {self.direction}."
        )


def recurrence_profile(
    videos: Sequence[Sequence[str]], generic: Iterable[str] = ()
) -> BaselineProfile:
    """The `recurrence` rule (module docstring) on one history; `generic` labels are skipped unless
    every label is generic."""
    recurrence: dict[str, int] = {}  # insertion order = first appearance
    for video in videos:
        for label in dict.fromkeys(video):
            recurrence[label] = recurrence.get(label, 0) + 1
    if not recurrence:
        raise ValueError("a history needs at least one label")
    skipped = set(generic)
    candidates = [label for label in recurrence if label not in skipped] or list(recurrence)
    # sorted() is stable, so equal recurrences keep their order of first appearance.
    ranked = sorted(candidates, key=lambda label: -recurrence[label])
    best = recurrence[ranked[0]]
    primary = [label for label in ranked if recurrence[label] == best][:MAX_PRIMARY]
    secondary = [label for label in ranked if label not in primary][:MAX_SECONDARY]
    return BaselineProfile(primary, secondary)


def read_label_counts(path: Path) -> dict[str, int]:
    """YouTube-8M `vocabulary.csv`: label `Name` -> `TrainVideoCount`."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    counts: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"Name", "TrainVideoCount"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(
                f"{path}, line 1 (1-based): missing column(s) {sorted(missing)} "
                "(expected YouTube-8M vocabulary.csv: Name, TrainVideoCount)"
            )
        for row in reader:
            name, count = row["Name"], row["TrainVideoCount"]
            if not name:
                continue
            try:
                counts[name] = int(count)
            except (TypeError, ValueError) as e:
                raise InputError(
                    f"{path}, line {reader.line_num} (1-based), field 'TrainVideoCount': "
                    f"expected an integer, got {count!r}"
                ) from e
    if not counts:
        raise InputError(f"{path}: no labels")
    return counts


def generic_labels(counts: Mapping[str, int], above: int) -> set[str]:
    """Labels with at least `above` training videos."""
    return {name for name, count in counts.items() if count >= above}


def baseline_rows(
    path: Path, examples: Mapping[str, InterestExample], generic: Iterable[str] = ()
) -> list[dict[str, object]]:
    """One predictions.jsonl row per example of `path` (the fields llmrec-train generate writes)."""
    skipped = set(generic)
    rows: list[dict[str, object]] = []
    for number, example in enumerate(examples.values(), start=1):
        if not any(example.videos):
            line = _line_of(path, example.example_id) or number
            raise InputError(
                f"{path}, line {line} (1-based), field 'videos': no label to summarize "
                "(expected at least one video with a label)"
            )
        text = recurrence_profile(example.videos, skipped).text()
        rows.append(
            {
                "example_id": example.example_id,
                "target_item_id": None,
                "target_title": None,
                "predictions": [text],
                "scores": None,
            }
        )
    return rows


def _line_of(path: Path, example_id: str) -> int | None:
    """The line of `example_id` in `path` (only read to word an error)."""
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if line.strip() and json.loads(line).get("example_id") == example_id:
                return number
    return None


def jsonl(rows: Iterable[Mapping[str, object]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
