"""BIGRec's experiment grid (`invoke grid`): models x training sample sizes x epochs x prompt pairs x
decoding presets, computed as stages of one run folder and written in the published layout.

A grid is a TOML file in configs/grids/ (or flags): its `[axes]` and, as in a profile, one table per
stage (`[data]`, `[embed]`, `[train]`, `[generate]`, `[evaluate]`) of settings for that stage's CLI.

- One training run per (model, sample size, training prompt), for the largest epoch of the grid,
  keeping the adapter of every epoch (`llmrec-train train --keep-epoch-adapters`): epoch N's row is
  the adapter at the end of epoch N of that one run, never a separate training for N epochs.
- Sample size 0 means no training: the zero-shot rows, one per test prompt (`None+basic`).
- A cell (one row) is two stages, generation and evaluation; like every stage, each is skipped when
  its command, settings and input files are those of its last successful run and its outputs exist,
  so a grid is resumed or extended by running the same command again.

The run folder `runs/grids/NAME/`:

    data/                  the prepared dataset and its item embeddings
    train/MODEL/nS-T/      one training run (epochs/epoch-N: each epoch's adapter)
    cells/MODEL/nS-T+P/PRESET/epoch-N/   predictions.jsonl (+ meta), eval/metrics.json, cell.json
    grid.md, grid.json, ndcg10_by_epoch.png, params.md, manifest.json
"""

from __future__ import annotations

import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import ROOT
from pipeline.grid_tables import write_grid_tables
from pipeline.profiles import Settings, add_table, apply_overrides, closest, shown, where
from pipeline.runs import Run, device, git_commit, runs_dir, sha256, versions, write_json
from pipeline.stages import (
    DATASETS,
    Stage,
    StageConfig,
    check_stages,
    opts,
    train_launcher,
    with_config_files,
    write_configs,
)

GRIDS_DIR = ROOT / "configs" / "grids"
AXES = {
    "models": "models: Hugging Face ids, local folders or the offline alias smollm2-135m-instruct; "
    "NAME=ID names a model in the tables (llama-7b=huggyllama/llama-7b)",
    "samples": "training examples per run; 0 = no training (the zero-shot rows)",
    "epochs": "the epochs whose adapters are evaluated (one training run, to the largest)",
    "prompts": "prompt pairs TRAINING+TEST (basic+basic, enhanced+basic; none+basic: zero-shot)",
    "presets": "decoding presets of `llmrec-train generate --preset` (bigrec-game, bigrec-movie, d3)",
}
STAGE_SECTIONS = ("data", "embed", "train", "generate", "evaluate")
# Settings the axes decide: a stage table that sets one of them is refused, naming the axis.
SET_BY_AXES = {
    "train": {
        "model": "models",
        "n_train": "samples",
        "template": "prompts",
        "epochs": "epochs",
        "max_steps": "epochs",
        "keep_epoch_adapters": "epochs",
        "early_stopping_patience": "epochs",
    },
    "generate": {
        "model": "models",
        "adapter": "models",
        "template": "prompts",
        "preset": "presets",
    },
}
NO_TRAINING = "none"


class GridError(Exception):
    """A grid that cannot run; the message names the file and line (or the flag) and what was
    expected. `invoke grid` prints it and exits 2 before anything runs."""


