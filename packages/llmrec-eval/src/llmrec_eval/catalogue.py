"""`llmrec-eval catalogue`: turn someone else's items file into a contract `items.parquet`.

Reads a MovieLens `movies.dat` (`id::title::genres`) or a CSV/TSV with named id and title columns,
in a given or detected text encoding, and writes `item_id` (0..n-1, raw ids sorted as strings),
`source_id`, `title` (the contract's cleaning), `canonical_item_id` (duplicate-title groups) and
`popularity` (0, or the item's row count in an optional interactions file).
"""

from __future__ import annotations

import io
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from llmrec_eval._errors import InputError, fail
from llmrec_eval._io import atomic_write, sha256_file, write_json
from llmrec_eval._titles import MIN_TITLE_CHARS, clean_catalogue_title, normalise_title
from llmrec_eval.config import CatalogueConfig, config_dict


@dataclass
class RawItems:
    source_ids: list[str]
    titles: list[str]
    extras: dict[str, list[str | None]]
    where: list[dict[str, int]]  # per item: {"line": n} (1-based) or {"row": i} (0-based)
    encoding: str


def _decode(path: Path, data: bytes, encoding: str) -> tuple[str, str]:
    """The file's text and the encoding used ("auto": UTF-8 if the bytes are valid UTF-8, else latin-1)."""
    if encoding == "auto":
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            # Every byte sequence is valid ISO-8859-1: MovieLens-1M's movies.dat is in it.
            return data.decode("latin-1"), "latin-1"
    try:
        return data.decode(encoding), encoding
    except LookupError as exc:
        raise InputError(f"--encoding: unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise fail(
            path,
            f"not valid {encoding} (byte 0x{data[exc.start]:02x}); MovieLens-1M's movies.dat is "
            "ISO-8859-1: try --encoding latin-1, or --encoding auto",
            line=line,
        ) from exc


def _format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffix = path.suffix.lower()
    return {".dat": "dat", ".tsv": "tsv", ".tab": "tsv"}.get(suffix, "csv")


def read_raw_items(config: CatalogueConfig) -> RawItems:
    path = Path(config.items_file)
    if not path.is_file():
        raise InputError(f"{path}: items file not found")
    text, encoding = _decode(path, path.read_bytes(), config.encoding)
    fmt = _format(path, config.format)
    if fmt == "dat":
        ids: list[str] = []
        titles: list[str] = []
        genres: list[str | None] = []
        where: list[dict[str, int]] = []
        # split("\n"), not splitlines(): latin-1 text may hold U+0085, which splitlines() breaks at
        for n, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            if not line.strip():
                continue
            parts = line.split("::")
            if len(parts) < 2:
                raise fail(path, f"expected 'id::title[::genres]', got {line!r:.80}", line=n)
            ids.append(parts[0].strip())
            if len(parts) == 2:
                titles.append(parts[1])
                genres.append(None)
            else:  # a title holding "::" keeps it; the last field is the genres
                titles.append("::".join(parts[1:-1]))
                genres.append(parts[-1].strip())
            where.append({"line": n})
        extras: dict[str, list[str | None]] = (
            {"genres": genres} if any(g is not None for g in genres) else {}
        )
        return RawItems(ids, titles, extras, where, encoding)
    separator = "\t" if fmt == "tsv" else ","
    try:
        df = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=separator,
            quote_char=None if fmt == "tsv" else '"',  # TSV has no quoting: quotes are title text
            infer_schema=False,
        )
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"{path}: not a readable {fmt.upper()} file ({first})") from exc
    wanted = [config.id_column, config.title_column, *_extra_names(config)]
    for col in wanted:
        if col not in df.columns:
            raise InputError(
                f"{path}: no column {col!r} (columns: {', '.join(df.columns)}); name the id "
                "and title columns with --id-column and --title-column"
            )
    extras = {c: df[c].to_list() for c in _extra_names(config)}
    for col in (config.id_column, config.title_column):
        nulls = df[col].is_null().arg_true()
        if len(nulls):
            raise fail(path, "expected a value, got an empty cell", row=int(nulls[0]), fld=col)
    return RawItems(
        [s.strip() for s in df[config.id_column].to_list()],
        df[config.title_column].to_list(),
        extras,
        [{"row": i} for i in range(df.height)],
        encoding,
    )


def _extra_names(config: CatalogueConfig) -> list[str]:
    return [c.strip() for c in config.extra_columns.split(",") if c.strip()]


