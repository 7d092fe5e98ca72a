"""Every stage's settings are checked by its own CLI before the first stage runs, and each stage
reads them from its config file in the run folder (RUN/configs/STAGE.toml): in `invoke pipeline` and
in `invoke interests`. No model is loaded: the data stages (polars, the YouTube-8M labels; seconds)
are the only ones that run here."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.interests import interest_stages
from pipeline.profiles import INTERESTS, profile_names, resolve_profile
from pipeline.runs import GPU_DRIVER_PATHS, Run
from pipeline.stages import (
    StageConfig,
    build_stages,
    check_stages,
    check_then_run,
    report_is_current,
    write_configs,
)

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("movie", "movie-small", "game", "game-small")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    if not os.environ.get("LLMREC_DATA_HOME"):
        pytest.fail("LLMREC_DATA_HOME must point at the raw datasets (../shared/datasets in CI)")
    return {**os.environ, "LLMREC_RUNS_DIR": str(tmp_path / "runs"), "HF_HUB_OFFLINE": "1"}


def _invoke(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


def test_every_shipped_profile_validates_for_every_dataset(tmp_path):
    stages, configs = [], {}
    for profile in profile_names():
        for dataset in DATASETS:
            config = resolve_profile(profile, [])
            folder = tmp_path / dataset / profile
            stages += build_stages(dataset, folder, config, configs)
    write_configs(configs)
    check_stages(stages, configs)  # raises SystemExit on any problem
    assert len(configs) == len(stages)  # one config file per stage
    written = tmp_path / "movie" / "paper" / "configs" / "train.toml"
    assert "learning_rate = 0.0001" in written.read_text() and "epochs = 50" in written.read_text()


def test_each_stage_gets_its_settings_from_its_config_file(tmp_path):
    config = resolve_profile("cpu", ["train.model=smollm2-135m-instruct"])
    configs = {}
    stages = {s[0]: s for s in build_stages("movie-small", tmp_path, config, configs)}
    _, argv, inputs, *_ = stages["generate-test-lora"]
    path = tmp_path / "configs" / "generate-test-lora.toml"
    assert argv[-2:] == ["--config", str(path)] and path in inputs
    # with the adapter, generation reads the base model from it (llmrec_train.json): no `model`;
    # without it, the model training used. Both: the profile's generate settings.
    generate = ["batch_size = 16", "constrained = true", 'decoding = "beam"']
    generate += ["num_beams = 4", "num_return_sequences = 4"]
    assert configs[path].text.splitlines()[1:] == generate
    base = configs[tmp_path / "configs" / "generate-test-base.toml"].text.splitlines()[1:]
    assert base == [*generate[:3], 'model = "smollm2-135m-instruct"', *generate[3:]]
    assert "--adapter" not in stages["generate-test-base"][1]
    assert "--num-beams" not in argv  # settings are no longer flags
    assert configs[tmp_path / "configs" / "baseline-most-popular.toml"].text.endswith(
        "exclude_history = true\n"
    )


def test_a_typo_in_a_set_key_fails_before_the_first_stage_naming_it(env):
    start = time.perf_counter()
    args = ["pipeline", "--dataset", "movie-small", "--profile", "tiny"]
    done = _invoke(env, *args, "--set", "generate.num_beam=8", "--set", "train.batch_size=0")
    seconds = time.perf_counter() - start
    assert done.returncode == 2, done.stdout + done.stderr
    assert "[run ]" not in done.stdout and "nothing was run" in done.stderr
    assert (
        "error: --set generate.num_beam=8, field 'generate.num_beam': unknown option of "
        "`llmrec-train generate`: did you mean 'num_beams'? expected one of "
    ) in done.stderr
    assert "train.batch_size from --set train.batch_size=0: --batch-size must be >= 1, got 0" in (
        done.stderr
    )
    run = Path(env["LLMREC_RUNS_DIR"]) / "movie-small" / "tiny"
    assert not (run / "data").exists()
    print(f"failed in {seconds:.1f} s")


def test_a_typo_in_a_profile_file_names_the_file_and_line(env, tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "tiny"\n\n[evaluate]\nfusion = "rrf"\nbootstrapp = 10\n')
    done = _invoke(env, "data", "--dataset", "movie-small", "--profile", str(mine))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"error: {mine}, line 5, field 'evaluate.bootstrapp': unknown option of " in done.stderr
    assert "did you mean 'bootstrap'?" in done.stderr and "[run ]" not in done.stdout
    mine.write_text('extends = "tiny"\n[evaluate]\nfusion = "best"\n')
    done = _invoke(env, "data", "--dataset", "movie-small", "--profile", str(mine))
    assert done.returncode == 2
    assert (
        f"error: {mine}, line 3, field 'evaluate.fusion': expected one of first, min, "
        "interleave, rrf, got 'best'"
    ) in done.stderr


def test_a_changed_setting_reruns_its_stage_and_an_unchanged_one_skips(env):
    args = ["data", "--dataset", "movie-small", "--profile", "tiny"]
    first = _invoke(env, *args)
    assert "[run ] data" in first.stdout, first.stdout + first.stderr
    config = Path(env["LLMREC_RUNS_DIR"]) / "movie-small" / "tiny" / "configs" / "data.toml"
    assert "valid_sample = 6" in config.read_text()
    assert "[skip] data" in _invoke(env, *args).stdout
    assert "[skip] data" in _invoke(env, *args, "--set", "generate.max_new_tokens=8").stdout
    # a finished stage's settings are not checked again unless they change: a typo still fails
    typo = _invoke(env, *args, "--set", "data.sed=43")
    assert typo.returncode == 2 and "field 'data.sed': unknown option" in typo.stderr, typo.stderr
    assert "[run ] data" in _invoke(env, *args, "--set", "data.seed=43").stdout
    assert "seed = 43" in config.read_text()
    assert "[skip] data" in _invoke(env, *args, "--set", "data.seed=43").stdout


def _stage_x(tmp_path: Path) -> tuple[Path, Path, Path, list[str]]:
    """A run folder with a config file RUN/configs/x.toml, and a stage command writing RUN/out.txt:
    (folder, config, out, command)."""
    folder, out = tmp_path / "run", tmp_path / "run" / "out.txt"
    config = folder / "configs" / "x.toml"
    config.parent.mkdir(parents=True)
    config.write_text("n = 1\n")
    script = tmp_path / "stage.py"
    script.write_text("import sys\nopen(sys.argv[1], 'w').write('done')\n")
    return folder, config, out, [sys.executable, str(script), str(out)]


def test_a_run_folder_made_before_config_files_keeps_its_finished_stages(tmp_path, capsys):
    """A stage stamped with its settings as flags (before config files) is skipped when the same
    settings now come from its config file, and runs again when they change."""
    folder, config, out, command = _stage_x(tmp_path)

    def stage(argv, inputs, legacy=None) -> str:
        run = Run(folder, force=False)
        try:
            run.stage("x", argv, inputs, [out], None, legacy)
        finally:
            run._lock.close()
        return capsys.readouterr().out

    assert "[run ] x" in stage([*command, "--n", "1"], [])  # as the code before config files ran it
    new = [*command, "--config", str(config)]
    assert "[skip] x" in stage(new, [config], legacy=[*command, "--n", "1"])
    assert "[skip] x" in stage(new, [config])  # the stamp now has the new key
    config.write_text("n = 2\n")
    assert "[run ] x" in stage(new, [config], legacy=[*command, "--n", "2"])


def test_a_config_its_stage_finished_with_is_not_checked_again(tmp_path, capsys):
    """A no-op re-run starts no check-config process: a stage's CLI accepted the config file it
    last finished with. A changed file, or a stage that never finished, is checked."""
    folder, config, out, command = _stage_x(tmp_path)
    run = Run(folder, force=False)
    try:
        assert not run.settings_accepted("x", config)  # never ran
        run.stage("x", [*command, "--config", str(config)], [config], [out])
        assert "[run ] x" in capsys.readouterr().out
        assert run.settings_accepted("x", config)
        assert not run.settings_accepted("y", config)
        config.write_text("n = 2\n")
        assert not run.settings_accepted("x", config)
    finally:
        run._lock.close()


def test_a_no_op_rerun_keeps_a_current_report(tmp_path):
    """The report is kept only when no stage ran and it is newer than every evaluation result."""
    folder = tmp_path / "run"
    metrics = folder / "eval" / "llm-lora" / "metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text("{}")
    run = Run(folder, force=False)
    try:
        assert not report_is_current(folder, run)  # no report yet
        report = folder / "report.md"
        report.write_text("# report\n")
        os.utime(metrics, ns=(1, 1))
        assert report_is_current(folder, run)
        os.utime(metrics)  # a result newer than the report (a run whose report failed)
        os.utime(report, ns=(2, 2))
        assert not report_is_current(folder, run)
        os.utime(report)
        run.ran.append("evaluate-llm-lora")
        assert not report_is_current(folder, run)
    finally:
        run._lock.close()


def test_the_device_line_imports_no_torch_without_a_gpu_driver():
    """`invoke` prints the device before checking settings: asking torch would cost its import
    (about 8 s before a bad `--set` could be reported). Torch's own answer agrees."""
    if any(Path(p).exists() for p in GPU_DRIVER_PATHS):
        pytest.skip("a GPU driver is present: the device line asks torch")
    code = "import sys; from pipeline.runs import device; d = device(); imported = 'torch' in "
    code += "sys.modules; import torch; print(d, imported, torch.cuda.is_available())"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["cpu", "False", "False"], done.stderr


