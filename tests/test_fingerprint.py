"""A no-op re-run reads no unchanged input again: stage keys come from a (size, mtime, inode) cache."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tasks():
    spec = importlib.util.spec_from_file_location("llmrec_tasks", ROOT / "tasks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unchanged_files_are_not_hashed_again(tasks, tmp_path: Path, monkeypatch):
    (tmp_path / "d").mkdir()
    a, b = tmp_path / "a.jsonl", tmp_path / "d" / "b.npy"
    a.write_text("one\n")
    b.write_bytes(b"\x00" * 100)
    real, calls = tasks._sha256, []
    monkeypatch.setattr(tasks, "_sha256", lambda p: calls.append(p) or real(p))

    cache: dict = {}
    first = tasks._fingerprint([a, tmp_path / "d"], cache)
    assert len(calls) == 2 and first == {str(a): real(a), str(b): real(b)}
    calls.clear()
    assert tasks._fingerprint([a, tmp_path / "d"], cache) == first
    assert calls == []  # nothing read

    # an in-place change (same inode) with a new mtime is hashed again; so is a replaced file
    a.write_text("two\n")
    os.utime(a, ns=(1, 1))
    replacement = tmp_path / "new.npy"
    replacement.write_bytes(b"\x01" * 100)
    replacement.replace(b)
    second = tasks._fingerprint([a, tmp_path / "d"], cache)
    assert sorted(calls) == sorted([a, b])
    assert second[str(a)] != first[str(a)] and second[str(b)] != first[str(b)]
