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
