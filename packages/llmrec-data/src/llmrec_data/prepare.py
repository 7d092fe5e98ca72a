"""`prepare`: raw files -> items.parquet, train/valid/test.jsonl, manifest.json."""

from __future__ import annotations

import dataclasses
import platform
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from llmrec_data import _examples, _readers
from llmrec_data._catalogue import build_catalogue, finish_catalogue
from llmrec_data._cleaning import Hygiene
from llmrec_data._io import atomic_path, ensure_writable_dir, sha256_file, write_json
from llmrec_data._presets import PRESETS, Preset
from llmrec_data._sources import SOURCES, data_home, ensure_source
from llmrec_data.config import PrepareConfig
from llmrec_data.errors import DataError


@dataclass(frozen=True)
class Settings:
    """The processing choices in force: the preset's defaults with the config's overrides applied."""

    split: str
    min_history: int
    max_history: int
    short_users_last_item: bool
    target_rating_above: float | None
    split_ties: str
    sampling: str
    encoding: str
    drop_missing_titles: bool
    drop_unknown_items: bool
    domain: str
    train_ratio: float
    valid_ratio: float


@dataclass
class PrepareResult:
    """What `prepare` wrote and counted."""

    out: Path
    n_items: int
    n_users: int
    n_interactions: int
    examples: dict[str, int]  # per split, before sampling
    written: dict[str, int]  # per split, rows in the file
    skipped: dict[str, int]
    hygiene: dict[str, int]  # duplicates and repeats found (dropped or not), k-core drops
    sampling: str  # how valid/test were sampled
    manifest: dict[str, Any]


def resolve_settings(config: PrepareConfig, preset: Preset) -> Settings:
    def pick(value, default):
        return default if value is None else value

    rating = pick(config.target_rating_above, preset.target_rating_above)
    settings = Settings(
        split=pick(config.split, preset.split),
        min_history=pick(config.min_history, preset.min_history),
        max_history=config.max_history,
        short_users_last_item=pick(config.short_users_last_item, preset.short_users_last_item),
        target_rating_above=None if rating is not None and rating < 0 else rating,
        split_ties=pick(config.split_ties, preset.split_ties),
        sampling=pick(config.sampling, preset.sampling),
        encoding=pick(config.encoding, preset.encoding),
        drop_missing_titles=pick(config.drop_missing_titles, preset.drop_missing_titles),
        drop_unknown_items=pick(config.drop_unknown_items, preset.drop_unknown_items),
        domain=pick(config.domain, preset.domain),
        train_ratio=config.train_ratio,
        valid_ratio=config.valid_ratio,
    )
    if settings.split not in ("time", "leave-last-out", "auto"):
        raise DataError(f"--split must be time, leave-last-out or auto, not {settings.split!r}")
    if settings.split_ties not in ("earlier", "straddle"):
        raise DataError(f"--split-ties must be earlier or straddle, not {settings.split_ties!r}")
    if settings.sampling not in _examples.SAMPLINGS:
        raise DataError(
            f"--sampling must be one of {', '.join(_examples.SAMPLINGS)}, not {settings.sampling!r}"
        )
    if config.k_core < 0:
        raise DataError(f"--k-core must be 0 (off) or a positive count, not {config.k_core}")
    if settings.domain not in _examples.PROMPTS:
        raise DataError(
            f"--domain must be one of {sorted(_examples.PROMPTS)}, not {settings.domain!r}"
        )
    if not 1 <= settings.min_history <= settings.max_history:
        raise DataError(
            f"need 1 <= min_history ({settings.min_history}) <= max_history ({settings.max_history})"
        )
    if not (
        settings.train_ratio > 0
        and settings.valid_ratio >= 0
        and settings.train_ratio + settings.valid_ratio < 1
    ):
        raise DataError("need 0 < train_ratio, 0 <= valid_ratio and train_ratio + valid_ratio < 1")
    return settings


