"""A no-op re-run reads no unchanged input again: stage keys come from a (size, mtime, inode) cache."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline import runs
from pipeline.runs import fingerprint

ROOT = Path(__file__).resolve().parents[1]


def test_unchanged_files_are_not_hashed_again(tmp_path: Path, monkeypatch):
    (tmp_path / "d").mkdir()
    a, b = tmp_path / "a.jsonl", tmp_path / "d" / "b.npy"
    a.write_text("one\n")
    b.write_bytes(b"\x00" * 100)
    real, calls = runs.sha256, []
    monkeypatch.setattr(runs, "sha256", lambda p: calls.append(p) or real(p))

    cache: dict = {}
    first = fingerprint([a, tmp_path / "d"], cache)
    assert len(calls) == 2 and first == {str(a): real(a), str(b): real(b)}
    calls.clear()
    assert fingerprint([a, tmp_path / "d"], cache) == first
    assert calls == []  # nothing read

    # an in-place change (same inode) with a new mtime is hashed again; so is a replaced file
    a.write_text("two\n")
    os.utime(a, ns=(1, 1))
    replacement = tmp_path / "new.npy"
    replacement.write_bytes(b"\x01" * 100)
    replacement.replace(b)
    second = fingerprint([a, tmp_path / "d"], cache)
    assert sorted(calls) == sorted([a, b])
    assert second[str(a)] != first[str(a)] and second[str(b)] != first[str(b)]


def test_a_touched_file_is_hashed_again_and_a_restored_stat_is_trusted(tmp_path, monkeypatch):
    """The cache's key is (size, mtime, inode): a touched file is read again (same content, same
    hash). The trade-off: a rewrite in place that restores size and mtime is trusted unread, as
    make and rsync do; `--force` runs every stage regardless."""
    a = tmp_path / "a.jsonl"
    a.write_text("one\n")
    real, calls = runs.sha256, []
    monkeypatch.setattr(runs, "sha256", lambda p: calls.append(p) or real(p))
    cache: dict = {}
    first = fingerprint([a], cache)

    os.utime(a)  # touched: a new mtime, the same bytes
    calls.clear()
    assert fingerprint([a], cache) == first and calls == [a]

    stat = a.stat()
    with a.open("r+") as f:  # same inode, same size, and the old mtime put back
        f.write("two\n")
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    calls.clear()
    assert fingerprint([a], cache) == first and calls == []  # trusted: not read