def count_interactions(config: CatalogueConfig) -> Counter[str]:
    """Rows per raw item id in the interactions file (ratings.dat `user::item::...` or CSV/TSV)."""
    path = Path(config.interactions)  # type: ignore[arg-type]
    if not path.is_file():
        raise InputError(f"{path}: interactions file not found")
    fmt = _format(path, config.interactions_format)
    try:
        if fmt == "dat":
            # "::" is two one-character separators around an empty field: field 2 is the item id.
            items = pl.read_csv(
                path, separator=":", has_header=False, columns=[2], infer_schema=False
            ).to_series()
        else:
            col = config.id_column
            df = pl.read_csv(
                path,
                separator="\t" if fmt == "tsv" else ",",
                quote_char=None if fmt == "tsv" else '"',
                infer_schema=False,
            )
            if col not in df.columns:
                raise InputError(
                    f"{path}: no column {col!r} (columns: {', '.join(df.columns)}); name the "
                    "item id column with --id-column"
                )
            items = df[col]
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"{path}: not a readable {fmt} interactions file ({first})") from exc
    nulls = items.is_null().arg_true()
    if len(nulls):
        at = {"line": int(nulls[0]) + 1} if fmt == "dat" else {"row": int(nulls[0])}
        raise fail(path, "expected an item id, got an empty field", **at)
    return Counter(s.strip() for s in items.to_list())


def build_items(raw: RawItems, path: Path, popularity: Counter[str] | None) -> pl.DataFrame:
    """The contract's items table from raw items (ids sorted as strings, cleaned titles, groups)."""
    seen: dict[str, int] = {}
    cleaned: list[str] = []
    for i, (sid, title) in enumerate(zip(raw.source_ids, raw.titles, strict=True)):
        if not sid:
            raise fail(path, "expected an item id, got an empty field", **raw.where[i], fld="id")
        if sid in seen:
            first = raw.where[seen[sid]]
            raise fail(
                path,
                f"item id {sid!r} appears again (first at {next(iter(first))} "
                f"{next(iter(first.values()))}); expected each id once",
                **raw.where[i],
                fld="id",
            )
        seen[sid] = i
        clean = clean_catalogue_title(title or "")
        if clean is None:
            raise fail(
                path,
                f"title {title!r} is not a title (expected at least {MIN_TITLE_CHARS} characters "
                "after cleaning)",
                **raw.where[i],
                fld="title",
            )
        cleaned.append(clean)
    order = sorted(range(len(cleaned)), key=lambda i: raw.source_ids[i])
    titles = [cleaned[i] for i in order]
    counts = popularity or Counter()
    pop = np.asarray([counts.get(raw.source_ids[i], 0) for i in order], dtype=np.int64)
    # Duplicate rule: one group per normalised title; canonical = most interactions, then smallest id.
    best: dict[str, int] = {}
    for item, title in enumerate(titles):
        key = normalise_title(title)
        if key not in best or pop[item] > pop[best[key]]:
            best[key] = item
    canonical = [best[normalise_title(t)] for t in titles]
    columns: dict[str, Any] = {
        "item_id": pl.Series(range(len(titles)), dtype=pl.Int64),
        "source_id": pl.Series([raw.source_ids[i] for i in order], dtype=pl.String),
        "title": pl.Series(titles, dtype=pl.String),
        "canonical_item_id": pl.Series(canonical, dtype=pl.Int64),
        "popularity": pl.Series(pop, dtype=pl.Int64),
    }
    for name, values in raw.extras.items():
        columns[name] = pl.Series([values[i] for i in order], dtype=pl.String)
    return pl.DataFrame(columns)


def import_catalogue(config: CatalogueConfig) -> dict[str, Any]:
    """Write `config.out` (items.parquet) and `<out>.manifest.json`; return the summary."""
    started = time.time()
    path = Path(config.items_file)
    raw = read_raw_items(config)
    if not raw.source_ids:
        raise InputError(f"{path}: no items")
    counts = count_interactions(config) if config.interactions is not None else None
    items = build_items(raw, path, counts)
    out = Path(config.out)
    atomic_write(out, lambda tmp: items.write_parquet(tmp))
    known = set(raw.source_ids)
    unknown = 0 if counts is None else sum(n for sid, n in counts.items() if sid not in known)
    summary = {
        "items": items.height,
        "items_folded_into_a_duplicate_title": int(
            items.filter(pl.col("canonical_item_id") != pl.col("item_id")).height
        ),
        "encoding": raw.encoding,
        "popularity": "zero (no --interactions)"
        if counts is None
        else f"rows per item in {config.interactions}",
        "interactions_with_unknown_items": unknown,
    }
    write_json(
        out.with_name(out.stem + ".manifest.json"),
        {
            "command": "catalogue",
            "config": config_dict(config),
            "summary": summary,
            "inputs": {
                str(p): sha256_file(Path(p))
                for p in (config.items_file, config.interactions)
                if p is not None
            },
            "items_sha256": sha256_file(out),
            "wall_time_s": round(time.time() - started, 3),
        },
    )
    return summary