def _columns(config: PrepareConfig, preset: Preset) -> _readers.Columns:
    base = preset.columns or _readers.Columns()
    extra = (
        tuple(c.strip() for c in config.extra_columns.split(",") if c.strip())
        if config.extra_columns
        else base.extra
    )
    columns = dataclasses.replace(
        base,
        user=config.user_column or base.user,
        item=config.item_column or base.item,
        timestamp=config.timestamp_column or base.timestamp,
        position=config.position_column or base.position,
        rating=config.rating_column or base.rating,
        items_id=config.items_id_column or base.items_id,
        title=config.title_column or base.title,
        extra=extra,
    )
    if config.position_column and not config.timestamp_column:
        columns = dataclasses.replace(
            columns, timestamp=None
        )  # positions replace the default timestamp column
    return columns


def read_raw(config: PrepareConfig, settings: Settings | None = None) -> _readers.RawData:
    """Locate (download if needed) and parse the raw files of `config.dataset`."""
    preset = _preset(config.dataset)
    settings = settings or resolve_settings(config, preset)
    if preset.source is None:
        if config.interactions is None or config.items is None:
            raise DataError("--dataset custom needs --interactions FILE and --items FILE")
        files = [Path(config.interactions), Path(config.items)]
    else:
        files = ensure_source(
            SOURCES[preset.source], data_home(config.data_home), download=config.download
        )
    if preset.reader == "movielens-dat":
        return _readers.read_movielens_dat(files[0], files[1], settings.encoding)
    if preset.reader == "amazon-2018":
        return _readers.read_amazon_2018(files[0], files[1])
    return _readers.read_custom(files[0], files[1], _columns(config, preset), settings.encoding)


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        raise DataError(f"unknown dataset {name!r}: expected one of {', '.join(PRESETS)}")
    return PRESETS[name]


