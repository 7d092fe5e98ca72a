"""Read interest-summary examples and predictions (docs/contracts.md), validating as we go."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmrec_eval._errors import InputError
from llmrec_eval._io import write_text


@dataclass(frozen=True)
class InterestExample:
    """The fields of an interest-summary example that evaluation needs."""

    example_id: str
    instruction: str
    input: str
    videos: list[list[str]]
    target_primary: list[str] | None  # None: an example without targets (shown, not scored)
    target_output: str | None
    user_kind: str | None
    system: str | None = None  # the example's own system prompt, if it has one

    @property
    def labels(self) -> list[str]:
        """Every input label, once, in order."""
        return list(dict.fromkeys(name for video in self.videos for name in video))


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(
                    f"{path}, line {number} (1-based): not valid JSON ({e.msg})"
                ) from e
            if not isinstance(row, dict):
                raise InputError(f"{path}, line {number} (1-based): expected a JSON object")
            rows.append((number, row))
    return rows


def _field(path: Path, number: int, row: dict[str, Any], name: str, kind: type) -> Any:
    if name not in row:
        raise InputError(f"{path}, line {number} (1-based): missing field {name!r}")
    value = row[name]
    if not isinstance(value, kind):
        raise InputError(
            f"{path}, line {number} (1-based), field {name!r}: expected {kind.__name__}, "
            f"got {type(value).__name__}"
        )
    return value


def _string_list(path: Path, number: int, value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(
            f"{path}, line {number} (1-based), field {name!r}: expected a list of strings"
        )
    return value


def read_examples(path: Path) -> dict[str, InterestExample]:
    """`test.jsonl` of `llmrec-data interests prepare`, by example_id, in file order.

    A file whose rows all lack `target_primary` and `output` (`showcase.jsonl`) is read without
    targets: its outputs are shown, not scored. A file with targets needs them on every row.
    """
    examples: dict[str, InterestExample] = {}
    rows = _rows(path)
    scored = any("target_primary" in row or "output" in row for _, row in rows)
    for number, row in rows:
        example_id = _field(path, number, row, "example_id", str)
        if example_id in examples:
            raise InputError(
                f"{path}, line {number} (1-based): duplicate example_id {example_id!r}"
            )
        videos = _field(path, number, row, "videos", list)
        for video in videos:
            _string_list(path, number, video, "videos")
        examples[example_id] = InterestExample(
            example_id=example_id,
            instruction=_field(path, number, row, "instruction", str),
            input=_field(path, number, row, "input", str),
            videos=videos,
            target_primary=_string_list(
                path, number, _field(path, number, row, "target_primary", list), "target_primary"
            )
            if scored
            else None,
            target_output=_field(path, number, row, "output", str) if scored else None,
            user_kind=row.get("user_kind"),
            system=row.get("system") if isinstance(row.get("system"), str) else None,
        )
    if not examples:
        raise InputError(f"{path}: no examples")
    return examples


def read_predictions(path: Path) -> dict[str, str]:
    """`predictions.jsonl`: the first (best) generated text of each example, by example_id."""
    texts: dict[str, str] = {}
    for number, row in _rows(path):
        example_id = _field(path, number, row, "example_id", str)
        predictions = _string_list(
            path, number, _field(path, number, row, "predictions", list), "predictions"
        )
        if not predictions:
            raise InputError(f"{path}, line {number} (1-based), field 'predictions': empty list")
        if example_id in texts:
            raise InputError(
                f"{path}, line {number} (1-based): duplicate example_id {example_id!r}"
            )
        texts[example_id] = predictions[0]
    if not texts:
        raise InputError(f"{path}: no predictions")
    return texts


def read_meta(predictions_path: Path) -> dict[str, Any] | None:
    """`predictions.meta.json` beside the predictions, if there is one."""
    meta = predictions_path.with_name(predictions_path.name.replace(".jsonl", ".meta.json"))
    if not meta.is_file():
        return None
    try:
        value = json.loads(meta.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{meta}: not valid JSON ({e.msg})") from e
    return value if isinstance(value, dict) else None


def check_ids(examples_path: Path, examples: dict[str, Any], path: Path, ids: set[str]) -> None:
    """Every predicted example must exist in the examples file."""
    unknown = sorted(ids - set(examples))
    if unknown:
        raise InputError(
            f"{path}: {len(unknown)} example_id(s) not in {examples_path}, e.g. {unknown[0]!r}"
        )


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, then rename (complete or absent)."""
    write_text(path, text)
