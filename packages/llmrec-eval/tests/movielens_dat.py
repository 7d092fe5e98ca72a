"""Real-format outside data for the tests: MovieLens-1M-style `movies.dat` / `ratings.dat` slices made
from the real ml-latest-small files, and a result JSON in the layout BIGRec's `inference.py` writes.

A plain module, not conftest: test modules import it by name (`pythonpath` in the pytest config), and
the root README test loads it by path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

INSTRUCTION = (
    "Given a list of movies the user has watched before, please recommend a new movie that "
    "the user likes to the user."
)
PREFIX = "The user has watched the following movies before:"


def _ml_small() -> Path:
    home = os.environ.get("LLMREC_DATA_HOME")
    if not home:
        raise RuntimeError("LLMREC_DATA_HOME is not set: point it at the shared datasets folder")
    return Path(home) / "movielens" / "ml-latest-small"


def write_movielens_dat(folder: Path, *, n_movies: int = 250, encoding: str = "latin-1") -> Path:
    """`movies.dat` (id::title::genres) and `ratings.dat` (user::item::rating::timestamp) in
    `encoding`: the `n_movies` most-rated movies plus every accented title rated 5+ times (Amélie
    among them), so that encodings matter. Returns the folder."""
    src = _ml_small()
    movies = pl.read_csv(src / "movies.csv", infer_schema=False)
    ratings = pl.read_csv(src / "ratings.csv", infer_schema=False)
    counts = ratings.group_by("movieId").len()
    movies = movies.join(counts, on="movieId").filter(
        pl.col("title").map_elements(lambda t: _encodable(t, encoding), return_dtype=pl.Boolean)
    )
    top = movies.sort(["len", "movieId"], descending=[True, False]).head(n_movies)
    accented = movies.filter((pl.col("len") >= 5) & pl.col("title").str.contains(r"[^\x00-\x7f]"))
    keep = pl.concat([top, accented]).unique("movieId").sort(pl.col("movieId").cast(pl.Int64))
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{m}::{t}::{g}\n" for m, t, g in keep.select("movieId", "title", "genres").rows()]
    (folder / "movies.dat").write_bytes("".join(lines).encode(encoding))
    kept = ratings.filter(pl.col("movieId").is_in(keep["movieId"].implode()))
    (folder / "ratings.dat").write_text(
        "".join(f"{u}::{m}::{r}::{ts}\n" for u, m, r, ts in kept.rows()), encoding="ascii"
    )
    return folder


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def write_bigrec_result(
    path: Path, folder: Path, *, read_as: str = "latin-1", n: int = 60, empty_rows: int = 0
) -> Path:
    """A result JSON as BIGRec's inference.py writes it (`[{instruction, input, output, predict}]`),
    with titles from `folder/movies.dat` decoded as `read_as` (BIGRec's scripts: ISO-8859-1).

    Examples: per user (sorted by time), the last 10 items before a target; targets are the users'
    last items, and every accented movie's first rating with 10 items before it. `predict` holds 4
    texts like a model's beams: the target quoted (every third row), a title without its year, a
    lower-cased title, and an invented one. The first `empty_rows` rows get `predict: []`."""
    titles: dict[str, str] = {}
    # split("\n") as pandas does: latin-1 text may hold U+0085, where splitlines() would break
    for line in (folder / "movies.dat").read_bytes().decode(read_as).split("\n")[:-1]:
        movie, title, _ = line.split("::")
        titles[movie] = title
    events = []
    for line in (folder / "ratings.dat").read_text(encoding="ascii").splitlines():
        user, movie, _, ts = line.split("::")
        events.append((user, int(ts), movie))
    seqs: dict[str, list[str]] = {}
    for user, _, movie in sorted(events):
        seqs.setdefault(user, []).append(movie)
    picks: list[tuple[str, int]] = []
    accented = {m for m, t in titles.items() if not t.isascii()}
    for u, seq in seqs.items():
        for i, m in enumerate(seq[10:], start=10):
            if m in accented:
                picks.append((u, i))
                accented.discard(m)
    picks = picks[: n // 3] + [(u, len(seq) - 1) for u, seq in seqs.items() if len(seq) > 10]
    rows = []
    names = sorted(titles)
    for j, (u, i) in enumerate(picks[:n]):
        seq = seqs[u]
        target = titles[seq[i]]
        other = titles[names[(names.index(seq[i]) + 7) % len(names)]]
        predict = [
            f'"{target}"' if j % 3 == 0 else f'"{other.rsplit(" (", 1)[0]}"',
            f'"{titles[seq[i - 1]].lower()}"',
            f'"{other}"',
            '"The Return of Nobody (1999)"',
        ]
        rows.append(
            {
                "instruction": INSTRUCTION,
                "input": PREFIX + ", ".join(f'"{titles[m]}"' for m in seq[i - 10 : i]) + "\n ",
                "output": f'"{target}"\n',
                "predict": [] if j < empty_rows else predict,
            }
        )
    path.write_text(json.dumps(rows, indent=4, ensure_ascii=False), encoding="utf-8")
    return path