def prepare(
    config: PrepareConfig, on_stage: Callable[[str, float], None] | None = None
) -> PrepareResult:
    """Run the whole preparation and write the contract files into `config.out`.

    `on_stage(name, seconds)` is called after each stage (the CLI prints them as progress).
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    lap = _Lap(timings, on_stage)
    preset = _preset(config.dataset)
    settings = resolve_settings(config, preset)
    ensure_writable_dir(Path(config.out))
    raw = read_raw(config, settings)
    lap("read")
    skipped: Counter[str] = Counter(raw.skipped)
    hygiene = Hygiene(config.keep_duplicates, config.drop_consecutive_repeats, config.k_core)
    found: Counter[str] = Counter()
    items, interactions = build_catalogue(
        raw,
        drop_missing_titles=settings.drop_missing_titles,
        drop_unknown_items=settings.drop_unknown_items,
        skipped=skipped,
        hygiene=hygiene,
        hygiene_counts=found,
    )
    if found["duplicate_interactions"] and not hygiene.keep_duplicates:
        skipped["exact duplicate interactions (dropped; --keep-duplicates keeps them)"] += found[
            "duplicate_interactions"
        ]
    if found["k_core_dropped_interactions"]:
        skipped[f"interactions outside the {hygiene.k_core}-core (dropped)"] += found[
            "k_core_dropped_interactions"
        ]
    lap("catalogue")
    has_time = interactions["timestamp"].null_count() == 0
    split = (
        settings.split if settings.split != "auto" else ("time" if has_time else "leave-last-out")
    )
    settings = dataclasses.replace(settings, split=split)
    order_by = "timestamp" if has_time else "position"
    if not has_time and interactions["position"].null_count():
        raise DataError(
            "interactions need a timestamp or a position for every row", file=raw.interactions_file
        )
    users, sequences = _examples.order_interactions(
        interactions,
        order_by,
        drop_consecutive_repeats=hygiene.drop_consecutive_repeats,
        counts=found,
    )
    if found["consecutive_repeats"] and hygiene.drop_consecutive_repeats:
        skipped["consecutive repeats of the same item (dropped)"] += found["consecutive_repeats"]
    del interactions
    examples = _examples.make_examples(
        sequences,
        max_history=settings.max_history,
        min_history=settings.min_history,
        short_users_last_item=settings.short_users_last_item,
        target_rating_above=settings.target_rating_above,
    )
    if examples.is_empty():
        raise DataError(
            f"no examples: no user has more than min_history={settings.min_history} interactions",
            file=raw.interactions_file,
        )
    examples = _examples.assign_splits(
        examples,
        split=split,
        train_ratio=settings.train_ratio,
        valid_ratio=settings.valid_ratio,
        ties=settings.split_ties,
    )
    lap("windows and splits")
    popularity = _examples.training_popularity(
        sequences, examples, settings.max_history, items.height
    )
    items = finish_catalogue(items, popularity)
    lap("popularity and duplicates")

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "items.parquet") as tmp:
        items.write_parquet(tmp, statistics=False)

    titles = items["title"].to_list()
    prompt = _examples.PROMPTS[settings.domain]
    samples = {
        "train": config.train_sample,
        "valid": config.valid_sample,
        "test": config.test_sample,
    }
    counts, written = {}, {}
    for stream, name in enumerate(_examples.SPLITS):
        part = examples.filter(pl.col("split") == name)
        counts[name] = part.height
        # BIGRec samples its 1,024 training rows at training time; train_sample stays seeded.
        how = settings.sampling if name != "train" else "seeded"
        part = _examples.sample_rows(part, samples[name], config.seed, stream, how)
        written[name] = part.height
        _examples.write_examples_jsonl(
            out / f"{name}.jsonl",
            part,
            split=name,
            titles=titles,
            users=users,
            prompt=prompt,
            max_history=settings.max_history,
        )
        lap(f"write {name}.jsonl")

    manifest = {
        "stage": "llmrec-data prepare",
        "dataset": config.dataset,
        "config": _jsonable(asdict(config)),
        "settings": asdict(settings),
        "seed": config.seed,
        "inputs": [
            {
                "path": str(p),
                "bytes": p.stat().st_size,
                "sha256": sha256_file(p),
                "encoding": raw.encodings.get(p.name),
            }
            for p in (raw.interactions_file, raw.items_file)
        ],
        "counts": {
            "interactions": sequences.height,
            "users": users.height,
            "items": items.height,
            "duplicate_title_items": int((items["canonical_item_id"] != items["item_id"]).sum()),
            "examples": counts,
            "written": written,
            **{k: found[k] for k in sorted(found)},
        },
        "sampling": _sampling_note(settings.sampling, config.seed),
        "skipped": dict(sorted(skipped.items())),
        "versions": _versions(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "timings_s": timings,
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    write_json(out / "manifest.json", manifest)
    return PrepareResult(
        out=out,
        n_items=items.height,
        n_users=users.height,
        n_interactions=sequences.height,
        examples=counts,
        written=written,
        skipped=dict(skipped),
        hygiene=dict(found),
        sampling=manifest["sampling"],
        manifest=manifest,
    )


def _sampling_note(how: str, seed: int) -> str:
    if how == "bigrec":
        return f"valid/test: pandas sample(n, random_state={seed}) rows, in that order (BIGRec)"
    return f"valid/test: numpy PCG64 seed [{seed}, split], file order"


class _Lap:
    """Record the seconds since the previous lap under a stage name (reported in the manifest)."""

    def __init__(
        self, timings: dict[str, float], on_stage: Callable[[str, float], None] | None
    ) -> None:
        self.timings = timings
        self.on_stage = on_stage
        self.last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self.last, 3)
        self.last = now
        if self.on_stage is not None:
            self.on_stage(stage, self.timings[stage])


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def _versions() -> dict[str, str]:
    import numpy

    from llmrec_data import __version__

    return {
        "llmrec-data": __version__,
        "polars": pl.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }
