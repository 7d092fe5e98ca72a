"""The recommendation pipeline (BIGRec and its baselines): every stage as (name, argv, inputs,
outputs, reads manifest), each stage's settings written to its config file RUN/configs/STAGE.toml,
the pre-flight check of every config by its own CLI, and the run report."""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pipeline.profiles import Settings, default_run_name, resolve_profile
from pipeline.runs import Run, device, git_commit, runs_dir, versions

if TYPE_CHECKING:
    from invoke import Context

DATASETS = ("movie", "movie-1m", "movie-small", "game", "game-small", "custom")
# A stage: (name, argv, input files hashed into its skip key, outputs that must exist, the manifest
# it writes listing the raw files it read beyond its inputs, or None).
Stage = tuple[str, list[str], list[Path], list[Path], Path | None]
SCORE_FILES = ("scores.parquet", "scores.meta.json")  # one folder per split (docs/contracts.md)


def flags(options: dict[str, Any]) -> list[str]:
    """CLI flags from a profile section: `n_train=1024` -> `--n-train 1024`."""
    out: list[str] = []
    for key, value in options.items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + key.replace("_", "-"))
        else:
            out += [flag, str(value)]
    return out


def train_launcher() -> list[str]:
    """The training command: `llmrec-train`, or $LLMREC_TRAIN_LAUNCHER, e.g. for several GPUs
    "accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m llmrec_train"."""
    return shlex.split(os.environ.get("LLMREC_TRAIN_LAUNCHER", "llmrec-train"))


