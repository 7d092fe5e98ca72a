"""Readers for the contract files this package consumes (see docs/contracts.md).

Only the fields training and generation need are validated: `example_id`, `instruction`, `input`,
`output` (and the optional `system` prompt) for examples (so any instruction task with those fields works, e.g. interest summaries),
and `item_id`, `title` for the item catalogue.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmrec_train.errors import ContractError, UsageError

__all__ = [
    "ContractError",
    "Example",
    "grounded_text",
    "read_examples",
    "read_item_titles",
    "read_prediction_texts",
    "sample_examples",
]

REQUIRED_FIELDS = ("example_id", "instruction", "input", "output")


@dataclass(frozen=True)
class Example:
    """One instruction example. `raw` keeps the whole JSON row (targets are copied to predictions)."""

    example_id: str
    instruction: str
    input: str
    output: str
    raw: dict[str, Any]
    history_titles: tuple[str, ...] | None = None
    """The history's titles, oldest first, when the row has `history_titles` (for `--loss-on titles`)."""
    line: int = 0
    """1-based line in the file it was read from (0: not read from a file)."""

    @property
    def system(self) -> str | None:
        """The optional `system` prompt (None: the chat template's default)."""
        return self.raw.get("system")


def read_examples(
    path: Path, *, require_output: bool = True, require_videos: bool = False
) -> list[Example]:
    """Read a contract JSONL file; fail naming the file, 1-based line and field on bad input.

    `require_videos`: each row also needs `videos`, a non-empty list of lists of label strings (the
    interest-summary examples; constrained interest decoding names only those labels).
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError("examples file not found", file=path)
    examples: list[Example] = []
    seen: set[str] = set()
    for line_no, row in _jsonl_objects(path):
        fields = REQUIRED_FIELDS if require_output else REQUIRED_FIELDS[:3]
        for field in fields:
            if field not in row:
                raise ContractError(
                    "missing; expected a string", file=path, line=line_no, field=field
                )
            if not isinstance(row[field], str):
                raise ContractError(
                    f"expected a string, got {type(row[field]).__name__}",
                    file=path,
                    line=line_no,
                    field=field,
                )
        if not isinstance(row.get("system", ""), str | None):
            raise ContractError(
                f"expected a string or null, got {type(row['system']).__name__}",
                file=path,
                line=line_no,
                field="system",
            )
        if require_videos:
            _check_videos(path, line_no, row)
        history_titles = row.get("history_titles")
        if history_titles is not None and (
            not isinstance(history_titles, list)
            or not all(isinstance(t, str) and t for t in history_titles)
        ):
            raise ContractError(
                f"expected a list of non-empty strings, got {history_titles!r:.80}",
                file=path,
                line=line_no,
                field="history_titles",
            )
        if row["example_id"] in seen:
            raise ContractError(
                f"{row['example_id']!r} appears twice; expected unique ids",
                file=path,
                line=line_no,
                field="example_id",
            )
        seen.add(row["example_id"])
        examples.append(
            Example(
                example_id=row["example_id"],
                instruction=row["instruction"],
                input=row["input"],
                output=row.get("output", ""),
                raw=row,
                history_titles=tuple(history_titles) if history_titles is not None else None,
                line=line_no,
            )
        )
    return examples


def _jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line, object) of each non-blank line; a line that is not a JSON object is an error
    naming the file and line."""
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ContractError(f"not valid JSON ({e.msg})", file=path, line=line_no) from e
            if not isinstance(row, dict):
                raise ContractError(
                    f"expected a JSON object, got {type(row).__name__}", file=path, line=line_no
                )
            yield line_no, row


def _check_videos(path: Path, line_no: int, row: dict[str, Any]) -> None:
    videos = row.get("videos")
    if "videos" not in row:
        raise ContractError(
            "missing; expected the input labels (needed by --constrained-interests)",
            file=path,
            line=line_no,
            field="videos",
        )
    if (
        not isinstance(videos, list)
        or not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in videos)
        or not any(x.strip() for v in videos for x in v)
    ):
        raise ContractError(
            f"expected a list of lists of label strings with at least one label, got {videos!r}",
            file=path,
            line=line_no,
            field="videos",
        )


def sample_examples(examples: list[Example], n: int, seed: int) -> list[Example]:
    """`n` examples shuffled with `seed` (BIGRec's `--sample`); n < 0 or n >= len keeps all, shuffled."""
    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    if 0 <= n < len(order):
        order = order[:n]
    return [examples[i] for i in order]


def read_item_titles(path: Path) -> dict[int, str]:
    """`item_id -> title` from `items.parquet`; fails naming the 0-based row and field."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise UsageError("items file not found", file=path)
    table = pq.read_table(path)
    for column in ("item_id", "title"):
        if column not in table.column_names:
            raise ContractError(
                f"missing column; expected one (have {table.column_names})", file=path, field=column
            )
    ids = table.column("item_id").to_pylist()
    titles = table.column("title").to_pylist()
    out: dict[int, str] = {}
    for row, (item_id, title) in enumerate(zip(ids, titles, strict=True)):
        if not isinstance(item_id, int):
            raise ContractError(
                f"expected an integer, got {item_id!r}", file=path, row=row, field="item_id"
            )
        if not isinstance(title, str) or not title.strip():
            raise ContractError(
                f"expected a non-empty string, got {title!r}", file=path, row=row, field="title"
            )
        out[item_id] = title
    if not out:
        raise ContractError("the item catalogue is empty; expected items", file=path)
    return out


def grounded_text(text: str) -> str:
    """A generated text as grounding embeds it (docs/contracts.md, text embeddings): surrounding
    whitespace and double quotes stripped, BIGRec's `.strip('"')`. llmrec-eval keys its lookups in
    text_embeddings.json with the same rule (a root test checks both agree)."""
    return text.strip().strip('"').strip()


def read_prediction_texts(path: Path) -> list[str]:
    """The distinct grounded texts (`grounded_text`) of every row's `predictions`, in order of
    first appearance; fails naming the file, 1-based line and field on bad input."""
    path = Path(path)
    if not path.is_file():
        raise UsageError("predictions file not found", file=path)
    texts: dict[str, None] = {}  # an ordered set
    for line_no, row in _jsonl_objects(path):
        predictions = row.get("predictions")
        if not isinstance(predictions, list) or not all(isinstance(t, str) for t in predictions):
            raise ContractError(
                f"expected a list of generated strings, got {predictions!r:.80}",
                file=path,
                line=line_no,
                field="predictions",
            )
        texts.update((grounded_text(t), None) for t in predictions)
    if not texts:
        raise ContractError("no predictions; expected one JSON object per line", file=path)
    return list(texts)
