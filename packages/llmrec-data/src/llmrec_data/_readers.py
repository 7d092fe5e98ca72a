"""Raw-file readers: each returns the same two tables, validated, with file lines kept for errors.

interactions: user_id str, source_id str, timestamp i64|null, position i64|null, rating f64|null, line i64
items:        source_id str, title str|null, line i64, then optional extra text columns

`line` is the 1-based line in the file (or the 0-based row, for parquet) so that later checks can
name it. Readers check the format; the meaning (unknown ids, missing titles) is checked in `_catalogue`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from llmrec_data.errors import DataError

INTERACTION_SCHEMA = {
    "user_id": pl.String,
    "source_id": pl.String,
    "timestamp": pl.Int64,
    "position": pl.Int64,
    "rating": pl.Float64,
    "line": pl.Int64,
}


@dataclass
class RawData:
    interactions: pl.DataFrame
    items: pl.DataFrame
    interactions_file: Path
    items_file: Path
    # "line" (1-based text line) or "row" (0-based parquet row), per file, for error messages
    interactions_where: str = "line"
    items_where: str = "line"
    encodings: dict[str, str] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)


# --- text helpers ---------------------------------------------------------------------------


def read_bytes(path: Path) -> bytes:
    """File contents (gunzipped for `.gz`); an error for a missing or empty file."""
    if not path.is_file():
        raise DataError("file not found", file=path)
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read ({err})", file=path) from None
    if not data.strip():
        raise DataError("file is empty", file=path)
    return data


def decode(data: bytes, path: Path, encoding: str) -> tuple[str, str]:
    """Decode text; `auto` means UTF-8, falling back to ISO-8859-1 when the bytes are not UTF-8.

    Any byte sequence is valid ISO-8859-1, and text in ISO-8859-1 with accents is almost never valid
    UTF-8, so "valid UTF-8" is a reliable test. Returns the text and the encoding used.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    enc = encoding.lower().replace("_", "-")
    if enc in ("auto", "utf-8", "utf8"):
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as err:
            if enc == "auto":
                return data.decode("iso-8859-1"), "iso-8859-1"
            line = data.count(b"\n", 0, err.start) + 1
            raise DataError(
                f"not valid UTF-8 (byte 0x{data[err.start]:02x})",
                file=path,
                line=line,
                hint="pass --encoding iso-8859-1 (or auto) if the file is in ISO-8859-1 (latin-1)",
            ) from None
    try:
        return data.decode(enc), enc
    except (UnicodeDecodeError, LookupError) as err:
        raise DataError(f"cannot decode as {encoding} ({err})", file=path) from None


def _lines(text: str) -> list[str]:
    # str.splitlines() would also split on \x85 and \u2028, which occur inside latin-1 titles.
    return [ln.rstrip("\r") for ln in text.split("\n")]


