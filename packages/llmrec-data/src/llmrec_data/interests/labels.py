"""Read the YouTube-8M label vocabulary and the real videos' label sets.

Files (under `$LLMREC_DATA_HOME/youtube8m/`, or any folder given explicitly):
- `vocabulary.csv`: Index, TrainVideoCount, KnowledgeGraphId, Name, WikiUrl, Vertical1-3, WikiDescription.
- `video_labels.tsv`: video_id, youtube_id, label_ids (space-separated vocabulary indices), labels.

Label names are taken from the vocabulary by index (the `labels` column is only a readable copy).
Cleaning, applied once here so that every later step sees the same labels:
- labels whose vocabulary name is missing (56 entries) are dropped from the videos;
- labels whose name contains a comma ("Nike, Inc.", "Warhammer 40,000") are dropped, because the
  output format separates interests with commas and such a name could not be parsed back;
- repeated labels within one video are kept once; videos left without labels are dropped.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from llmrec_data.errors import DataError

DATA_HOME_ENV = "LLMREC_DATA_HOME"
VOCABULARY_FILE = "vocabulary.csv"
VIDEO_LABELS_FILE = "video_labels.tsv"
UNKNOWN_VERTICAL = "(Unknown)"


@dataclass(frozen=True)
class Label:
    """One vocabulary entity."""

    index: int
    name: str
    train_video_count: int
    verticals: tuple[str, ...]  # Vertical1-3: the interest areas the label belongs to

    @property
    def vertical(self) -> str:
        """The main area (Vertical1)."""
        return self.verticals[0]


@dataclass(frozen=True)
class Video:
    """A real video and its (cleaned) labels, in the file's order."""

    video_id: str
    labels: tuple[Label, ...]

    @property
    def names(self) -> list[str]:
        return [label.name for label in self.labels]


@dataclass(frozen=True)
class LabelData:
    """The vocabulary by index and the cleaned videos."""

    vocabulary: dict[int, Label]
    videos: list[Video]

    @property
    def max_train_video_count(self) -> int:
        return max(label.train_video_count for label in self.vocabulary.values())


def default_youtube8m_dir() -> Path:
    """`$LLMREC_DATA_HOME/youtube8m`; a clear error if the variable is unset."""
    home = os.environ.get(DATA_HOME_ENV)
    if not home:
        raise DataError(
            f"{DATA_HOME_ENV} is not set: point it at the datasets folder that holds youtube8m/ "
            "(vocabulary.csv, video_labels.tsv), or pass the folder explicitly."
        )
    return Path(home) / "youtube8m"


def _read_vocabulary(path: Path) -> dict[int, Label]:
    if not path.is_file():
        raise DataError("vocabulary file not found", file=path)
    vocabulary: dict[int, Label] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"Index", "TrainVideoCount", "Name", "Vertical1"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"missing columns {sorted(missing)}", file=path, line=1)
        for line, row in enumerate(reader, start=2):
            try:
                index = int(row["Index"])
                count = int(row["TrainVideoCount"])
            except ValueError as e:
                raise DataError(
                    f"Index and TrainVideoCount must be integers ({e})", file=path, line=line
                ) from None
            if count <= 0:
                raise DataError("expected a positive TrainVideoCount", file=path, line=line)
            name = row["Name"].strip()
            if not name or "," in name:
                continue
            verticals = tuple(
                v
                for key in ("Vertical1", "Vertical2", "Vertical3")
                if (v := (row.get(key) or "").strip())
            ) or (UNKNOWN_VERTICAL,)
            vocabulary[index] = Label(index, name, count, verticals)
    return vocabulary


def _read_videos(path: Path, vocabulary: dict[int, Label]) -> list[Video]:
    if not path.is_file():
        raise DataError("video labels file not found", file=path)
    videos: list[Video] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = {"video_id", "label_ids"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"missing columns {sorted(missing)}", file=path, line=1)
        for line, row in enumerate(reader, start=2):
            try:
                ids = [int(token) for token in row["label_ids"].split()]
            except ValueError:
                raise DataError(
                    "expected space-separated integers", file=path, line=line, field="label_ids"
                ) from None
            labels: list[Label] = []
            for label_id in dict.fromkeys(ids):
                if label_id in vocabulary:
                    labels.append(vocabulary[label_id])
            if labels:
                videos.append(Video(row["video_id"], tuple(labels)))
    return videos


def load_label_data(folder: Path | None = None) -> LabelData:
    """Read and clean `vocabulary.csv` and `video_labels.tsv` from `folder` (default: data home)."""
    folder = folder or default_youtube8m_dir()
    vocabulary = _read_vocabulary(folder / VOCABULARY_FILE)
    videos = _read_videos(folder / VIDEO_LABELS_FILE, vocabulary)
    if not videos:
        raise DataError("no video has a usable label", file=folder / VIDEO_LABELS_FILE)
    return LabelData(vocabulary, videos)
