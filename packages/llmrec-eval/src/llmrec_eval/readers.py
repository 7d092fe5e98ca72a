"""Readers for every input file, with validation that names the file, line/row and field.

JSONL lines are 1-based, parquet rows 0-based (as in docs/contracts.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from llmrec_eval._errors import InputError, fail
from llmrec_eval._io import sha256_file
from llmrec_eval._titles import TitleIndex, clean_title, normalise_title


def _fail(path: Path, msg: str, **at: Any) -> InputError:
    return fail(path, msg, **at)


def _require_file(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    return path


# --------------------------------------------------------------------------- catalogue


@dataclass
class Catalogue:
    """The item catalogue (`items.parquet`)."""

    path: Path | None
    titles: list[str]
    canonical: np.ndarray  # int64 [n_items]: the duplicate group's canonical item id
    popularity: np.ndarray | None  # int64 [n_items], training-split interactions
    sha256: str | None = None
    _index: TitleIndex | None = field(default=None, repr=False)

    @property
    def n_items(self) -> int:
        return len(self.titles)

    @property
    def n_groups(self) -> int:
        return int(np.count_nonzero(self.canonical == np.arange(self.n_items)))

    @property
    def index(self) -> TitleIndex:
        if self._index is None:
            self._index = TitleIndex(self.titles, self.canonical)
        return self._index

    @classmethod
    def from_titles(cls, titles: list[str], popularity: np.ndarray | None = None) -> Catalogue:
        """A catalogue from titles alone: duplicate groups by normalised title, canonical = smallest id."""
        first: dict[str, int] = {}
        canonical = np.array(
            [first.setdefault(normalise_title(t), i) for i, t in enumerate(titles)],
            dtype=np.int64,
        )
        return cls(path=None, titles=list(titles), canonical=canonical, popularity=popularity)


def read_items(path: Path) -> Catalogue:
    """Read and validate `items.parquet` (contract: item_id, title, canonical_item_id, popularity)."""
    path = _require_file(Path(path), "items file")
    try:
        df = pl.read_parquet(path)
    except Exception as exc:
        raise InputError(f"{path}: not a readable parquet file ({exc})") from exc
    for col in ("item_id", "title"):
        if col not in df.columns:
            raise _fail(path, f"missing column '{col}' (columns: {df.columns})")
    n = df.height
    if n == 0:
        raise _fail(path, "no items")
    ids = _int_column(path, df, "item_id")
    bad = np.flatnonzero(ids != np.arange(n))
    if bad.size:
        raise _fail(
            path,
            f"expected item_id == row index, got {ids[bad[0]]}",
            row=int(bad[0]),
            fld="item_id",
        )
    titles = df["title"]
    if titles.dtype != pl.String:
        raise _fail(path, f"expected strings, got {titles.dtype}", fld="title")
    nulls = titles.is_null().arg_true()
    if len(nulls):
        raise _fail(path, "expected a title, got null", row=int(nulls[0]), fld="title")
    title_list = titles.to_list()
    popularity = None
    if "popularity" in df.columns:
        popularity = _int_column(path, df, "popularity")
        neg = np.flatnonzero(popularity < 0)
        if neg.size:
            raise _fail(path, "expected a count >= 0", row=int(neg[0]), fld="popularity")
    if "canonical_item_id" in df.columns:
        canonical = _int_column(path, df, "canonical_item_id")
        bad = np.flatnonzero((canonical < 0) | (canonical >= n))
        if bad.size:
            raise _fail(
                path, f"expected an item id in 0..{n - 1}", row=int(bad[0]), fld="canonical_item_id"
            )
        bad = np.flatnonzero(canonical[canonical] != canonical)
        if bad.size:
            raise _fail(
                path,
                "points to an item that is not its own group's canonical item",
                row=int(bad[0]),
                fld="canonical_item_id",
            )
        cat = Catalogue(path, title_list, canonical, popularity)
    else:
        cat = Catalogue.from_titles(title_list, popularity)
        cat.path = path
    cat.sha256 = sha256_file(path)
    return cat


def _int_column(path: Path, df: pl.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    if not s.dtype.is_integer():
        raise _fail(path, f"expected integers, got {s.dtype}", fld=col)
    nulls = s.is_null().arg_true()
    if len(nulls):
        raise _fail(path, "expected an integer, got null", row=int(nulls[0]), fld=col)
    return s.cast(pl.Int64).to_numpy()


# --------------------------------------------------------------------------- embeddings


SENTENCE_TRANSFORMERS = "sentence-transformers"
"""The `encoder` of embeddings whose metadata names none (`llmrec-data embed`'s)."""


@dataclass
class ItemEmbeddings:
    """`item_embeddings.npy` (float32 [n_items, dim]) and its metadata."""

    vectors: np.ndarray
    model: str
    normalized: bool
    meta: dict[str, Any]
    path: Path | None = None

    @property
    def encoder(self) -> str:
        """`sentence-transformers` (llmrec-data embed; llmrec-eval can embed texts the same way)
        or `llm-hidden-state` (llmrec-train embed: texts need --text-embeddings)."""
        return str(self.meta.get("encoder", SENTENCE_TRANSFORMERS))


@dataclass
class TextEmbeddings:
    """`text_embeddings.npy` (float32 [n_texts, dim]): one vector per distinct generated text, as
    grounding embeds it (`clean_title`), listed in the metadata's `texts`."""

    vectors: np.ndarray
    row_of: dict[str, int]  # text -> row
    meta: dict[str, Any]
    path: Path

    def lookup(self, texts: list[str]) -> np.ndarray:
        """float32 [len(texts), dim]: the vectors of `texts`; a text not in the file is bad input."""
        missing = [t for t in texts if t not in self.row_of]
        if missing:
            raise InputError(
                f"{self.path}: no vector for the generated text {missing[0]!r} ({len(missing)} "
                "text(s) missing): embed every predictions file you evaluate (and "
                "--valid-predictions) with `llmrec-train embed --predictions FILE` (repeatable)"
            )
        return np.asarray(self.vectors[[self.row_of[t] for t in texts]], dtype=np.float32)


def _read_vectors(
    path: Path, what: str, count_field: str, required: tuple[tuple[str, type], ...]
) -> tuple[np.ndarray, dict[str, Any], Path]:
    """An embeddings `.npy` (memory-mapped) and the `.json` beside it, checked against each other."""
    path = _require_file(Path(path), what)
    meta_path = path.with_suffix(".json")
    _require_file(meta_path, f"{what} metadata (the .json beside the .npy)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _fail(meta_path, f"not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise _fail(meta_path, f"expected a JSON object, got {type(meta).__name__}")
    for key, kind in (("model", str), ("dim", int), ("normalized", bool), *required):
        if not isinstance(meta.get(key), kind):
            raise _fail(meta_path, f"expected {kind.__name__}, got {meta.get(key)!r}", fld=key)
    vectors = np.load(path, mmap_mode="r")
    if vectors.ndim != 2 or vectors.dtype != np.float32:
        raise _fail(
            path,
            f"expected a float32 [{count_field}, dim] array, got {vectors.dtype} {vectors.shape}",
        )
    if vectors.shape != (meta[count_field], meta["dim"]):
        raise _fail(
            meta_path,
            f"{count_field}/dim {meta[count_field]}x{meta['dim']} do not match the array {vectors.shape}",
        )
    return vectors, meta, meta_path


def read_item_embeddings(path: Path, catalogue: Catalogue | None = None) -> ItemEmbeddings:
    """Read `item_embeddings.npy` (memory-mapped) and the `.json` metadata beside it."""
    vectors, meta, meta_path = _read_vectors(
        path, "item embeddings", "n_items", (("n_items", int),)
    )
    if catalogue is not None:
        if vectors.shape[0] != catalogue.n_items:
            raise _fail(
                path,
                f"{vectors.shape[0]} rows, but the catalogue {catalogue.path} has {catalogue.n_items} items",
            )
        recorded = meta.get("items_sha256")
        if recorded and catalogue.sha256 and recorded != catalogue.sha256:
            raise _fail(
                meta_path,
                f"computed from a different items.parquet (sha256 {recorded[:12]}..., "
                f"but {catalogue.path} has {catalogue.sha256[:12]}...)",
                fld="items_sha256",
            )
    return ItemEmbeddings(
        vectors=vectors,
        model=meta["model"],
        normalized=meta["normalized"],
        meta=meta,
        path=Path(path),
    )


def read_text_embeddings(path: Path) -> TextEmbeddings:
    """Read `text_embeddings.npy` (or the folder holding it) and its `.json` (docs/contracts.md)."""
    path = Path(path)
    if path.is_dir():
        path = path / "text_embeddings.npy"
    vectors, meta, meta_path = _read_vectors(
        path, "text embeddings", "n_texts", (("n_texts", int), ("texts", list))
    )
    texts = meta["texts"]
    row_of: dict[str, int] = {}
    for row, text in enumerate(texts):
        if not isinstance(text, str) or text in row_of:
            got = "a repeat" if isinstance(text, str) else repr(text)
            raise _fail(
                meta_path, f"texts[{row}]: expected a distinct string, got {got}", fld="texts"
            )
        row_of[text] = row
    if len(texts) != vectors.shape[0]:
        raise _fail(meta_path, f"{len(texts)} texts for {vectors.shape[0]} rows", fld="texts")
    return TextEmbeddings(vectors=vectors, row_of=row_of, meta=meta, path=path)


# --------------------------------------------------------------------------- predictions


@dataclass
class Predictions:
    """Generated texts per example, best first, with the target item of each example."""

    path: Path
    format: str  # "predictions" (llmrec predictions.jsonl) or "bigrec" (BIGRec result JSON)
    example_ids: list[str]
    targets: np.ndarray  # int64 [n] item ids (not yet collapsed to canonical)
    texts: list[list[str]]
    meta: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.example_ids)


def _read_jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _fail(path, f"not valid JSON ({exc.msg})", line=n) from exc
            if not isinstance(obj, dict):
                raise _fail(path, f"expected a JSON object, got {type(obj).__name__}", line=n)
            yield n, obj


def _texts(path: Path, value: Any, fld: str, empty: str = "error", **where: Any) -> list[str]:
    """The generated texts of one example; [] for an empty prediction when `empty` is "miss"."""
    if isinstance(value, str):  # some BIGRec forks write a single string
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _fail(path, f"expected a list of strings, got {value!r:.80}", fld=fld, **where)
    if not any(clean_title(t) for t in value):
        if empty == "miss":
            return []
        raise _fail(
            path,
            f"empty prediction {value!r:.40} (expected at least one non-blank generated text; "
            "--empty-prediction miss scores such examples as misses)",
            fld=fld,
            **where,
        )
    return value


def _as_title(path: Path, title: Any, fld: str, **where: Any) -> str:
    if not isinstance(title, str):
        raise _fail(path, f"expected the target title as a string, got {title!r}", fld=fld, **where)
    return title


def _encoding_variants(title: str) -> list[tuple[str, str]]:
    """`title` as it reads after undoing (or doing) a latin-1 reading of UTF-8 bytes, with the fix."""
    out = []
    for text_from, text_to, fix in (
        ("latin-1", "utf-8", "latin-1"),  # "AmÃ©lie" -> "Amélie": the predictions saw latin-1
        ("utf-8", "latin-1", "utf-8"),  # "Amélie" -> "AmÃ©lie": the catalogue was read as latin-1
    ):
        try:
            variant = title.encode(text_from).decode(text_to)
        except UnicodeError:
            continue
        if variant != title:
            out.append((variant, fix))
    return out


def _targets_from_titles(
    path: Path, cat: Catalogue, titles: list[tuple[int, str]], fld: str, unit: str
) -> dict[int, int]:
    """Map target titles to items ({position: item}); every title must be in the catalogue.

    Before failing on unknown titles, look for the encoding trap: titles that match only after the
    latin-1/UTF-8 round trip mean the catalogue and the predictions read `movies.dat` differently.
    """
    found: dict[int, int] = {}
    missing: list[tuple[int, str]] = []
    for pos, title in titles:
        item = cat.index.lookup(title)
        if item is None:
            missing.append((pos, title))
        else:
            found[pos] = item
    if not missing:
        return found
    trapped = [
        (pos, title, variant, fix)
        for pos, title in missing
        for variant, fix in _encoding_variants(clean_title(title))
        if cat.index.lookup(variant) is not None
    ]
    if trapped:
        pos, title, variant, fix = trapped[0]
        theirs = "ISO-8859-1 (latin-1)" if fix == "latin-1" else "UTF-8"
        raise _fail(
            path,
            f"target title {clean_title(title)!r} is not in the catalogue {cat.path}, but "
            f"{variant!r} is: {len(trapped)} of {len(missing)} unknown target titles match only "
            f"after the latin-1/UTF-8 round trip. The predictions read the items file as {theirs} "
            "(BIGRec's scripts read movies.dat as ISO-8859-1) and the catalogue did not. Rebuild "
            f"the catalogue as the model saw the titles: llmrec-eval catalogue ... --encoding {fix}",
            fld=fld,
            **{unit: pos},
        )
    pos, title = missing[0]
    raise _fail(
        path,
        f"target title {clean_title(title)!r} is not in the catalogue {cat.path} "
        f"(no exact or case-insensitive title match; {len(missing)} unknown target titles in all)",
        fld=fld,
        **{unit: pos},
    )


def read_predictions(path: Path, catalogue: Catalogue, *, empty: str = "error") -> Predictions:
    """Read llmrec `predictions.jsonl` (and `predictions.meta.json` beside it, if present)."""
    path = _require_file(Path(path), "predictions file")
    ids: list[str] = []
    targets: list[int] = []
    texts: list[list[str]] = []
    by_title: list[tuple[int, str]] = []  # (index, target_title) of rows without target_item_id
    lines: dict[int, int] = {}
    seen: set[str] = set()
    for n, obj in _read_jsonl(path):
        eid = obj.get("example_id")
        if not isinstance(eid, str):
            raise _fail(path, f"expected a string, got {eid!r}", line=n, fld="example_id")
        if eid in seen:
            raise _fail(path, f"duplicate example_id {eid!r}", line=n, fld="example_id")
        seen.add(eid)
        if "predictions" not in obj:
            raise _fail(path, "missing", line=n, fld="predictions")
        texts.append(_texts(path, obj["predictions"], "predictions", empty, line=n))
        target = obj.get("target_item_id")
        if target is None:
            if obj.get("target_title") is None:
                raise _fail(
                    path,
                    "missing target: need target_item_id or target_title",
                    line=n,
                    fld="target_item_id",
                )
            by_title.append((n, _as_title(path, obj["target_title"], "target_title", line=n)))
            lines[n] = len(ids)
            target = -1
        elif (
            not isinstance(target, int)
            or isinstance(target, bool)
            or not 0 <= target < catalogue.n_items
        ):
            raise _fail(
                path,
                f"expected an item id in 0..{catalogue.n_items - 1}, got {target!r}",
                line=n,
                fld="target_item_id",
            )
        ids.append(eid)
        targets.append(target)
    if not ids:
        raise _fail(path, "no predictions")
    for n, item in _targets_from_titles(path, catalogue, by_title, "target_title", "line").items():
        targets[lines[n]] = item
    meta_path = path.with_name(path.name.removesuffix(".jsonl") + ".meta.json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else None
    return Predictions(path, "predictions", ids, np.asarray(targets, dtype=np.int64), texts, meta)


def read_bigrec_results(path: Path, catalogue: Catalogue, *, empty: str = "error") -> Predictions:
    """Read a BIGRec result JSON: a list of {instruction, input, output, predict}.

    `output` is the quoted target title; it is mapped to an item by the exact-title rule.
    Example ids are `bigrec-<index>` (0-based position in the list).
    """
    path = _require_file(Path(path), "BIGRec result file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not valid JSON ({exc})") from exc
    if not isinstance(data, list) or not data:
        raise _fail(
            path, "expected a non-empty JSON list of {instruction, input, output, predict} objects"
        )
    ids, outputs, texts = [], [], []
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise _fail(path, f"expected an object, got {type(obj).__name__}", row=i)
        for key in ("output", "predict"):
            if key not in obj:
                raise _fail(path, "missing", row=i, fld=key)
        texts.append(_texts(path, obj["predict"], "predict", empty, row=i))
        outputs.append((i, _as_title(path, obj["output"], "output", row=i)))
        ids.append(f"bigrec-{i}")
    found = _targets_from_titles(path, catalogue, outputs, "output", "row")
    targets = np.asarray([found[i] for i in range(len(ids))], dtype=np.int64)
    return Predictions(path, "bigrec", ids, targets, texts, None)


def read_any_predictions(
    path: Path, catalogue: Catalogue, fmt: str = "auto", *, empty: str = "error"
) -> Predictions:
    """`fmt`: "predictions", "bigrec", or "auto" (by content: a JSON list is BIGRec).

    `empty`: "error" fails on an example without a non-blank text; "miss" gives it no texts ([])."""
    path = Path(path)
    if fmt == "auto":
        _require_file(path, "predictions file")
        with open(path, encoding="utf-8") as f:
            head = f.read(4096).lstrip()
        fmt = "bigrec" if head.startswith("[") else "predictions"
    if fmt == "bigrec":
        return read_bigrec_results(path, catalogue, empty=empty)
    if fmt == "predictions":
        return read_predictions(path, catalogue, empty=empty)
    raise InputError(f"unknown predictions format {fmt!r} (expected auto, predictions or bigrec)")


# --------------------------------------------------------------------------- examples


@dataclass
class Examples:
    """Instruction examples (train/valid/test.jsonl): only the fields evaluation needs."""

    path: Path
    example_ids: list[str]
    histories: list[list[int]]
    targets: np.ndarray  # int64
    timestamps: np.ndarray  # float64, NaN where null

    def __len__(self) -> int:
        return len(self.example_ids)


def read_examples(path: Path, n_items: int) -> Examples:
    """Read `train|valid|test.jsonl` (fields example_id, history_item_ids, target_item_id, timestamp)."""
    path = _require_file(Path(path), "examples file")
    ids, hists, targets, stamps = [], [], [], []
    for n, obj in _read_jsonl(path):
        eid = obj.get("example_id")
        if not isinstance(eid, str):
            raise _fail(path, f"expected a string, got {eid!r}", line=n, fld="example_id")
        hist = obj.get("history_item_ids")
        if not isinstance(hist, list) or not all(
            isinstance(h, int) and not isinstance(h, bool) and 0 <= h < n_items for h in hist
        ):
            raise _fail(
                path,
                f"expected a list of item ids in 0..{n_items - 1}, got {hist!r:.80}",
                line=n,
                fld="history_item_ids",
            )
        target = obj.get("target_item_id")
        if not isinstance(target, int) or isinstance(target, bool) or not 0 <= target < n_items:
            raise _fail(
                path,
                f"expected an item id in 0..{n_items - 1}, got {target!r}",
                line=n,
                fld="target_item_id",
            )
        ts = obj.get("timestamp")
        if ts is not None and (not isinstance(ts, int | float) or isinstance(ts, bool)):
            raise _fail(path, f"expected Unix seconds or null, got {ts!r}", line=n, fld="timestamp")
        ids.append(eid)
        hists.append(hist)
        targets.append(target)
        stamps.append(np.nan if ts is None else float(ts))
    if not ids:
        raise _fail(path, "no examples")
    return Examples(
        path, ids, hists, np.asarray(targets, dtype=np.int64), np.asarray(stamps, dtype=np.float64)
    )


def read_example_ids(path: Path) -> list[str]:
    """The `example_id` of every line of a JSONL file (predictions or examples)."""
    path = _require_file(Path(path), "subset file")
    ids = []
    for n, obj in _read_jsonl(path):
        eid = obj.get("example_id")
        if not isinstance(eid, str):
            raise _fail(path, f"expected a string, got {eid!r}", line=n, fld="example_id")
        ids.append(eid)
    return ids


def subset_examples(examples: Examples, ids_path: Path | None) -> Examples:
    """The examples whose ids occur in `ids_path` (all of them if None), in `examples` order."""
    if ids_path is None:
        return examples
    wanted = set(read_example_ids(ids_path))
    rows = [i for i, eid in enumerate(examples.example_ids) if eid in wanted]
    missing = wanted - {examples.example_ids[i] for i in rows}
    if missing:
        raise InputError(
            f"{ids_path}: {len(missing)} example_id(s) not in {examples.path}, "
            f"e.g. {sorted(missing)[0]!r}"
        )
    return Examples(
        examples.path,
        [examples.example_ids[i] for i in rows],
        [examples.histories[i] for i in rows],
        examples.targets[rows],
        examples.timestamps[rows],
    )