@pytest.mark.parametrize("name", profile_names(INTERESTS))
def test_every_interest_stage_gets_its_settings_from_a_checked_config_file(tmp_path, name):
    profile = resolve_profile(name, [], INTERESTS)  # its values: pinned in test_profiles.py
    configs: dict[Path, StageConfig] = {}
    stages = interest_stages(tmp_path, profile, configs)
    write_configs(configs)
    without_config = [s for s in stages if s[0] == "report" or s[0].startswith("baseline-")]
    check_stages([s for s in stages if s not in without_config], configs)  # SystemExit on a problem
    by_name = {s[0]: s for s in stages}
    # The report and the three no-model baselines have only paths: no config.
    assert len(stages) == 15 and len(configs) == 11 and len(without_config) == 4
    for stage, (_, argv, inputs, _, _) in by_name.items():
        path = tmp_path / "configs" / f"{stage}.toml"
        if stage == "report" or stage.startswith("baseline-"):
            assert "--config" not in argv and not path.exists()
            continue
        assert argv[-2:] == ["--config", str(path)] and path in inputs
        assert not any(f"--{key.replace('_', '-')}" in argv for key in configs[path].origins)
    for config in configs.values():  # each stage's settings: its profile section's, all of them
        section = config.stage if config.stage in ("data", "train") else "generate"
        came_from = {key: s for key, (_, s) in config.origins.items()}
        assert came_from == dict.fromkeys(profile[section], section), config.stage
    train = (tmp_path / "configs" / "train.toml").read_text()
    assert ("learning_rate = 0.002" in train) == (name == "cpu")
    assert by_name["train"][1][-4:-2] == ["--resume", "auto"]
    adapter = ["--adapter", str(tmp_path / "adapter")]
    assert by_name["generate-constrained-unseen"][1][-5:-2] == [*adapter, "--constrained-interests"]
    assert by_name["generate-on-test"][1][-4:-2] == adapter
    assert "--adapter" not in by_name["generate-off-test"][1]


