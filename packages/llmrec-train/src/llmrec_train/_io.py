"""Small file helpers: atomic writes, hashes, manifests."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import IO, Any


def _atomic_write(path: Path, write: Callable[[IO[Any]], object], mode: str) -> None:
    """`write(file)` into a temporary file in `path`'s folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            write(f)
        os.chmod(tmp, default_file_mode())  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, then rename it into place."""
    _atomic_write(path, lambda f: f.write(text), "w")


def atomic_write_npy(path: Path, array: Any) -> None:
    """`numpy.save` to `path`, atomically (a file object: np.save would append ".npy" to a path)."""
    import numpy as np

    _atomic_write(path, lambda f: np.save(f, array), "wb")


def default_file_mode() -> int:
    """The mode a new file gets (0666 minus the umask), as the other llmrec CLIs write."""
    mask = os.umask(0)  # the only way to read the umask is to set it
    os.umask(mask)
    return 0o666 & ~mask


def default_dir_mode() -> int:
    """The mode a new folder gets (0777 minus the umask); mkdtemp's folders are private (0700)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def atomic_write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    names = [
        "llmrec-train",
        "torch",
        "transformers",
        "trl",
        "peft",
        "accelerate",
        "bitsandbytes",
        "datasets",
    ]
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def check_writable(folder: Path, flag: str) -> None:
    """Fail in one line (UsageError) if `folder` cannot be created or written: probed with a temporary
    file in its nearest existing ancestor, which creates nothing."""
    from llmrec_train.errors import UsageError

    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{flag} {folder}: {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise UsageError(f"{flag} {folder}: cannot write in {existing} ({e.strerror})") from None
