"""Where raw files live (the data home), and how they are downloaded when missing."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from llmrec_data._io import atomic_path, md5_file, sha256_file
from llmrec_data.errors import DataError, MissingRawDataError

DATA_HOME_ENV = "LLMREC_DATA_HOME"


def data_home(override: str | Path | None = None) -> Path:
    """The folder raw datasets are looked for in (and downloaded to).

    Order: the explicit `override`, then `$LLMREC_DATA_HOME`, then the user cache folder
    (`platformdirs.user_cache_dir("llmrec")/datasets`, e.g. `~/.cache/llmrec/datasets` on Linux).
    """
    if override is not None:
        return Path(override).expanduser()
    if env := os.environ.get(DATA_HOME_ENV):
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("llmrec")) / "datasets"


@dataclass(frozen=True)
class Download:
    """One official file: where it comes from, how to check it, whether to unzip it."""

    url: str
    filename: str
    checksum: tuple[str, str] | None = None  # ("md5" | "sha256", hex digest); None: none published
    extract: bool = False  # unzip into the source's parent folder after checking


@dataclass(frozen=True)
class RawSource:
    """A raw dataset as it lies in the data home: a folder and the files needed from it."""

    name: str
    folder: str  # relative to the data home
    files: tuple[str, ...]  # needed files, relative to `folder`
    downloads: tuple[Download, ...] = ()
    member_sha256: tuple[tuple[str, str], ...] = ()  # checked after a download+extract
    homepage: str = ""

    def paths(self, home: Path) -> list[Path]:
        return [home / self.folder / f for f in self.files]


GROUPLENS = "https://files.grouplens.org/datasets/movielens"
AMAZON_2018 = "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_v2"

# md5 digests as published by GroupLens beside each zip (ml-10m.zip.md5, ml-1m.zip.md5).
SOURCES: dict[str, RawSource] = {
    "ml-10m": RawSource(
        name="ml-10m",
        folder="movielens/ml-10M100K",
        files=("ratings.dat", "movies.dat"),
        downloads=(
            Download(
                f"{GROUPLENS}/ml-10m.zip",
                "ml-10m.zip",
                ("md5", "ce571fd55effeba0271552578f2648bd"),
                extract=True,
            ),
        ),
        homepage="https://grouplens.org/datasets/movielens/10m/",
    ),
    "ml-1m": RawSource(
        name="ml-1m",
        folder="movielens/ml-1m",
        files=("ratings.dat", "movies.dat"),
        downloads=(
            Download(
                f"{GROUPLENS}/ml-1m.zip",
                "ml-1m.zip",
                ("md5", "c4d9eecfca2ab87c1945afe126590906"),
                extract=True,
            ),
        ),
        homepage="https://grouplens.org/datasets/movielens/1m/",
    ),
    "ml-latest-small": RawSource(
        name="ml-latest-small",
        folder="movielens/ml-latest-small",
        files=("ratings.csv", "movies.csv"),
        # GroupLens publishes no digest for this zip; the extracted files of its 2018-09 release are pinned.
        downloads=(
            Download(f"{GROUPLENS}/ml-latest-small.zip", "ml-latest-small.zip", extract=True),
        ),
        member_sha256=(
            ("ratings.csv", "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646"),
            ("movies.csv", "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07"),
        ),
        homepage="https://grouplens.org/datasets/movielens/latest/",
    ),
    "amazon-2018-video-games": RawSource(
        name="amazon-2018-video-games",
        folder="amazon-2018",
        files=("Video_Games_5.json.gz", "meta_Video_Games.json.gz"),
        # No digests are published for the Amazon 2018 files: their sha256 goes into the manifest.
        downloads=(
            Download(
                f"{AMAZON_2018}/categoryFilesSmall/Video_Games_5.json.gz", "Video_Games_5.json.gz"
            ),
            Download(
                f"{AMAZON_2018}/metaFiles2/meta_Video_Games.json.gz", "meta_Video_Games.json.gz"
            ),
        ),
        homepage="https://nijianmo.github.io/amazon/index.html",
    ),
    "amazon-video-games": RawSource(
        name="amazon-video-games",
        folder="amazon-video-games",
        files=("interactions.csv", "items.csv"),
        homepage="DEALRec's processed Amazon 2018 Video Games sequences (no public download URL)",
    ),
}


def ensure_source(source: RawSource, home: Path, *, download: bool = True) -> list[Path]:
    """Return the source's file paths, downloading them first if any is missing."""
    paths = source.paths(home)
    missing = [p for p in paths if not p.is_file()]
    if not missing:
        return paths
    if not source.downloads:
        raise _missing_error(source, home, missing, reason=None)
    if not download:
        raise _missing_error(source, home, missing, reason="downloading is switched off")
    try:
        for item in source.downloads:
            fetch(item, home / source.folder)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
        if isinstance(err, DataError):
            raise
        raise _missing_error(source, home, missing, reason=f"download failed ({err})") from None
    for name, digest in source.member_sha256:
        _check_digest(home / source.folder / name, ("sha256", digest))
    still_missing = [p for p in paths if not p.is_file()]
    if still_missing:
        raise _missing_error(
            source, home, still_missing, reason="the downloaded archive lacks them"
        )
    return paths


def fetch(item: Download, folder: Path) -> Path:
    """Download `item` into `folder` (or, for a zip, beside it and extract it into folder.parent)."""
    target_dir = folder.parent if item.extract else folder
    target = target_dir / item.filename
    if not target.is_file():
        target_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            _download(item.url, tmp)
            if item.checksum is not None:
                _check_digest(tmp, item.checksum, shown_as=target)
    elif item.checksum is not None:
        _check_digest(target, item.checksum)
    if item.extract:
        extract_zip(target, target_dir)
    return target


def _download(url: str, dest: Path) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "llmrec-data"})
    with urllib.request.urlopen(request, timeout=60) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=Path(url).name) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))


def _check_digest(path: Path, checksum: tuple[str, str], shown_as: Path | None = None) -> None:
    algorithm, expected = checksum
    actual = md5_file(path) if algorithm == "md5" else sha256_file(path)
    if actual != expected.lower():
        raise DataError(
            f"{algorithm} checksum mismatch: expected {expected}, got {actual}",
            file=shown_as or path,
            hint="the download is corrupt or a different release; delete it and retry",
        )


def extract_zip(archive: Path, into: Path) -> None:
    """Extract every member of `archive` into `into` (member paths are kept, never outside `into`)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            root = into.resolve()
            for member in zf.infolist():
                dest = (into / member.filename).resolve()
                if not dest.is_relative_to(root):
                    raise DataError(f"unsafe member path {member.filename!r}", file=archive)
                if member.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, atomic_path(dest) as tmp, open(tmp, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile as err:
        raise DataError(f"not a valid zip archive ({err})", file=archive) from None


def _missing_error(
    source: RawSource, home: Path, missing: list[Path], reason: str | None
) -> MissingRawDataError:
    lines = [f"raw files of {source.name!r} not found:"]
    lines += [f"    {p}" for p in missing]
    if source.downloads:
        lines.append("  get them from:")
        lines += [
            f"    {d.url}" + ("  (unzip into the folder above it)" if d.extract else "")
            for d in source.downloads
        ]
    else:
        lines.append(f"  there is no public download for them: {source.homepage}")
    if reason:
        lines.append(f"  ({reason})")
    return MissingRawDataError(
        "\n".join(lines),
        hint=f"put the files under {home / source.folder}, or point ${DATA_HOME_ENV} at a folder holding {source.folder}/",
    )
