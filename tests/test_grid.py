"""`invoke grid`'s configuration (no model is loaded): the shipped grid files validate, stage by
stage, with each CLI's check-config; a bad grid fails before anything runs, naming the file, line and
key; cells and training runs are enumerated as the published table has them; the table's layout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.grid import GRIDS_DIR, GridError, grid_commands, load_grid
from pipeline.grid_tables import grid_table, plot_ndcg_by_epoch
from pipeline.stages import check_stages, with_config_files, write_configs

ROOT = Path(__file__).resolve().parents[1]
TINY = """\
dataset = "movie-small"

[axes]
models = ["smollm2=smollm2-135m-instruct"]
samples = [0, 8]
epochs = [1, 2]
prompts = ["basic+basic"]
presets = ["bigrec-game"]

[train]
batch_size = 4
"""


def _grid_file(tmp_path: Path, text: str, name: str = "mine") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _error(tmp_path: Path, text: str, **flags: str) -> str:
    with pytest.raises(GridError) as caught:
        load_grid(_grid_file(tmp_path, text), dict(flags), [])
    return str(caught.value)


def test_every_shipped_grid_passes_every_stage_clis_check(tmp_path):
    shipped = sorted(p.stem for p in GRIDS_DIR.glob("*.toml"))
    assert {"small-cpu", "bigrec-games-7b", "bigrec-games-0.5b"} <= set(shipped)
    stages, configs = [], {}
    for name in shipped:
        grid = load_grid(name, {}, [])
        run = tmp_path / name
        commands = grid_commands(grid, run)
        stages += with_config_files(commands, run, grid.setting_origins(), configs)
    write_configs(configs)
    check_stages(stages, configs)  # raises SystemExit naming the key on any problem
    assert len(configs) == len(stages)


def test_the_published_games_grid_has_its_forty_rows_from_four_training_runs():
    grid = load_grid("bigrec-games-7b", {}, [])
    cells = grid.cells()
    # 2 models x (2 zero-shot rows + 6 epochs x 3 trained prompt pairs)
    assert len(cells) == 40
    assert [t.name for t in grid.trainings()] == [
        "train-llama-7b-n1024-basic",
        "train-llama-7b-n1024-enhanced",
        "train-llama-7b-instruct-n1024-basic",
        "train-llama-7b-instruct-n1024-enhanced",
    ]
    labels = {(c.sample, c.prompt.label) for c in cells}
    assert labels == {
        (0, "None+basic"),
        (0, "None+enhanced"),
        (1024, "Basic+basic"),
        (1024, "Enhanced+enhanced"),
        (1024, "Enhanced+basic"),
    }
    assert {c.epoch for c in cells if c.sample} == set(range(1, 7))
    assert {c.epoch for c in cells if not c.sample} == {0}


def test_small_grid_zero_shot_rows_come_from_sample_zero(tmp_path):
    grid = load_grid("small-cpu", {}, [])
    rows = [(c.sample, c.epoch, c.prompt.label) for c in grid.cells()]
    assert rows[:2] == [(0, 0, "None+basic"), (0, 0, "None+enhanced")]
    assert len(rows) == 8 and len(grid.trainings()) == 2


def test_one_training_run_per_prompt_keeps_every_epoch(tmp_path):
    grid = load_grid(_grid_file(tmp_path, TINY), {}, [])
    commands = grid_commands(grid, tmp_path / "run")
    train = [c for c in commands if c[0].startswith("train-")]
    assert len(train) == 1
    _, argv, _, outputs, _ = train[0]
    settings = {k: v for a in argv if hasattr(a, "options") for k, v in a.options.items()}
    assert settings["epochs"] == 2 and settings["n_train"] == 8
    assert settings["keep_epoch_adapters"] is True and settings["early_stopping_patience"] == 0
    assert [o.parent.name for o in outputs] == ["epoch-1", "epoch-2"]
    # each epoch's cell generates with that epoch's adapter
    generate = [c for c in commands if c[0].startswith("generate-") and "--adapter" in c[1]]
    adapters = [Path(argv[argv.index("--adapter") + 1]).name for _, argv, *_ in generate]
    assert adapters == ["epoch-1", "epoch-2"]


def test_flags_replace_the_files_axes(tmp_path):
    grid = load_grid(_grid_file(tmp_path, TINY), {"epochs": "1,2,3", "samples": "8"}, [])
    assert grid.epochs == [1, 2, 3] and grid.samples == [8]
    assert [c.epoch for c in grid.cells()] == [1, 2, 3]


def test_an_unknown_key_names_file_line_and_the_closest_key(tmp_path):
    message = _error(tmp_path, TINY.replace("epochs = [1, 2]", "epoch = [1, 2]"))
    assert "mine.toml, line 6: unknown axis 'axes.epoch': did you mean 'epochs'?" in message
    message = _error(tmp_path, "datset = 'movie'\n" + TINY)
    assert "mine.toml, line 1: unknown key 'datset': did you mean 'dataset'?" in message


def test_a_setting_the_axes_decide_is_refused(tmp_path):
    message = _error(tmp_path, TINY + "epochs = 3\n")
    assert "mine.toml, line 12, field 'train.epochs': set by the grid's axis 'epochs'" in message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("samples = [0, 8]", "samples = [8]"), "none+basic"),
        (("samples = [0, 8]", "samples = [0, -1]"), "expected whole numbers >= 0, got -1"),
        (("epochs = [1, 2]", "epochs = [1, 1]"), "1 given more than once"),
        (('"basic+basic"', '"basic"'), "expected a pair TRAINING+TEST"),
        (('"movie-small"', '"movies"'), "unknown dataset 'movies': did you mean 'movie'?"),
    ],
)
def test_bad_axes_fail_naming_where(tmp_path, edit, expected):
    text = TINY.replace(*edit)
    if "none+basic" in expected:
        text = text.replace('"basic+basic"', '"none+basic", "basic+basic"')
        expected = "None+basic are zero-shot pairs (no training): add sample size 0"
    assert expected in _error(tmp_path, text)


def test_a_bad_stage_setting_stops_invoke_before_anything_runs(tmp_path):
    """The stage CLIs' check: exit 2, the grid file's line named, no stage run."""
    path = _grid_file(tmp_path, TINY.replace("batch_size = 4", "batch_sise = 4"))
    env = {**os.environ, "LLMREC_RUNS_DIR": str(tmp_path / "runs")}
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "grid", "--config", path],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "mine.toml, line 11, field 'train.batch_sise'" in done.stderr
    assert "did you mean 'batch_size'?" in done.stderr
    assert "nothing was run" in done.stderr
    assert not list((tmp_path / "runs").rglob(".stages/*.json"))


def test_the_table_has_the_published_layout():
    metrics = {f"{m}@{k}": k / 1000 for m in ("ndcg", "hr") for k in (1, 3, 5, 10, 20, 50)}
    rows = [
        {"model": "llama-7b", "sample": 0, "epoch": 0, "prompt": "None+basic"},
        {"model": "llama-7b", "sample": 1024, "epoch": 3, "prompt": "Enhanced+basic"},
    ]
    table = grid_table([{**r, "preset": "bigrec-game", "metrics": metrics} for r in rows])
    lines = table.splitlines()
    assert lines[0] == (
        "| Model | Sample | Epoch | Prompt | NG@1 | NG@3 | NG@5 | NG@10 | NG@20 | NG@50 "
        "| HR@1 | HR@3 | HR@5 | HR@10 | HR@20 | HR@50 |"
    )
    assert lines[1] == "|---|---|---|---|" + "---:|" * 12
    values = " | ".join(f"{k / 1000:.4f}" for k in (1, 3, 5, 10, 20, 50))
    assert lines[2] == f"| llama-7b | 0 | 0 | None+basic | {values} | {values} |"
    assert lines[3] == f"| llama-7b | 1024 | 3 | Enhanced+basic | {values} | {values} |"


def test_the_plot_has_one_line_per_model_and_prompt(tmp_path):
    rows = [
        {"model": "m", "sample": 0, "epoch": 0, "prompt": "None+basic", "ndcg": 0.01},
        *(
            {"model": "m", "sample": 128, "epoch": e, "prompt": p, "ndcg": e / 100}
            for e in (1, 2, 3)
            for p in ("Basic+basic", "Enhanced+enhanced")
        ),
    ]
    rows = [{**r, "preset": "bigrec-game", "metrics": {"ndcg@10": r["ndcg"]}} for r in rows]
    legend = plot_ndcg_by_epoch(rows, tmp_path / "plot.png")
    assert legend == ["m Basic+basic", "m Enhanced+enhanced", "m None+basic (zero-shot)"]
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