def _int_or_error(value: str, path: Path, line: int, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DataError(
            f"expected an integer, found {value!r}", file=path, line=line, field=name
        ) from None


# --- MovieLens ::-separated .dat (ml-1m, ml-10m) -----------------------------------------------

RATINGS_DAT_FIELDS = ("UserID", "MovieID", "Rating", "Timestamp")


def read_movielens_dat(ratings: Path, movies: Path, encoding: str = "auto") -> RawData:
    items, used = read_movies_dat(movies, encoding)
    interactions = read_ratings_dat(ratings)
    return RawData(
        interactions, items, ratings, movies, encodings={movies.name: used, ratings.name: "ascii"}
    )


def read_movies_dat(path: Path, encoding: str = "auto") -> tuple[pl.DataFrame, str]:
    """`MovieID::Title::Genres` lines; titles may contain ':' but not '::'."""
    text, used = decode(read_bytes(path), path, encoding)
    ids, titles, genres, lines = [], [], [], []
    for n, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        parts = line.split("::")
        if len(parts) != 3:
            raise DataError(
                f"expected 3 fields separated by '::' (MovieID::Title::Genres), found {len(parts)}: {line[:80]!r}",
                file=path,
                line=n,
            )
        ids.append(str(_int_or_error(parts[0].strip(), path, n, "MovieID")))
        titles.append(parts[1])
        genres.append(parts[2].strip())
        lines.append(n)
    items = pl.DataFrame(
        {"source_id": ids, "title": titles, "line": lines, "genres": genres},
        schema={"source_id": pl.String, "title": pl.String, "line": pl.Int64, "genres": pl.String},
    )
    return items, used


def read_ratings_dat(path: Path) -> pl.DataFrame:
    """`UserID::MovieID::Rating::Timestamp` lines, parsed by Polars at full speed.

    Splitting on single ':' gives empty fields between the parts of each '::'; they must stay empty.
    On any irregularity the file is rescanned in Python to name the first bad line.
    """
    if not path.is_file():
        raise DataError("file not found", file=path)
    if path.stat().st_size == 0:
        raise DataError("file is empty", file=path)
    schema = {
        "user_id": pl.Int64,
        "_1": pl.String,
        "source_id": pl.Int64,
        "_2": pl.String,
        "rating": pl.Float64,
        "_3": pl.String,
        "timestamp": pl.Int64,
    }
    source: Path | io.BytesIO = path
    with open(path, "rb") as f:
        windows_newlines = b"\r\n" in f.read(1 << 16)
    if windows_newlines:  # the '\r' would end up inside the timestamp field
        source = io.BytesIO(path.read_bytes().replace(b"\r\n", b"\n"))
    try:
        frame = pl.read_csv(source, separator=":", has_header=False, schema=schema, quote_char=None)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as err:
        _locate_bad_dat_line(path, RATINGS_DAT_FIELDS, (int, int, float, int))
        raise DataError(f"cannot parse ({err})", file=path) from None
    frame = frame.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
    values = ["user_id", "source_id", "rating", "timestamp"]
    blank = pl.all_horizontal(pl.col(c).is_null() for c in [*values, "_1", "_2", "_3"])
    bad = pl.any_horizontal(pl.col(c).is_null() for c in values) | pl.any_horizontal(
        pl.col(c).is_not_null() for c in ["_1", "_2", "_3"]
    )
    frame = frame.filter(~blank)
    if frame.is_empty():
        raise DataError("file has no ratings", file=path)
    if frame.select(bad.any()).item():
        _locate_bad_dat_line(path, RATINGS_DAT_FIELDS, (int, int, float, int))
    return frame.select(
        pl.col("user_id").cast(pl.String),
        pl.col("source_id").cast(pl.String),
        "timestamp",
        pl.lit(None, pl.Int64).alias("position"),
        "rating",
        "line",
    )


def _locate_bad_dat_line(path: Path, names: tuple[str, ...], kinds: tuple[type, ...]) -> None:
    """Raise a DataError for the first line that is not `a::b::c::d` with parseable values."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            parts = line.split(b"::")
            if len(parts) != len(names):
                raise DataError(
                    f"expected {len(names)} fields separated by '::' ({'::'.join(names)}), "
                    f"found {len(parts)}: {line[:80]!r}",
                    file=path,
                    line=n,
                )
            for value, name, kind in zip(parts, names, kinds, strict=True):
                try:
                    kind(value.decode("ascii"))
                except (ValueError, UnicodeDecodeError):
                    kind_name = "an integer" if kind is int else "a number"
                    raise DataError(
                        f"expected {kind_name}, found {value[:40]!r}", file=path, line=n, field=name
                    ) from None


# --- Amazon Review Data 2018 JSON lines --------------------------------------------------------


def read_amazon_2018(reviews: Path, meta: Path) -> RawData:
    """`Video_Games_5.json(.gz)` reviews and `meta_Video_Games.json(.gz)` metadata, one JSON object a line.

    Known dirt, skipped and counted (as BIGRec does): reviews without `overall` or `unixReviewTime`,
    metadata rows repeating an asin (the last row with a title is kept, as in BIGRec's fork).
    Malformed JSON is an error.
    """
    skipped: Counter[str] = Counter()
    users, asins, times, ratings, lines = [], [], [], [], []
    for n, record in _json_lines(reviews):
        for key in ("reviewerID", "asin"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise DataError(
                    f"expected a non-empty string {key!r}", file=reviews, line=n, field=key
                )
        if "overall" not in record or "unixReviewTime" not in record:
            skipped["reviews without overall or unixReviewTime"] += 1
            continue
        try:
            times.append(int(record["unixReviewTime"]))
            ratings.append(float(record["overall"]))
        except (TypeError, ValueError):
            raise DataError(
                "expected numeric 'overall' and integer 'unixReviewTime'", file=reviews, line=n
            ) from None
        users.append(record["reviewerID"])
        asins.append(record["asin"])
        lines.append(n)
    interactions = pl.DataFrame(
        {
            "user_id": users,
            "source_id": asins,
            "timestamp": times,
            "position": [None] * len(users),
            "rating": ratings,
            "line": lines,
        },
        schema=INTERACTION_SCHEMA,
    )
    # asin -> (title, line); a repeated asin takes the later row's title when that title has more
    # than one character, as the fork's `id_title[asin] = title` under `len(title) > 1` does.
    records: dict[str, tuple[str | None, int]] = {}
    for n, record in _json_lines(meta):
        asin = record.get("asin")
        if not isinstance(asin, str) or not asin:
            raise DataError("expected a non-empty string 'asin'", file=meta, line=n, field="asin")
        title = record.get("title")
        title = title if isinstance(title, str) else None
        if asin in records:
            skipped["metadata rows repeating an asin"] += 1
            if title is None or len(title) <= 1:
                continue
        records[asin] = (title, n)
    items = pl.DataFrame(
        {
            "source_id": list(records),
            "title": [title for title, _ in records.values()],
            "line": [line for _, line in records.values()],
        },
        schema={"source_id": pl.String, "title": pl.String, "line": pl.Int64},
    )
    return RawData(
        interactions,
        items,
        reviews,
        meta,
        encodings={reviews.name: "utf-8", meta.name: "utf-8"},
        skipped=skipped,
    )


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    text, _ = decode(read_bytes(path), path, "utf-8")
    return _json_records(text, path)


def _json_records(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; malformed JSON is a DataError."""
    for n, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"malformed JSON ({err.msg} at column {err.colno})", file=path, line=n
            ) from None
        if not isinstance(record, dict):
            raise DataError("expected a JSON object", file=path, line=n)
        yield n, record


# --- generic tables (CSV / TSV / parquet / JSONL) ----------------------------------------------


@dataclass(frozen=True)
class Columns:
    """Column names of a custom dataset."""

    user: str = "user_id"
    item: str = "item_id"
    timestamp: str | None = "timestamp"
    position: str | None = None
    rating: str | None = None
    items_id: str = "item_id"
    title: str = "title"
    extra: tuple[str, ...] = ()


def read_table(path: Path, encoding: str = "utf-8") -> tuple[pl.DataFrame, str, int, str]:
    """Read a table with every column as text.

    Returns the frame, what a position is called in errors ("line" or "row"), the offset from
    frame row index to that position, and the encoding used.
    """
    suffix = path.suffixes[-2] if path.suffix == ".gz" and len(path.suffixes) > 1 else path.suffix
    suffix = suffix.lower()
    if suffix == ".parquet":
        if not path.is_file():
            raise DataError("file not found", file=path)
        try:
            frame = pl.read_parquet(path)
        except pl.exceptions.PolarsError as err:
            raise DataError(f"not a readable parquet file ({err})", file=path) from None
        if frame.is_empty():
            raise DataError("file is empty", file=path)
        return frame.select(pl.all().cast(pl.String)), "row", 0, "parquet"
    text, used = decode(read_bytes(path), path, encoding)
    if suffix in (".jsonl", ".ndjson", ".json"):
        records, line_numbers = [], []
        for n, record in _json_records(text, path):
            records.append({k: None if v is None else str(v) for k, v in record.items()})
            line_numbers.append(n)
        frame = pl.DataFrame(records, infer_schema_length=None)
        # JSONL may skip blank lines, so keep the real line numbers
        return frame.with_columns(pl.Series("__line", line_numbers)), "line", 0, used
    separator = "\t" if suffix in (".tsv", ".tab") else ","
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")), separator=separator, infer_schema=False
        )
    except pl.exceptions.PolarsError as err:
        _locate_bad_csv_line(text, path, separator)
        raise DataError(f"cannot parse ({err})", file=path) from None
    if frame.is_empty():
        raise DataError("file has a header but no rows", file=path)
    return frame, "line", 2, used