@dataclass(frozen=True)
class Model:
    name: str  # in the tables
    id: str  # what the CLIs load

    @property
    def slug(self) -> str:
        """The name as one folder and stage-name component."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.name)


@dataclass(frozen=True)
class PromptPair:
    train: str  # a template, or "none" (no training)
    test: str

    @property
    def label(self) -> str:
        """As the published table writes it: `Enhanced+basic`, `None+basic`."""
        return f"{self.train.capitalize()}+{self.test}"

    @property
    def slug(self) -> str:
        return f"{self.train}+{self.test}"


@dataclass(frozen=True)
class Training:
    """One training run: every epoch of the grid is an adapter it keeps."""

    model: Model
    sample: int
    template: str

    @property
    def name(self) -> str:
        return f"train-{self.model.slug}-n{self.sample}-{self.template}"

    def folder(self, run: Path) -> Path:
        return run / "train" / self.model.slug / f"n{self.sample}-{self.template}"

    def adapter(self, run: Path, epoch: int) -> Path:
        return self.folder(run) / "epochs" / f"epoch-{epoch}"


@dataclass(frozen=True)
class Cell:
    """One row of the table: a model (with an epoch's adapter, or none) generating for the test
    examples with a test prompt and a decoding preset, then evaluated."""

    model: Model
    sample: int
    epoch: int  # 0: zero-shot (no adapter)
    prompt: PromptPair
    preset: str

    @property
    def training(self) -> Training | None:
        return Training(self.model, self.sample, self.prompt.train) if self.sample else None

    @property
    def name(self) -> str:
        at = f"-epoch-{self.epoch}" if self.epoch else ""
        return f"{self.model.slug}-n{self.sample}-{self.prompt.slug}-{self.preset}{at}"

    def folder(self, run: Path) -> Path:
        where = run / "cells" / self.model.slug / f"n{self.sample}-{self.prompt.slug}"
        return where / self.preset / (f"epoch-{self.epoch}" if self.epoch else "zero-shot")

    def adapter(self, run: Path) -> Path | None:
        training = self.training
        return None if training is None else training.adapter(run, self.epoch)


@dataclass
class Grid:
    name: str
    dataset: str
    models: list[Model]
    samples: list[int]
    epochs: list[int]
    prompts: list[PromptPair]
    presets: list[str]
    settings: Settings  # the stage tables, each value remembering where it was set
    origins: dict[str, str] = field(default_factory=dict)  # axis or `dataset` -> file line or flag

    def setting_origins(self) -> dict[tuple[str, str], str]:
        """Where each stage setting was made, for error messages: the stage tables' file lines or
        `--set`, and for the settings the axes decide (section "axes"), the axis."""
        axis_of = {"model": "models", "names": "models", "n_train": "samples", "epochs": "epochs"}
        axis_of |= {"template": "prompts", "preset": "presets"}
        origins = dict(self.settings.origins)
        for option, axis in axis_of.items():
            origins[("axes", option)] = self.origins[axis]
        return origins

    def trainings(self) -> list[Training]:
        """One per (model, sample size > 0, training prompt), in the axes' order."""
        templates = dict.fromkeys(p.train for p in self.prompts if p.train != NO_TRAINING)
        return [
            Training(m, s, t) for m in self.models for s in self.samples if s for t in templates
        ]

    def cells(self) -> list[Cell]:
        """Every row, in the table's order: model, sample size, epoch, prompt, preset. Sample size 0
        gives one zero-shot row per distinct test prompt (`basic+basic` there is `None+basic`)."""
        out = []
        tests = dict.fromkeys(p.test for p in self.prompts)
        trained = [p for p in self.prompts if p.train != NO_TRAINING]
        for model in self.models:
            for sample in self.samples:
                if sample == 0:
                    for test in tests:
                        for preset in self.presets:
                            out.append(Cell(model, 0, 0, PromptPair(NO_TRAINING, test), preset))
                    continue
                for epoch in self.epochs:
                    for prompt in trained:
                        for preset in self.presets:
                            out.append(Cell(model, sample, epoch, prompt, preset))
        return out


# --------------------------------------------------------------------------------------------
# reading a grid: a config file, then flags over it


def grid_path(spec: str) -> Path:
    """`NAME` -> configs/grids/NAME.toml; a path (ends in .toml or has a slash) as given."""
    if spec.endswith(".toml") or "/" in spec:
        return Path(spec).expanduser()
    return GRIDS_DIR / f"{spec}.toml"


def _grid_names() -> list[str]:
    return sorted(p.stem for p in GRIDS_DIR.glob("*.toml"))


def _as_list(value: Any) -> list[Any]:
    """An axis value: a TOML list, or one string of comma-separated values (as the flags)."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return value
    return [value]


def _ints(values: list[Any], at: str, low: int) -> list[int]:
    out = []
    for v in values:
        try:
            number = int(v) if not isinstance(v, bool) and float(v) == int(v) else None
        except (TypeError, ValueError):
            number = None
        if number is None or number < low:
            raise GridError(f"error: {at}: expected whole numbers >= {low}, got {v!r}")
        out.append(number)
    return out


def _axis(name: str, raw: Any, at: str) -> list[Any]:
    """One axis checked: a non-empty list of distinct, well-formed values."""
    values = _as_list(raw)
    if not values:
        raise GridError(f"error: {at}: the axis is empty: give {AXES[name]}")
    if name in ("samples", "epochs"):
        values = _ints(values, at, 0 if name == "samples" else 1)
    elif not all(isinstance(v, str) and v.strip() for v in values):
        raise GridError(f"error: {at}: expected strings ({AXES[name]}), got {raw!r}")
    if name == "models":
        values = [_model(v, at) for v in values]
    if name == "prompts":
        values = [_prompt(v, at) for v in values]
    keys = [v.name if isinstance(v, Model) else v for v in values]
    repeated = sorted({str(k) for k in keys if keys.count(k) > 1})
    if repeated:
        raise GridError(f"error: {at}: {', '.join(repeated)} given more than once")
    return sorted(values) if name == "epochs" else values


def _model(text: str, at: str) -> Model:
    name, sep, model_id = text.partition("=")
    if not sep:
        return Model(text.strip(), text.strip())
    if not name.strip() or not model_id.strip():
        raise GridError(f"error: {at}: {text!r}: expected NAME=ID or an id")
    return Model(name.strip(), model_id.strip())


def _prompt(text: str, at: str) -> PromptPair:
    train, sep, test = text.strip().lower().partition("+")
    if not sep or not re.fullmatch(r"\w+", train) or not re.fullmatch(r"\w+", test):
        raise GridError(
            f"error: {at}: {text!r}: expected a pair TRAINING+TEST of prompt templates "
            "(basic+basic, enhanced+basic, none+basic for zero-shot)"
        )
    if test == NO_TRAINING:
        raise GridError(f"error: {at}: {text!r}: the test prompt cannot be 'none'")
    return PromptPair(train, test)


def _read_file(path: Path) -> tuple[dict[str, Any], Settings, dict[str, str]]:
    """A grid file: its top-level values and axes, its stage tables, and where each was set."""
    if not path.is_file():
        hint = closest(path.stem, _grid_names()) if path.parent == GRIDS_DIR else ""
        raise GridError(
            f"error: unknown grid {shown(path)} (no such file): {hint}expected one of "
            f"{', '.join(_grid_names())} or the path of a .toml file"
        )
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise GridError(f"error: {shown(path)}: not valid TOML: {err}") from None
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    settings = Settings()
    for key, value in doc.items():
        if key == "dataset":
            values[key], origins[key] = value, f"{where(path, None, key)}, field 'dataset'"
        elif key == "axes" and isinstance(value, dict):
            for axis, axis_value in value.items():
                if axis not in AXES:
                    raise GridError(
                        f"error: {where(path, 'axes', axis)}: unknown axis 'axes.{axis}': "
                        f"{closest(axis, AXES)}expected one of {', '.join(AXES)}"
                    )
                values[axis] = axis_value
                origins[axis] = f"{where(path, 'axes', axis)}, field 'axes.{axis}'"
        elif key in STAGE_SECTIONS and isinstance(value, dict):
            add_table(settings, path, key, value)
        elif key in ("axes", *STAGE_SECTIONS):
            raise GridError(
                f"error: {where(path, None, key)}, field {key!r}: expected a table [{key}]"
            )
        else:
            known = ("dataset", "axes", *STAGE_SECTIONS)
            raise GridError(
                f"error: {where(path, None, key)}: unknown key {key!r}: {closest(key, known)}"
                f"expected one of {', '.join(known)}"
            )
    return values, settings, origins


def load_grid(
    config: str | None,
    flags: dict[str, str | None],
    overrides: list[str],
    name: str | None = None,
) -> Grid:
    """The grid of file `config` (a name in configs/grids/ or a path; None: flags only) with the
    axis flags (`flags[axis]`, comma-separated; `flags["dataset"]`) and `--set` overrides over it.
    Everything the grid itself decides is checked here; each stage's settings are checked by its
    CLI (`check_stages`) before anything runs."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    settings = Settings()
    if config is not None:
        values, settings, origins = _read_file(grid_path(config))
    for key, value in flags.items():
        if value is not None:
            values[key] = value
            origins[key] = f"--{key} {value}"
    missing = [a for a in ("dataset", *AXES) if a not in values]
    if missing:
        raise GridError(
            "error: the grid has no "
            + ", ".join(missing)
            + ": set them in the grid file ([axes], `dataset`) or with --"
            + ", --".join(missing)
        )
    if values["dataset"] not in DATASETS:
        raise GridError(
            f"error: {origins['dataset']}: unknown dataset {values['dataset']!r}: "
            f"{closest(str(values['dataset']), DATASETS)}expected one of {', '.join(DATASETS)}"
        )
    axes = {axis: _axis(axis, values[axis], origins[axis]) for axis in AXES}
    apply_overrides(settings, overrides, STAGE_SECTIONS)
    for section, owned in SET_BY_AXES.items():
        for option, axis in owned.items():
            if option in settings.get(section, {}):
                at = settings.origins[(section, option)]
                raise GridError(
                    f"error: {at}, field '{section}.{option}': set by the grid's axis "
                    f"'{axis}' ([axes] or --{axis}), not by [{section}]: remove it"
                )
    reweight = settings.get("evaluate", {}).get("reweight", "none")
    if reweight != "none":
        raise GridError(
            f"error: {settings.origins[('evaluate', 'reweight')]}, field 'evaluate.reweight': "
            f"the grid generates for the test examples only, so it cannot sweep a re-weighting "
            f"on validation; expected 'none', got {reweight!r}"
        )
    grid = Grid(
        name=name or (grid_path(config).stem if config else "grid"),
        dataset=values["dataset"],
        settings=settings,
        origins=origins,
        **axes,
    )
    zero_shot = [p.label for p in grid.prompts if p.train == NO_TRAINING]
    if zero_shot and 0 not in grid.samples:
        raise GridError(
            f"error: {origins['prompts']}: {', '.join(zero_shot)} are zero-shot pairs (no "
            f"training): add sample size 0 to the samples ({origins['samples']})"
        )
    if any(grid.samples) and not grid.trainings():
        raise GridError(
            f"error: {origins['prompts']}: sample sizes above 0 train a model, but no prompt pair "
            "names a training prompt (e.g. basic+basic)"
        )
    return grid


# --------------------------------------------------------------------------------------------
# the stages


# A stage before its config file is written: its argv still holds `opts` (see `with_config_files`).
Command = tuple[str, list[Any], list[Path], list[Path], Path | None]


def grid_commands(grid: Grid, run: Path) -> list[Command]:
    """Every stage of the grid, in the order they run: data, embeddings, the parameter table, the
    zero-shot cells, then each training run followed by its cells. Settings are `opts` (written to
    the stage's config file); the axes' values are tagged with section "axes"."""
    s = grid.settings
    data = run / "data"
    items, emb, test = data / "items.parquet", data / "item_embeddings.npy", data / "test.jsonl"
    train_file, valid_file = data / "train.jsonl", data / "valid.jsonl"
    # Generation loads the base model the way training did.
    loading = {k: v for k, v in s.get("train", {}).items() if k == "quantization"}
    lora = {k: v for k, v in s.get("train", {}).items() if k in ("lora_r", "lora_target_modules")}
    commands: list[Command] = [
        (
            "data",
            ["llmrec-data", "prepare", "--dataset", grid.dataset, "--out", str(data)]
            + [opts(s.get("data", {}), "data")],
            [],
            [items, train_file, valid_file, test],
            data / "manifest.json",
        ),
        (
            "embed",
            ["llmrec-data", "embed", "--data", str(data), opts(s.get("embed", {}), "embed")],
            [items],
            [emb],
            None,
        ),
        (
            "params",
            ["llmrec-train", "params", "--out", str(run / "params.md")]
            + [opts({"model": ",".join(m.id for m in grid.models)}, "axes")]
            + [opts({"names": ",".join(m.name for m in grid.models)}, "axes"), opts(lora, "train")],
            [],
            [run / "params.md"],
            None,
        ),
    ]

    def cell_commands(cell: Cell) -> list[Command]:
        folder, adapter = cell.folder(run), cell.adapter(run)
        predictions = folder / "predictions.jsonl"
        argv = ["llmrec-train", "generate", "--examples", str(test), "--items", str(items)]
        argv += ["--out", str(predictions), opts({"model": cell.model.id}, "axes")]
        argv += [opts(loading, "train"), opts(s.get("generate", {}), "generate")]
        argv += [opts({"template": cell.prompt.test, "preset": cell.preset}, "axes")]
        inputs = [test, items]
        if adapter is not None:
            argv += ["--adapter", str(adapter)]
            inputs += [adapter / f for f in ADAPTER_FILES]
        evaluate = ["llmrec-eval", "evaluate", "--predictions", str(predictions)]
        evaluate += ["--examples", str(test), "--items", str(items), "--embeddings", str(emb)]
        evaluate += ["--out", str(folder / "eval"), "--name", cell.name]
        evaluate += [opts(s.get("evaluate", {}), "evaluate")]
        return [
            (f"generate-{cell.name}", argv, inputs, [predictions], None),
            (
                f"evaluate-{cell.name}",
                evaluate,
                [predictions, test, items, emb],
                [folder / "eval" / "metrics.json"],
                None,
            ),
        ]

    cells = grid.cells()
    for cell in cells:
        if cell.training is None:
            commands += cell_commands(cell)
    for training in grid.trainings():
        out = training.folder(run)
        axes = {"model": training.model.id, "n_train": training.sample}
        axes |= {"template": training.template, "epochs": max(grid.epochs)}
        # Every epoch's adapter is kept, and every epoch runs: no early stop.
        axes |= {"keep_epoch_adapters": True, "early_stopping_patience": 0}
        argv = [*train_launcher(), "train", "--train-file", str(train_file)]
        argv += ["--valid-file", str(valid_file), "--output-dir", str(out)]
        argv += [opts(s.get("train", {}), "train"), opts(axes, "axes"), "--resume", "auto"]
        epochs = [training.adapter(run, e) / "adapter_model.safetensors" for e in grid.epochs]
        commands.append((training.name, argv, [train_file, valid_file], epochs, None))
        for cell in cells:
            if cell.training == training:
                commands += cell_commands(cell)
    return commands


ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json", "llmrec_train.json")
"""An epoch adapter's files generation reads (llmrec_train.json: its prompt template and base)."""


# --------------------------------------------------------------------------------------------
# running a grid and writing its tables


def cell_row(grid: Grid, cell: Cell, run: Path) -> dict[str, Any]:
    """A finished cell as a table row, with what it was computed from (also written to the cell's
    cell.json): the adapter evaluated and its sha256, the predictions and metrics files."""
    import json

    folder, adapter = cell.folder(run), cell.adapter(run)
    metrics_file = folder / "eval" / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    weights = None if adapter is None else adapter / "adapter_model.safetensors"
    row = {
        "model": cell.model.name,
        "model_id": cell.model.id,
        "sample": cell.sample,
        "epoch": cell.epoch,
        "prompt": cell.prompt.label,
        "preset": cell.preset,
        "adapter": None if adapter is None else str(adapter.relative_to(run)),
        "adapter_sha256": None if weights is None else sha256(weights),
        "predictions": str((folder / "predictions.jsonl").relative_to(run)),
        "metrics_file": str(metrics_file.relative_to(run)),
        "n_examples": metrics["n_examples"],
        "metrics": metrics["metrics"],
    }
    write_json(folder / "cell.json", row)
    return row


def run_grid(grid: Grid, force: bool) -> Path:
    """Write and check every stage's config, run (or skip) the stages, then write grid.md,
    grid.json, ndcg10_by_epoch.png; params.md is a stage. Returns the run folder."""
    run = runs_dir() / "grids" / grid.name
    run.mkdir(parents=True, exist_ok=True)
    cells = grid.cells()
    print(
        f"llmrec grid {grid.name}: dataset={grid.dataset} device={device()} run={run}: "
        f"{len(cells)} cells, {len(grid.trainings())} training runs"
    )
    configs: dict[Path, StageConfig] = {}
    commands = grid_commands(grid, run)
    stages: list[Stage] = with_config_files(commands, run, grid.setting_origins(), configs)
    write_configs(configs)
    check_stages(stages, configs)  # every stage, before the first one runs
    runner = Run(run, force)
    axes = {"models": [f"{m.name}={m.id}" for m in grid.models], "samples": grid.samples}
    axes |= {"epochs": grid.epochs, "prompts": [p.slug for p in grid.prompts]}
    runner.manifest.update(
        {
            "grid": grid.name,
            "dataset": grid.dataset,
            "axes": {**axes, "presets": grid.presets},
            "config": grid.settings,
            "versions": versions(),
            "git_commit": git_commit(),
            "device": device(),
        }
    )
    start = time.perf_counter()
    for name, argv, inputs, outputs, reads in stages:
        runner.stage(name, argv, inputs, outputs, reads, configs[Path(argv[-1])].legacy_argv)
    runner.record_wall_time(time.perf_counter() - start)
    rows = [cell_row(grid, cell, run) for cell in cells]
    write_json(run / "grid.json", {"grid": grid.name, "dataset": grid.dataset, "rows": rows})
    n = {r["n_examples"] for r in rows}
    heading = (
        f"Grid `{grid.name}` on `{grid.dataset}` ({', '.join(map(str, sorted(n)))} test examples), "
        f"decoded with preset {', '.join(f'`{p}`' for p in grid.presets)}. NG@K = NDCG@K, HR@K = "
        "hit ratio@K; sample 0 = zero-shot (no training); epoch N = the adapter after epoch N of "
        "one training run."
    )
    write_grid_tables(rows, run, heading)
    print((run / "grid.md").read_text(encoding="utf-8"), end="")
    print(f"wrote {shown(run / 'grid.md')}, ndcg10_by_epoch.png, params.md")
    return run
