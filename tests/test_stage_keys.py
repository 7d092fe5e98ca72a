"""The data stage's skip key covers the raw files it reads (no torch: polars only, seconds)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.profiles import resolve_profile
from pipeline.runs import reads_unchanged, reported_reads, sha256
from pipeline.stages import build_stages

ROOT = Path(__file__).resolve().parents[1]


def _invoke(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    if not os.environ.get("LLMREC_DATA_HOME"):
        pytest.fail("LLMREC_DATA_HOME must point at the raw datasets (../shared/datasets in CI)")
    return {**os.environ, "LLMREC_RUNS_DIR": str(tmp_path / "runs"), "HF_HUB_OFFLINE": "1"}


def test_appending_to_a_custom_interactions_file_reruns_the_data_stage(env, tmp_path):
    raw = Path(env["LLMREC_DATA_HOME"]) / "movielens" / "ml-latest-small"
    ratings = (raw / "ratings.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    interactions = tmp_path / "clicks.csv"
    interactions.write_text("".join(ratings[:3001]), encoding="utf-8")
    items = tmp_path / "items.csv"
    shutil.copy(raw / "movies.csv", items)
    sets = [f"data.interactions={interactions}", f"data.items={items}"]
    sets += ["data.user_column=userId", "data.item_column=movieId"]
    sets += ["data.timestamp_column=timestamp", "data.items_id_column=movieId"]
    sets += ["data.title_column=title"]
    args = ["data", "--dataset", "custom", "--profile", "tiny"]
    args += [a for s in sets for a in ("--set", s)]

    assert "[run ] data" in _invoke(env, *args)
    assert "[skip] data" in _invoke(env, *args)
    with interactions.open("a", encoding="utf-8") as f:  # 200 more rows, same path and flags
        f.write("".join(ratings[3001:3201]))
    assert "[run ] data" in _invoke(env, *args)
    assert "[skip] data" in _invoke(env, *args)
    os.utime(interactions)  # touched, same content: hashed again, still skipped
    assert "[skip] data" in _invoke(env, *args)


def test_another_data_home_reruns_the_data_stage(env, tmp_path):
    args = ["data", "--dataset", "movie-small", "--profile", "tiny"]
    assert "[run ] data" in _invoke(env, *args)
    assert "[skip] data" in _invoke(env, *args)
    home = tmp_path / "home"
    shutil.copytree(
        Path(env["LLMREC_DATA_HOME"]) / "movielens" / "ml-latest-small",
        home / "movielens" / "ml-latest-small",
    )
    assert "[run ] data" in _invoke({**env, "LLMREC_DATA_HOME": str(home)}, *args)
    # a re-downloaded file (new content at the same path) is noticed too
    ratings = home / "movielens" / "ml-latest-small" / "ratings.csv"
    lines = ratings.read_text(encoding="utf-8").splitlines(keepends=True)
    ratings.write_text("".join(lines[:-50]), encoding="utf-8")
    assert "[run ] data" in _invoke({**env, "LLMREC_DATA_HOME": str(home)}, *args)


def test_every_file_a_stage_is_given_is_part_of_its_key(tmp_path):
    """Each run-folder path on a stage's command line (outputs aside) is among its hashed inputs."""

    folder = tmp_path / "run"
    for profile in ("cpu", "tiny", "paper"):
        config = resolve_profile(profile, [])
        for name, argv, inputs, outputs, _ in build_stages("movie-small", folder, config):
            for flag, value in itertools.pairwise(argv):
                path = Path(value)
                if not value.startswith(str(folder)) or flag in (
                    "--out",
                    "--output-dir",
                    "--write-scores",
                ):
                    continue
                if path in outputs:
                    continue
                if path.suffix:  # a file: hashed itself
                    assert path in inputs, (profile, name, flag, value)
                else:  # a folder (adapter, data): the files read from it are hashed
                    assert any(path in p.parents for p in inputs), (profile, name, flag, value)


def test_reported_reads_accept_both_manifest_shapes(tmp_path):
    """prepare lists its raw files; interests prepare maps names to them: both are keyed."""
    raw = tmp_path / "raw.csv"
    raw.write_text("a,b\n")
    entry = {"path": str(raw), "sha256": sha256(raw)}
    for inputs in ([entry], {"raw.csv": entry}):
        manifest = tmp_path / "manifest.json"
        manifest.write_text(json.dumps({"inputs": inputs}))
        reads = reported_reads(manifest)
        assert list(reads) == [str(raw.resolve())]
        assert reads_unchanged(reads)
        raw.write_text("a,b\n1,2\n")
        assert not reads_unchanged(reads)
        raw.write_text("a,b\n")


def test_one_invoke_at_a_time_per_run_folder(env):
    """Two pipelines in one run folder would train two models at once on a 2-core machine."""
    import fcntl

    folder = Path(env["LLMREC_RUNS_DIR"]) / "movie-small" / "tiny"
    folder.mkdir(parents=True)
    with (folder / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "invoke",
                "data",
                "--dataset",
                "movie-small",
                "--profile",
                "tiny",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert done.returncode == 1
    assert f"{folder}: another invoke is running in this run folder" in done.stderr
    assert not (folder / "data").exists()