def _locate_bad_csv_line(text: str, path: Path, separator: str) -> None:
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    header = next(reader, [])
    for row in reader:
        if row and len(row) != len(header):
            raise DataError(
                f"expected {len(header)} fields separated by {separator!r}, found {len(row)}",
                file=path,
                line=reader.line_num,
            )


def _require_columns(frame: pl.DataFrame, names: list[str], path: Path) -> None:
    for name in names:
        if name not in frame.columns:
            only = (
                f" (the only column is {frame.columns[0]!r}: wrong separator?)"
                if frame.width == 1
                else ""
            )
            raise DataError(
                f"expected a column named {name!r}; found {frame.columns}{only}",
                file=path,
                line=1,
                field=name,
            )


def _first_bad(frame: pl.DataFrame, bad: pl.Expr) -> int | None:
    hit = frame.select(pl.arg_where(bad).first()).item()
    return None if hit is None else int(hit)


def _raise_at(
    frame: pl.DataFrame, index: int, where: str, offset: int, path: Path, field: str, message: str
) -> None:
    """Raise a DataError for frame row `index`, as a file line (or parquet row)."""
    position = int(frame["__line"][index]) if "__line" in frame.columns else index + offset
    line, row = (position, None) if where == "line" else (None, position)
    raise DataError(message, file=path, line=line, row=row, field=field)


