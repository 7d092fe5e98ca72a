"""Shared settings of the end-to-end tests."""

from __future__ import annotations

import pytest

from pipeline.torch_lock import LOCK_ENV


@pytest.fixture(autouse=True)
def own_torch_lock(tmp_path_factory, monkeypatch):
    """The pipelines these tests run take a torch lock of their own (one per test session): a
    test must not wait hours for a user's real pipeline that holds the machine's lock."""
    path = tmp_path_factory.getbasetemp() / "llmrec-torch-jobs.lock"
    monkeypatch.setenv(LOCK_ENV, str(path))
