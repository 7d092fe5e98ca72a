"""Bad configuration and bad input fail early with clear messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from llmrec_train.config import TrainConfig
from llmrec_train.data import ContractError, read_examples
from llmrec_train.errors import ModelUnavailableError, UsageError
from llmrec_train.train import train


@pytest.mark.slow
def test_unknown_target_module(model_path, data_dir, tmp_path):
    config = TrainConfig(
        train_file=data_dir / "train.jsonl",
        output_dir=tmp_path / "out",
        lora_target_modules="q_proj,qkv_proj",
    )
    with pytest.raises(ValueError, match=r"unknown LoRA target module\(s\) \['qkv_proj'\].*v_proj"):
        train(config)


def test_missing_training_file(tmp_path):
    with pytest.raises(UsageError, match=r"nope\.jsonl: examples file not found"):
        train(TrainConfig(train_file=tmp_path / "nope.jsonl", output_dir=tmp_path / "out"))


def test_empty_training_set(tmp_path):
    empty = tmp_path / "train.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="training set is empty"):
        train(TrainConfig(train_file=empty, output_dir=tmp_path / "out"))


def test_bad_rows_name_file_line_and_field(tmp_path: Path):
    f = tmp_path / "train.jsonl"
    good = {"example_id": "a", "instruction": "i", "input": "x", "output": '"T"'}
    f.write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "example_id": "b", "output": 3}) + "\n"
    )
    with pytest.raises(ContractError) as err:
        read_examples(f)
    # llmrec-cli's BadInput shape: the parts as fields, and one message format for every package
    assert (err.value.file, err.value.line, err.value.field) == (str(f), 2, "output")
    assert str(err.value) == f"{f}, line 2, field 'output': expected a string, got int"
    f.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(ContractError, match=r"train.jsonl, line 2: not valid JSON"):
        read_examples(f)
    f.write_text(json.dumps(good) + "\n" + json.dumps({**good, "history_titles": "A"}) + "\n")
    with pytest.raises(
        ContractError,
        match=r"train.jsonl, line 2, field 'history_titles': expected a list of non-empty",
    ):
        read_examples(f)
    f.write_text(json.dumps({"example_id": "a", "input": "x", "output": "y"}) + "\n")
    with pytest.raises(ContractError, match=r"train.jsonl, line 1, field 'instruction': missing"):
        read_examples(f)


def test_bad_option_values(tmp_path):
    with pytest.raises(ValueError, match="quantization: '3bit' is not one of none, 8bit, 4bit"):
        TrainConfig(train_file=tmp_path / "t.jsonl", output_dir=tmp_path, quantization="3bit")
    with pytest.raises(ValueError, match="lora-dropout"):
        TrainConfig(train_file=tmp_path / "t.jsonl", output_dir=tmp_path, lora_dropout=1.5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": 0}, r"--epochs must be > 0"),
        ({"n_train": 0}, r"--n-train 0 leaves no examples"),
        ({"n_valid": -2}, r"--n-valid must be >= -1"),
        ({"save_steps": -1}, r"--save-steps must be >= 0"),
        ({"resume": "maybe"}, r"--resume: 'maybe' is not one of no, auto, yes"),
        ({"weight_decay": -0.1}, r"--weight-decay must be >= 0"),
        ({"loss_on": "prompt"}, r"--loss-on: 'prompt' is not one of completion, titles, all"),
    ],
)
def test_nonsense_values_fail_before_anything_is_written(tmp_path, changes, message):
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=message):
        TrainConfig(train_file=tmp_path / "t.jsonl", output_dir=out, **changes)
    assert not out.exists()


def test_unknown_lr_scheduler_fails_when_training_starts(tmp_path):
    # checked in train(), not in the config: transformers' list would make --help slow
    out = tmp_path / "out"
    config = TrainConfig(train_file=tmp_path / "t.jsonl", output_dir=out, lr_scheduler="cosinus")
    with pytest.raises(UsageError, match=r"--lr-scheduler: 'cosinus' is not one of linear, cos"):
        train(config)
    assert not out.exists()


@pytest.mark.slow
def test_max_length_shorter_than_a_prompt_names_the_example(model_path, data_dir, tmp_path):
    """Used to end in an IndexError after loading the model, leaving an empty checkpoints folder."""
    out = tmp_path / "out"
    config = TrainConfig(
        train_file=data_dir / "train.jsonl", output_dir=out, max_length=20, model=model_path
    )
    with pytest.raises(
        UsageError, match=r"train\.jsonl, line \d+: example_id 'train-\d+': its prompt is"
    ):
        train(config)
    assert not out.exists()


def test_unwritable_output_folder(data_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(UsageError, match=r"--output-dir .*a-file/out: .*a-file is not a folder"):
        train(TrainConfig(train_file=data_dir / "train.jsonl", output_dir=blocker / "out"))


def test_unknown_model_offline_lists_the_offline_models(monkeypatch, tmp_path):
    from huggingface_hub import constants
    from llmrec_train.models import resolve_model

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(
        ModelUnavailableError, match=r"HF_HUB_OFFLINE is set.*smollm2-135m-instruct"
    ):
        resolve_model("no-such-org/no-such-model")
    with pytest.raises(ModelUnavailableError, match=r"no such model folder"):
        resolve_model(str(tmp_path / "missing-model"))


def test_cli_bad_input_is_one_line_and_exit_2(data_dir, tmp_path):
    out = tmp_path / "out"
    argv = ["train", "--train-file", str(data_dir / "train.jsonl"), "--output-dir", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "llmrec_train", *argv, "--epochs", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --epochs must be > 0 (or --max-steps > 0), got 0.0: nothing would be trained"
    ]
    assert not out.exists()
    version = subprocess.run(
        [sys.executable, "-m", "llmrec_train", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert version.returncode == 0 and version.stdout.startswith("llmrec-train 0.")


def test_cli_missing_input_is_one_line_exit_2_and_a_bug_keeps_its_traceback(
    data_dir, tmp_path, monkeypatch
):
    """A missing input file is bad input (UsageError naming the file); any other exception, a
    FileNotFoundError from our own code included, is a bug: the CLI lets it raise (exit 1)."""
    import errno

    import llmrec_train.generate as generate_module
    from llmrec_train.cli import app
    from typer.testing import CliRunner

    runner = CliRunner()
    argv = ["generate", "--out", str(tmp_path / "p.jsonl"), "--examples"]
    res = runner.invoke(app, [*argv, str(tmp_path / "nope.jsonl")])
    assert res.exit_code == 2
    assert res.output == f"error: {tmp_path / 'nope.jsonl'}: examples file not found\n"

    def bug(*args, **kwargs):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/internal/state")

    monkeypatch.setattr(generate_module, "read_examples", bug)
    res = runner.invoke(app, [*argv, str(data_dir / "test.jsonl")])
    assert res.exit_code == 1 and isinstance(res.exception, FileNotFoundError)


def test_generate_to_an_unwritable_place_fails_before_the_model_loads(data_dir, tmp_path):
    from llmrec_train.config import GenerateConfig
    from llmrec_train.generate import generate

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = GenerateConfig(examples=data_dir / "test.jsonl", out=blocker / "p.jsonl")
    with pytest.raises(UsageError, match=r"--out .*a-file is not a folder"):
        generate(config)


def test_resume_compares_every_setting_that_changes_what_is_learned(data_dir, tmp_path):
    """`--set train.lora_r=4` used to resume an r=8 checkpoint: a 600-line size-mismatch traceback."""
    from llmrec_train.train import RESUME_KEY, _choose_checkpoint, training_key

    config = TrainConfig(train_file=data_dir / "train.jsonl", output_dir=tmp_path / "out")
    ckpt_dir = tmp_path / "out" / "checkpoints"
    (ckpt_dir / "checkpoint-3").mkdir(parents=True)
    (ckpt_dir / "checkpoint-3" / "trainer_state.json").write_text("{}")
    (ckpt_dir / "checkpoint-5").mkdir()  # interrupted while saving: no trainer_state.json
    (ckpt_dir / RESUME_KEY).write_text(json.dumps(training_key(config, use_bf16=True)))

    same = training_key(config, use_bf16=True)
    assert _choose_checkpoint("auto", ckpt_dir, same) == ckpt_dir / "checkpoint-3"
    assert not (ckpt_dir / "checkpoint-5").exists()
    for changes in (
        {"lora_r": 4},
        {"seed": 1},
        {"epochs": 6.0},
        {"n_train": 512},
        {"loss_on": "titles"},
    ):
        changed = TrainConfig(**{**config.__dict__, **changes})
        assert _choose_checkpoint("auto", ckpt_dir, training_key(changed, use_bf16=True)) is None
    with pytest.raises(UsageError, match=r"--resume yes: .*other settings \(lora_r 8 -> 4\)"):
        changed = TrainConfig(**{**config.__dict__, "lora_r": 4})
        _choose_checkpoint("yes", ckpt_dir, training_key(changed, use_bf16=True))
    # the training data's content counts, not only its path
    with (data_dir / "train.jsonl").open() as f:
        rows = f.read()
    edited = tmp_path / "train.jsonl"
    edited.write_text(rows.replace("train-000001", "train-x00001"))
    moved = TrainConfig(**{**config.__dict__, "train_file": edited})
    assert _choose_checkpoint("auto", ckpt_dir, training_key(moved, use_bf16=True)) is None
    # the precision too
    assert _choose_checkpoint("auto", ckpt_dir, training_key(config, use_bf16=False)) is None
    # logging or checkpointing cadence does not
    cadence = TrainConfig(
        **{**config.__dict__, "save_steps": 3, "logging_steps": 5, "keep_epoch_adapters": False}
    )
    assert _choose_checkpoint("auto", ckpt_dir, training_key(cadence, use_bf16=True)) is not None


def test_out_is_the_same_flag_as_output_dir(data_dir, tmp_path):
    # --out names an output folder in every llmrec CLI; train accepts it beside --output-dir
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    argv = ["train", "--train-file", str(data_dir / "train.jsonl"), "--out", str(blocker / "o")]
    done = subprocess.run(
        [sys.executable, "-m", "llmrec_train", *argv], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "a-file is not a folder" in done.stderr and "No such option" not in done.stderr


def test_params_names_one_per_model():
    from llmrec_train.config import ParamsConfig

    config = ParamsConfig(model="a/b, c/d", names="b, d")
    assert config.model_names == ["b", "d"]
    assert ParamsConfig(model="a/b").model_names == ["a/b"]
    with pytest.raises(UsageError, match=r"--names: 1 name\(s\) for 2 model\(s\)"):
        ParamsConfig(model="a/b,c/d", names="b")
