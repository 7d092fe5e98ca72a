"""The adapter: flags from fields, --config files, errors, check-config (no model, no data)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import typer
from llmrec_cli import BadInput, check_config_command, command_from_config
from typer.testing import CliRunner


class ToyError(BadInput):
    """The toy package's one bad-input error."""


@dataclass
class ToyConfig:
    """Toy command."""

    out: Path = field(metadata={"help": "Output folder.", "aliases": ("-o",)})
    num_beams: int = field(default=4, metadata={"help": "Beams."})
    decoding: Literal["beam", "greedy"] = field(default="beam", metadata={"help": "Decoding."})
    constrained: bool = field(default=False, metadata={"help": "Constrained."})
    rate: float = field(default=0.5, metadata={"help": "A rate.", "metavar": "R"})
    tags: list[str] | None = field(default=None, metadata={"help": "Tags (repeat)."})

    def __post_init__(self) -> None:
        if self.num_beams < 1:
            raise ToyError(f"--num-beams must be >= 1, got {self.num_beams}")


def _app(seen: list, run=None) -> typer.Typer:
    app = typer.Typer()
    app.command("toy")(command_from_config(ToyConfig, run or seen.append, error=ToyError))
    app.command("check-config")(check_config_command(app, "toy-cli"))
    return app


runner = CliRunner()


def test_flags_aliases_bools_and_metavar():
    seen: list[ToyConfig] = []
    app = _app(seen)
    result = runner.invoke(app, ["toy", "-o", "x", "--constrained", "--tags", "a", "--tags", "b"])
    assert result.exit_code == 0, result.output
    assert seen[-1] == ToyConfig(out=Path("x"), constrained=True, tags=["a", "b"])
    help_text = runner.invoke(app, ["toy", "--help"]).output
    assert "--constrained" in help_text and "--no-constrained" in help_text
    assert "--config" in help_text and " R " in help_text


def test_config_file_fills_options_and_flags_override_it(tmp_path):
    seen: list[ToyConfig] = []
    app = _app(seen)
    cfg = tmp_path / "toy.toml"
    cfg.write_text('out = "from-file"\nnum-beams = 8\nconstrained = true\ntags = ["t"]\n')
    result = runner.invoke(app, ["toy", "--num-beams", "2", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert seen[-1] == ToyConfig(out=Path("from-file"), num_beams=2, constrained=True, tags=["t"])
    result = runner.invoke(app, ["toy", "--config", str(cfg), "--no-constrained", "-o", "o2"])
    assert (seen[-1].constrained, seen[-1].out) == (False, Path("o2"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'out = "o"\nnum_beam = 2\n',
            "line 2, field 'num_beam': unknown option of `toy-cli toy`: did you mean 'num_beams'? "
            "expected one of constrained, decoding, num_beams, out, rate, tags",
        ),
        (
            'out = "o"\nnum_beams = "many"\n',
            "line 2, field 'num_beams': expected an integer, got 'many'",
        ),
        (
            'decoding = "sample"\n',
            "line 1, field 'decoding': expected one of beam, greedy, got 'sample'",
        ),
        ("rate = [1, 2]\n", "line 1, field 'rate': expected a number, got [1, 2]"),
        ("rate = \n", "not valid TOML"),
    ],
)
def test_bad_config_files_fail_before_running_naming_file_line_and_key(tmp_path, text, message):
    ran: list[ToyConfig] = []
    app = _app(ran)
    cfg = tmp_path / "toy.toml"
    cfg.write_text(text)
    result = runner.invoke(app, ["toy", "--config", str(cfg), "-o", "x"], prog_name="toy-cli")
    assert result.exit_code == 2, result.output
    assert (
        f"error: {cfg}, {message}" in result.output or f"error: {cfg}: {message}" in result.output
    )
    assert "Traceback" not in result.output and not ran


def test_errors_of_the_package_are_one_line_and_bugs_keep_their_traceback(tmp_path):
    app = _app([])
    result = runner.invoke(app, ["toy", "-o", "x", "--num-beams", "0"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --num-beams must be >= 1, got 0"

    def bug(config: ToyConfig) -> None:
        raise ValueError("a bug, not bad input")

    result = runner.invoke(_app([], bug), ["toy", "-o", "x"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)  # not turned into "error: ..."


def test_interrupt_prints_how_to_continue():
    def stop(config: ToyConfig) -> None:
        raise KeyboardInterrupt

    result = runner.invoke(_app([], stop), ["toy", "-o", "x"])
    assert result.exit_code == 130
    assert "interrupted: nothing half-written was left" in result.output


def test_check_config_builds_without_running(tmp_path):
    ran: list[ToyConfig] = []
    app = _app(ran)
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text("num_beams = 3\n")
    bad.write_text("num_beam = 3\n")
    result = runner.invoke(app, ["check-config", "--", "toy", "--config", str(good), "-o", "x"])
    assert result.exit_code == 0, result.output
    assert "ok: toy-cli toy --config" in result.output and not ran
    commands = tmp_path / "commands.json"
    lines = [
        ["toy", "--config", str(good), "-o", "x"],
        ["toy", "--config", str(bad), "-o", "x"],
        ["toy", "-o", "x", "--num-beams", "0"],
        ["toy", "-o", "x", "--num-beamz", "2"],
        ["toy", "--num-beams", "2"],
    ]
    commands.write_text(json.dumps(lines))
    result = runner.invoke(app, ["check-config", "--commands", str(commands), "--json"])
    assert result.exit_code == 2
    out = json.loads(result.stdout)
    assert [r["ok"] for r in out] == [True, False, False, False, False]
    assert (out[1]["file"], out[1]["line"], out[1]["field"]) == (str(bad), 1, "num_beam")
    assert "did you mean 'num_beams'" in out[1]["error"]
    assert out[2]["error"] == "--num-beams must be >= 1, got 0"
    assert out[3]["field"] == "num_beamz" and "No such option" in out[3]["error"]
    assert out[4]["field"] == "out" and "Missing option" in out[4]["error"]
    assert not ran
