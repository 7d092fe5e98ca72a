"""The README's "Use llmrec-eval on your own outputs" block, run as written.

Files named as in the README, in real formats: `movies.dat` and `ratings.dat` as in MovieLens-1M
(`::`-separated, ISO-8859-1) made from the real ml-latest-small files, and `test_result.json` in the
layout BIGRec's `inference.py` writes. The commands run through a shell with the workspace's
console scripts on PATH, and embed with the real offline MiniLM (hence the `torch` marker).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Use llmrec-eval on your own outputs"


def _fixtures():
    path = ROOT / "packages" / "llmrec-eval" / "tests" / "movielens_dat.py"
    spec = importlib.util.spec_from_file_location("llmrec_eval_movielens_dat", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readme_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "the section has no bash block"
    return match.group(1)


def test_readme_outside_data_commands_run_as_written(tmp_path):
    fixtures = _fixtures()
    fixtures.write_movielens_dat(tmp_path, encoding="latin-1")
    fixtures.write_bigrec_result(tmp_path / "test_result.json", tmp_path, read_as="latin-1")
    assert not (tmp_path / "movies.dat").read_bytes().isascii()  # accented titles, ISO-8859-1
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "LLMREC_EVAL_CACHE": str(tmp_path / "cache"),
        "HF_HUB_OFFLINE": "1",
    }
    block = _readme_block()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((tmp_path / "eval" / "bigrec" / "metrics.json").read_text())
    assert metrics["source"]["format"] == "bigrec" and metrics["n_examples"] == 60
    assert metrics["grounding"]["fusion"] == "first" and metrics["grounding"]["distance"] == "l2"
    # every third row's first text is its exact target title: at least a third are hits at rank 0
    assert metrics["metrics"]["hr@1"] >= 20 / 60
    assert "| bigrec |" in done.stdout  # the table command printed the run
    assert "Rebuild the catalogue" not in done.stderr