def test_a_typo_in_an_interests_set_key_fails_before_the_first_stage(env):
    start = time.perf_counter()
    done = _invoke(env, "interests", "--profile", "tiny", "--set", "train.max_stepz=3")
    seconds = time.perf_counter() - start
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        "error: --set train.max_stepz=3, field 'train.max_stepz': unknown option of "
        "`llmrec-train train`: did you mean 'max_steps'? expected one of "
    ) in done.stderr
    assert "[run ]" not in done.stdout and "nothing was run" in done.stderr
    assert not (Path(env["LLMREC_RUNS_DIR"]) / "interests" / "tiny" / "data").exists()
    print(f"failed in {seconds:.1f} s")


def test_a_typo_in_an_interests_profile_file_names_the_file_and_line(env, tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "tiny"\n\n[generate]\nnum_beam = 2\n[data]\nn_test = -1\n')
    done = _invoke(env, "interests", "--profile", str(mine))
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        f"error: {mine}, line 4, field 'generate.num_beam': unknown option of "
        "`llmrec-train generate`: did you mean 'num_beams'?"
    ) in done.stderr
    assert f"data.n_test from {mine}, line 6: --n-test must be >= 0, got -1" in done.stderr
    assert "[run ]" not in done.stdout
    assert not (Path(env["LLMREC_RUNS_DIR"]) / "interests" / "mine" / "data").exists()