def run_folder(dataset: str, run: str | None, profile: str) -> Path:
    if dataset not in DATASETS:
        raise SystemExit(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    return runs_dir() / dataset / (run or default_run_name(profile))


class _Opts:
    """Settings of a stage's CLI taken from profile section `section`: `build_stages` writes them into
    the stage's config file (RUN/configs/STAGE.toml) and passes `--config` that file."""

    def __init__(self, options: dict[str, Any], section: str) -> None:
        self.options, self.section = options, section


def opts(options: dict[str, Any], section: str) -> _Opts:
    return _Opts(options, section)


def _toml_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if math.isfinite(value) else str(value)  # inf, -inf, nan
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are TOML escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    raise SystemExit(f"error: {where}: expected a number, string, boolean or list, got {value!r}")


class StageConfig(NamedTuple):
    """A stage's config file: its TOML text and where each key came from (for error messages)."""

    stage: str
    text: str
    origins: dict[str, tuple[str, str]]  # key -> (profile file and line, or `--set ...`; section)
    legacy_argv: list[str]  # the command line before config files: settings as flags


def build_stages(
    dataset: str,
    folder: Path,
    config: dict[str, dict[str, Any]],
    configs: dict[Path, StageConfig] | None = None,
) -> list[Stage]:
    """Every stage as (name, argv, inputs, outputs, reads manifest). Each stage's settings are in
    its config file RUN/configs/NAME.toml (`--config`; the file is one of its inputs, so a changed
    setting re-runs the stage); `configs`, if given, receives each file's text. Paths stay flags."""
    commands = _stage_commands(dataset, folder, config)
    return with_config_files(commands, folder, getattr(config, "origins", {}), configs)


def with_config_files(
    commands: list[tuple[str, list[Any], list[Path], list[Path], Path | None]],
    folder: Path,
    origins: dict[tuple[str, str], str],
    configs: dict[Path, StageConfig] | None = None,
) -> list[Stage]:
    """Stages whose settings (`opts` in their argv) go to their config file FOLDER/configs/NAME.toml,
    passed as `--config`; `origins[(section, key)]` says where each setting was made (errors)."""
    out = []
    for name, argv, inputs, outputs, reads in commands:
        options: dict[str, Any] = {}
        came_from: dict[str, tuple[str, str]] = {}
        for item in argv:
            if isinstance(item, _Opts):
                for key, value in item.options.items():
                    if value is None:
                        options.pop(key, None)
                        continue
                    options[key] = value
                    origin = origins.get((item.section, key), f"profile section [{item.section}]")
                    came_from[key] = (origin, item.section)
        path = folder / "configs" / f"{name}.toml"
        lines = [f"# stage {name}: the options of `{shlex.join(argv[:2])}` (paths are flags)"]
        lines += [f"{k} = {_toml_value(options[k], came_from[k][0])}" for k in sorted(options)]
        if configs is not None:
            text = "\n".join(lines) + "\n"
            configs[path] = StageConfig(name, text, came_from, _as_flags(argv))
        argv = [a for a in argv if not isinstance(a, _Opts)] + ["--config", str(path)]
        out.append((name, argv, [*inputs, path], outputs, reads))
    return out


def _as_flags(argv: list[Any]) -> list[str]:
    """The command line as it was before config files (adjacent settings merged, as flags): a
    stage finished then, with the same settings, is not run again."""
    out: list[str] = []
    pending: dict[str, Any] | None = None
    for item in [*argv, None]:
        if isinstance(item, _Opts):
            pending = {**(pending or {}), **item.options}
            continue
        if pending is not None:
            out += flags(pending)
            pending = None
        if item is not None:
            out.append(item)
    return out


def write_configs(configs: dict[Path, StageConfig]) -> None:
    """Write each stage's config file, atomically, unless it already holds the same text (an
    unchanged file keeps its inode and mtime, so its hash is not even recomputed)."""
    for path, stage in configs.items():
        if path.is_file() and path.read_text(encoding="utf-8") == stage.text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(stage.text, encoding="utf-8")
        tmp.replace(path)


_PROGRAMS = {
    "llmrec-data": "llmrec-data",
    "llmrec-train": "llmrec-train",
    "llmrec_train": "llmrec-train",
}
_PROGRAMS["llmrec-eval"] = "llmrec-eval"


def check_stages(
    stages: list[Stage],
    configs: dict[Path, StageConfig],
) -> None:
    """Every stage's command line, checked by its own CLI (`check-config`: the options parsed and
    the config built, nothing run) before the first stage starts: one process per package, seconds in
    all. A bad option or value exits 2 naming the key and the profile file line or
    `--set` it came from."""
    import tempfile

    batches: dict[str, list[tuple[str, list[str]]]] = {}
    for name, argv, *_ in stages:
        at = next((i for i, a in enumerate(argv) if a in _PROGRAMS), None)
        if at is not None:
            batches.setdefault(_PROGRAMS[argv[at]], []).append((name, argv[at + 1 :]))
    with tempfile.TemporaryDirectory(prefix="llmrec-check-") as tmp:
        procs = {}
        for program, lines in batches.items():
            commands = Path(tmp) / f"{program}.json"
            commands.write_text(json.dumps([argv for _, argv in lines]), encoding="utf-8")
            procs[program] = subprocess.Popen(
                [program, "check-config", "--json", "--commands", str(commands)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        problems: dict[str, list[str]] = {}
        for program, proc in procs.items():
            stdout, stderr = proc.communicate()
            try:
                results = json.loads(stdout)
            except json.JSONDecodeError:
                raise SystemExit(
                    f"error: `{program} check-config` failed (exit {proc.returncode}): "
                    f"{stderr.strip()[-2000:]}"
                ) from None
            for (name, _), result in zip(batches[program], results, strict=True):
                if not result["ok"]:
                    text, stage = _explain(result, configs)
                    problems.setdefault(text, []).append(stage or name)
    if problems:
        for text, names in problems.items():
            print(f"error: {text} (stage {', '.join(names)})", file=sys.stderr)
        print("nothing was run: fix the settings above", file=sys.stderr)
        raise SystemExit(2)


def _explain(result: dict[str, Any], configs: dict[Path, StageConfig]) -> tuple[str, str | None]:
    """A check-config failure, located where the user set the value: the profile file and line,
    or the `--set` override (the stage's own config file is written from those)."""
    error: str = result["error"]
    stage = configs.get(Path(result["file"])) if result.get("file") else None
    if stage is None:  # not from a config file: the dataclass's own checks name the flag
        for path in _stage_config_paths(result["argv"]):
            stage = configs.get(path)
        if stage is None:
            return error, None
        named = [
            k for k in stage.origins if re.search(rf"(--{k.replace('_', '-')}|\b{k})\b", error)
        ]
        where = "; ".join(f"{s}.{k} from {o}" for k in named for o, s in [stage.origins[k]])
        return (f"{where}: {error}" if where else error), stage.stage
    # the CLI's own location (`FILE, line N[ (1-based)], field 'X': `) is replaced by the user's
    prefix = ", ".join(
        [re.escape(result["file"])]
        + ([rf"line {result['line']}(?: \([^)]*\))?"] if result.get("line") else [])
        + ([re.escape(f"field {result['field']!r}")] if result.get("field") else [])
    )
    message = re.sub(f"^{prefix}: ", "", error)
    key = result.get("field") or ""
    if key not in stage.origins:
        return error, stage.stage
    origin, section = stage.origins[key]
    return f"{origin}, field '{section}.{key}': {message}", stage.stage


def _stage_config_paths(argv: list[str]) -> list[Path]:
    return [Path(v) for k, v in itertools.pairwise(argv) if k == "--config"]


def _stage_commands(
    dataset: str, folder: Path, config: dict[str, dict[str, Any]]
) -> list[tuple[str, list[Any], list[Path], list[Path], Path | None]]:
    data, adapter, preds, ev = (folder / n for n in ("data", "adapter", "predictions", "eval"))
    items, emb = data / "items.parquet", data / "item_embeddings.npy"
    train, valid, test = (data / f"{s}.jsonl" for s in ("train", "valid", "test"))

    # Generation loads the base model as training did, unless told otherwise: with the adapter,
    # `llmrec-train generate` reads the base model from the adapter's record (llmrec_train.json),
    # so only the quantization (not recorded there) is passed; without it, the model too.
    def loaded_as_trained(lora: bool) -> list[Any]:
        inherited = ("quantization",) if lora else ("model", "quantization")
        trained = {k: v for k, v in config["train"].items() if k in inherited}
        return [opts(trained, "train"), opts(config["generate"], "generate")]

    evaluate = config["evaluate"]
    eval_common = ["--items", str(items), "--embeddings", str(emb), "--train", str(train)]

    def generate(
        split: Path, out: str, lora: bool
    ) -> tuple[str, list[str], list[Path], list[Path], None]:
        argv = ["llmrec-train", "generate", "--examples", str(split), "--items", str(items)]
        argv += ["--out", str(preds / out / "predictions.jsonl"), *loaded_as_trained(lora)]
        inputs = [split, items]
        if lora:
            argv += ["--adapter", str(adapter)]
            inputs += [adapter / n for n in ("adapter_model.safetensors", "adapter_config.json")]
            inputs.append(adapter / "llmrec_train.json")  # the prompt template generation reuses
        return f"generate-{out}", argv, inputs, [preds / out / "predictions.jsonl"], None

    sources = folder / "scores"  # rows' rankings as score files (docs/contracts.md), for `fuse`

    def score(
        name: str,
        argv: list[str],
        inputs: list[Path],
        stage: str = "evaluate",
        exports: list[str] = (),
    ):
        out = ev / name
        # ablation rows of a fusion land beside it (`OUT-without-GROUP`)
        extra = [ev / f"{name}-without-{group}" / "metrics.json" for group in ablations(argv)]
        return (
            f"{stage}-{name}",
            [*argv, "--out", str(out), "--name", name],
            inputs,
            [out / "metrics.json", *extra]
            + [
                sources / e / s / f for e in exports for s in ("valid", "test") for f in SCORE_FILES
            ],
            None,
        )

    def ablations(argv: list[str]) -> list[str]:
        return [v.partition("=")[0] for k, v in itertools.pairwise(argv) if k == "--ablate"]

    llm_eval = ["llmrec-eval", "evaluate", *eval_common, "--examples", str(test)]
    # Popularity baselines skip the user's own history when the LLM runs do (the content
    # baseline always does): the same candidate set for every row of the table.
    pop_flags = (
        [opts({"exclude_history": True}, "evaluate")] if evaluate.get("exclude_history") else []
    )
    reweighted = {k: v for k, v in evaluate.items()}
    rec = folder / "recommend"

    def recommend(model: str) -> tuple[str, list[str], list[Path], list[Path], None]:
        # The same candidate rule as the evaluation rows: history items excluded or not.
        options = [
            opts({"exclude_history": bool(evaluate.get("exclude_history"))}, "evaluate"),
            opts(config[model], model),
        ]
        argv = ["llmrec-train", "recommend", "--model", model, "--train", str(train)]
        argv += ["--valid", str(valid), "--test", str(test), "--items", str(items)]
        argv += ["--out", str(rec / model), *options]
        outputs = [rec / model / s / f for s in ("valid", "test") for f in SCORE_FILES]
        return f"recommend-{model}", argv, [train, valid, test, items], outputs, None

    raw = {k: v for k, v in evaluate.items() if k not in ("reweight", "gamma_grid")}
    llm_sources = ("llm-lora", "rank-lora") if "rank" in config else ("llm-lora",)
    fused = [(n, rec / n) for n in ("sasrec", "transition")]
    fused += [(n, sources / n) for n in ("content", "recent-popular", "llm-lora")]
    if "rank" in config:
        fused.append(("rank-lora", folder / "rank" / "lora"))

    def rank_stage(split: Path, lora: bool) -> tuple[str, list[str], list[Path], list[Path], None]:
        kind, name = ("lora" if lora else "base"), split.stem  # valid / test
        out = folder / "rank" / kind / name
        candidates = [rec / "sasrec", rec / "transition", sources / "content", sources / "llm-lora"]
        argv = ["llmrec-train", "rank", "--examples", str(split), "--items", str(items)]
        argv += [a for c in candidates for a in ("--candidates", str(c / name))]
        argv += ["--out", str(out), opts(config["rank"], "rank")]
        argv += pop_flags
        inputs = [split, items, *(c / name / f for c in candidates for f in SCORE_FILES)]
        if lora:  # the base model is the adapter's (llmrec_train.json)
            argv += ["--adapter", str(adapter)]
            inputs += [adapter / n for n in ("adapter_model.safetensors", "adapter_config.json")]
            inputs.append(adapter / "llmrec_train.json")
        elif "model" in config["train"]:
            argv.append(opts({"model": config["train"]["model"]}, "train"))
        return f"rank-{kind}-{name}", argv, inputs, [out / f for f in SCORE_FILES], None

    base_inputs = [items, emb, train, test]
    return [
        (
            "data",
            ["llmrec-data", "prepare", "--dataset", dataset, "--out", str(data)]
            + [opts(config["data"], "data")],
            [],
            [items, train, valid, test],
            data / "manifest.json",
        ),
        (
            "embed",
            ["llmrec-data", "embed", "--data", str(data), opts(config.get("embed", {}), "embed")],
            [items],
            [emb],
            None,
        ),
        (
            "train",
            # LLMREC_TRAIN_LAUNCHER swaps the command, e.g. for several GPUs:
            # "accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m llmrec_train"
            train_launcher()
            + ["train", "--train-file", str(train), "--valid-file", str(valid)]
            # llmrec-train resumes a checkpoint only if it was made with the same settings and data.
            + ["--output-dir", str(adapter), opts(config["train"], "train"), "--resume", "auto"],
            [train, valid],
            [adapter / "adapter_model.safetensors"],
            None,
        ),
        generate(valid, "valid-lora", lora=True),
        generate(test, "test-lora", lora=True),
        generate(test, "test-base", lora=False),
        recommend("sasrec"),
        recommend("transition"),
        # The raw LLM row also hands its ranking (valid and test) to the fusion as a score source.
        score(
            "llm-lora",
            [
                *llm_eval,
                "--predictions",
                str(preds / "test-lora/predictions.jsonl"),
                opts(raw, "evaluate"),
            ]
            + ["--valid-predictions", str(preds / "valid-lora/predictions.jsonl")]
            + ["--valid-examples", str(valid), "--write-scores", str(sources / "llm-lora")],
            [*base_inputs, preds / "test-lora/predictions.jsonl"]
            + [preds / "valid-lora/predictions.jsonl", valid],
            exports=["llm-lora"],
        ),
        score(
            f"llm-lora+{evaluate.get('reweight', 'none')}",
            [*llm_eval, "--predictions", str(preds / "test-lora/predictions.jsonl")]
            + ["--valid-predictions", str(preds / "valid-lora/predictions.jsonl")]
            + ["--valid-examples", str(valid), opts(reweighted, "evaluate")],
            [*base_inputs, preds / "test-lora/predictions.jsonl"]
            + [preds / "valid-lora/predictions.jsonl", valid],
        ),
        score(
            "llm-base",
            [
                *llm_eval,
                "--predictions",
                str(preds / "test-base/predictions.jsonl"),
                opts(raw, "evaluate"),
            ],
            [*base_inputs, preds / "test-base/predictions.jsonl"],
        ),
        score(
            "most-popular",
            ["llmrec-eval", "baseline", "most-popular", "--examples", str(test)]
            + ["--items", str(items), "--train", str(train), *pop_flags],
            [test, items, train],
            "baseline",
        ),
        score(
            "recent-popular",
            ["llmrec-eval", "baseline", "recent-popular", "--examples", str(test)]
            + ["--items", str(items), "--train", str(train), *pop_flags]
            + ["--valid-examples", str(valid), "--write-scores", str(sources / "recent-popular")],
            [test, valid, items, train],
            "baseline",
            exports=["recent-popular"],
        ),
        *(
            score(
                model,
                ["llmrec-eval", "baseline", "scores", "--scores", str(rec / model / "test")]
                + ["--examples", str(test), "--items", str(items), *pop_flags],
                [*(rec / model / "test" / f for f in SCORE_FILES), test, items],
                "baseline",
            )
            for model in ("sasrec", "transition")
        ),
        # BIGRec's collaborative grounding: the LLM's ranking re-weighted by SASRec's scores,
        # gamma swept on valid.
        score(
            "llm-lora+sasrec",
            [*llm_eval, "--predictions", str(preds / "test-lora/predictions.jsonl")]
            + ["--valid-predictions", str(preds / "valid-lora/predictions.jsonl")]
            + [
                "--valid-examples",
                str(valid),
                opts({**reweighted, "reweight": "scores"}, "evaluate"),
            ]
            + [
                "--scores",
                str(rec / "sasrec" / "test"),
                "--valid-scores",
                str(rec / "sasrec" / "valid"),
            ],
            [
                *base_inputs,
                preds / "test-lora/predictions.jsonl",
                preds / "valid-lora/predictions.jsonl",
                valid,
            ]
            + [rec / "sasrec" / s / f for s in ("valid", "test") for f in SCORE_FILES],
        ),
        score(
            "content",
            ["llmrec-eval", "baseline", "content", "--examples", str(test), *eval_common]
            + ["--valid", str(valid), "--write-scores", str(sources / "content")],
            [test, valid, items, emb, train],
            "baseline",
            exports=["content"],
        ),
        # The LLM as a ranker of the other rows' candidates (LoRA on for valid and test: a fusion
        # source; LoRA off on test: the comparison row). Profiles without a `rank` section skip it.
        *(
            rank_stage(split, lora)
            for split, lora in ((valid, True), (test, True), (test, False))
            if "rank" in config
        ),
        *(
            score(
                f"rank-{kind}",
                [
                    "llmrec-eval",
                    "baseline",
                    "scores",
                    "--scores",
                    str(folder / "rank" / kind / "test"),
                ]
                + ["--examples", str(test), "--items", str(items), *pop_flags],
                [*(folder / "rank" / kind / "test" / f for f in SCORE_FILES), test, items],
                "baseline",
            )
            for kind in ("lora", "base")
            if "rank" in config
        ),
        # Every source at once, weights chosen on valid; ablation rows re-tuned without the LLM's
        # sources and without the collaborative ones (llmrec-eval README, "Fusion").
        score(
            "fusion",
            ["llmrec-eval", "fuse", *(a for n, d in fused for a in ("--source", f"{n}={d}"))]
            + ["--examples", str(test), "--valid-examples", str(valid), "--items", str(items)]
            + pop_flags
            + ["--ablate", "llm=" + ",".join(n for n, _ in fused if n in llm_sources)]
            + ["--ablate", "collab=sasrec,transition", opts(config.get("fuse", {}), "fuse")],
            [valid, test, items]
            + [d / s / f for _, d in fused for s in ("valid", "test") for f in SCORE_FILES],
            "fuse",
        ),
    ]


def open_run(
    dataset: str, profile: str, run: str | None, overrides: list[str] | None
) -> tuple[Settings, Path]:
    """The resolved profile and the run folder (created), announced on one line."""
    config = resolve_profile(profile, overrides or [])
    folder = run_folder(dataset, run, profile)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"llmrec: dataset={dataset} profile={profile} device={device()} run={folder}")
    return config, folder


def run_stages(
    dataset: str, folder: Path, config: Settings, force: bool, only: tuple[str, ...] | None
) -> Run:
    """Every stage's config written and checked, then the stages in `only` (their name's first
    part; None: all) run or skipped, one at a time."""
    run = Run(folder, force)
    run.manifest.update(
        {
            "dataset": dataset,
            "config": config,
            "versions": versions(),
            "git_commit": git_commit(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "device": device(),
        }
    )
    configs: dict[Path, StageConfig] = {}
    stages = build_stages(dataset, folder, config, configs)
    check_then_run(run, stages, configs, only)
    return run


def check_then_run(
    run: Run,
    stages: list[Stage],
    configs: dict[Path, StageConfig],
    only: tuple[str, ...] | None = None,
) -> None:
    """Write every stage's config file and check them all by their CLIs, then run (or skip) the
    stages in `only` (their name's first part; None: all), one at a time. A stage without a config
    file (settings none, only paths) has nothing to check."""
    write_configs(configs)
    # Every stage, before the first one runs; a stage whose config file is the one it last
    # finished with was accepted by its CLI then (a no-op re-run starts no checking process).
    unchecked = []
    for stage in stages:
        config = _config_of(stage, configs)
        if config is not None and not run.settings_accepted(stage[0], config):
            unchecked.append(stage)
    check_stages(unchecked, configs)
    for stage in stages:
        if only is None or stage[0].split("-")[0] in only:
            config = _config_of(stage, configs)
            legacy = configs[config].legacy_argv if config is not None else None
            run.stage(*stage, legacy)


def _config_of(stage: Stage, configs: dict[Path, StageConfig]) -> Path | None:
    """The stage's config file (`--config FILE`, its argv's last two items), if it has one."""
    argv = stage[1]
    path = Path(argv[-1]) if len(argv) >= 2 and argv[-2] == "--config" else None
    return path if path in configs else None


def has_results(folder: Path) -> bool:
    return any(folder.glob("eval/*/metrics.json"))


def write_report(c: Context, folder: Path) -> Path:
    """report.md and its parts beside it (llmrec-eval report, README "Reports")."""
    if not has_results(folder):
        raise SystemExit(f"{folder}: no evaluation results yet: run `invoke pipeline` first")
    data, report = folder / "data", folder / "report.md"
    argv = ["llmrec-eval", "report", "--results", str(folder / "eval"), "--out", str(report)]
    argv += ["--examples", str(data / "test.jsonl"), "--items", str(data / "items.parquet")]
    argv += ["--manifest", str(folder / "manifest.json")]
    argv += ["--loss-plot", str(folder / "adapter" / "loss.png")]
    run_cli(c, argv)
    return report


def report_after(c: Context, folder: Path, run: Run) -> str:
    """The report after a pipeline run, and a line saying what became of it: written, or kept as
    it is when current (`report_is_current`). `invoke report` always writes it."""
    report = folder / "report.md"
    if report_is_current(folder, run):
        return f"kept {report} (no stage ran; `invoke report` writes it again)"
    return f"wrote {write_report(c, folder)}"


def report_is_current(folder: Path, run: Run) -> bool:
    """Whether a no-op re-run can keep the run's report.md: no stage ran and the report is newer
    than every evaluation result, so it describes the same results (writing it again costs
    llmrec-eval's start-up and the plots, seconds, most of a no-op re-run)."""
    report = folder / "report.md"
    results = [p for p in folder.glob("eval/**/*") if p.is_file()]
    if run.ran or not report.is_file() or not results:
        return False
    return report.stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in results)


def run_cli(c: Context, argv: list[str]) -> None:
    result = c.run(shlex.join(argv), hide="stdout", warn=True, pty=False)
    if result is None or result.failed:
        raise SystemExit(result.exited if result else 1)


def default_run(dataset: str) -> str:
    """The run of `dataset` that has results; the most recently evaluated one if several."""
    parent = run_folder(dataset, "_", "_").parent
    done = [f for f in parent.glob("*") if f.is_dir() and has_results(f)]
    if not done:
        raise SystemExit(f"{parent}: no run with results yet: run `invoke pipeline` first")

    def last_result(folder: Path) -> float:
        return max(p.stat().st_mtime for p in folder.glob("eval/*/metrics.json"))

    chosen = max(done, key=last_result)
    if len(done) > 1:
        others = ", ".join(sorted(f.name for f in done if f != chosen))
        print(
            f"report: run {chosen.name} (the latest; also available: {others}; choose with --run)"
        )
    return chosen.name