def read_custom(
    interactions_path: Path, items_path: Path, columns: Columns, encoding: str = "utf-8"
) -> RawData:
    frame, where, offset, enc_i = read_table(interactions_path, encoding)
    if columns.timestamp is None and columns.position is None:
        raise DataError("a custom dataset needs a timestamp column or a position column")
    needed = [columns.user, columns.item]
    needed += [c for c in (columns.timestamp, columns.position, columns.rating) if c is not None]
    _require_columns(frame, needed, interactions_path)

    def text_column(name: str) -> pl.Expr:
        return pl.col(name).str.strip_chars()

    checks: list[tuple[str, pl.Expr, str]] = [
        (
            columns.user,
            text_column(columns.user).fill_null("") == "",
            "expected a user id, found nothing",
        ),
        (
            columns.item,
            text_column(columns.item).fill_null("") == "",
            "expected an item id, found nothing",
        ),
    ]
    numeric = {}
    for name, dtype in (
        (columns.timestamp, pl.Int64),
        (columns.position, pl.Int64),
        (columns.rating, pl.Float64),
    ):
        if name is None:
            continue
        parsed = text_column(name).cast(dtype, strict=False)
        numeric[name] = parsed
        kind = "an integer" if dtype == pl.Int64 else "a number"
        checks.append((name, parsed.is_null(), f"expected {kind}"))
    for name, bad, message in checks:
        index = _first_bad(frame, bad)
        if index is not None:
            value = frame[name][index]
            _raise_at(
                frame, index, where, offset, interactions_path, name, f"{message}, found {value!r}"
            )
    line = pl.col("__line") if "__line" in frame.columns else pl.int_range(pl.len()) + offset
    interactions = frame.select(
        text_column(columns.user).alias("user_id"),
        text_column(columns.item).alias("source_id"),
        (numeric[columns.timestamp] if columns.timestamp else pl.lit(None, pl.Int64)).alias(
            "timestamp"
        ),
        (numeric[columns.position] if columns.position else pl.lit(None, pl.Int64)).alias(
            "position"
        ),
        (numeric[columns.rating] if columns.rating else pl.lit(None, pl.Float64)).alias("rating"),
        line.cast(pl.Int64).alias("line"),
    )

    items_frame, items_where, items_offset, enc_t = read_table(items_path, encoding)
    _require_columns(items_frame, [columns.items_id, columns.title, *columns.extra], items_path)
    index = _first_bad(items_frame, text_column(columns.items_id).fill_null("") == "")
    if index is not None:
        _raise_at(
            items_frame,
            index,
            items_where,
            items_offset,
            items_path,
            columns.items_id,
            "expected an item id, found nothing",
        )
    items_line = (
        pl.col("__line")
        if "__line" in items_frame.columns
        else pl.int_range(pl.len()) + items_offset
    )
    items = items_frame.select(
        text_column(columns.items_id).alias("source_id"),
        pl.col(columns.title).alias("title"),
        items_line.cast(pl.Int64).alias("line"),
        *[pl.col(c) for c in columns.extra if c not in ("source_id", "title", "line")],
    )
    return RawData(
        interactions,
        items,
        interactions_path,
        items_path,
        interactions_where=where,
        items_where=items_where,
        encodings={interactions_path.name: enc_i, items_path.name: enc_t},
    )