def _data_stage(
    folder: Path, overrides: list[str], capsys, only: tuple[str, ...] = ("data",)
) -> str:
    """Run (or skip) the interests data stage (or the stages `only`) of the tiny profile; what it
    printed."""
    configs: dict[Path, StageConfig] = {}
    stages = interest_stages(folder, resolve_profile("tiny", overrides, INTERESTS), configs)
    run = Run(folder, force=False)
    try:
        check_then_run(run, stages, configs, only=only)
    finally:
        run._lock.close()
    return capsys.readouterr().out


def test_a_changed_interests_setting_reruns_its_stage_and_an_unchanged_one_skips(
    env, tmp_path, capsys
):
    folder = tmp_path / "run"
    assert "[run ] data" in _data_stage(folder, [], capsys)
    assert "[skip] data" in _data_stage(folder, [], capsys)
    assert "[skip] data" in _data_stage(folder, ["generate.max_new_tokens=8"], capsys)
    assert "[run ] data" in _data_stage(folder, ["data.seed=1"], capsys)
    assert "seed = 1" in (folder / "configs" / "data.toml").read_text()
    assert "[skip] data" in _data_stage(folder, ["data.seed=1"], capsys)


def test_the_no_model_baseline_runs_after_the_data_and_skips_when_unchanged(env, tmp_path, capsys):
    """Each examples set gets a `baseline-SET` stage (no torch) between data and train, and the
    report a `--baseline` per set; a finished baseline is skipped until its examples change."""
    folder = tmp_path / "run"
    stages = interest_stages(folder, resolve_profile("tiny", [], INTERESTS))
    names = [s[0] for s in stages]
    sets = ["test", "unseen", "showcase"]
    assert names[:5] == ["data", *(f"baseline-{s}" for s in sets), "train"]
    report = stages[-1][1]
    baselines = [folder / "predictions" / "no_model" / f"{s}.jsonl" for s in sets]
    assert [a for a in report if a.startswith("--baseline=")] == [
        f"--baseline={p}" for p in baselines
    ]
    printed = _data_stage(folder, [], capsys, only=("data", "baseline"))
    assert all(f"[run ] baseline-{s}" in printed for s in sets)
    assert all(p.is_file() and p.with_suffix(".meta.json").is_file() for p in baselines)
    printed = _data_stage(folder, ["generate.max_new_tokens=8"], capsys, only=("data", "baseline"))
    assert all(f"[skip] baseline-{s}" in printed for s in sets)
    printed = _data_stage(folder, ["data.n_test=5"], capsys, only=("data", "baseline"))
    assert "[run ] baseline-test" in printed and "[skip] baseline-showcase" in printed


def test_a_run_folder_made_before_config_files_keeps_its_finished_data_stage(env, tmp_path, capsys):
    """The data stage as the code before config files ran it (settings as flags, the tiny profile's
    dict) is skipped now that the same settings come from its config file."""
    folder = tmp_path / "run"
    data = folder / "data"
    old = ["llmrec-data", "interests", "prepare", "--out", str(data)]
    old += ["--n-train", "16", "--n-valid", "4", "--n-test", "4", "--n-unseen", "4", "--seed", "0"]
    outputs = [data / f"{s}.jsonl" for s in ("train", "valid", "test", "unseen", "showcase")]
    run = Run(folder, force=False)
    try:
        run.stage("data", old, [], outputs, data / "manifest.json")
    finally:
        run._lock.close()
    assert "[run ] data" in capsys.readouterr().out
    assert "[skip] data" in _data_stage(folder, [], capsys)
    assert "[run ] data" in _data_stage(folder, ["data.n_test=5"], capsys)
