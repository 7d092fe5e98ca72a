"""Decoding presets (`--preset`): the table, and flag-over-preset-over-default precedence. No torch."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from llmrec_train.cli import command_from_dataclass
from llmrec_train.config import DECODING_PRESETS, GENERATE_DEFAULTS, GenerateConfig
from llmrec_train.errors import UsageError
from typer.testing import CliRunner

README = Path(__file__).resolve().parents[1] / "README.md"


def config(**kwargs) -> GenerateConfig:
    return GenerateConfig(examples=Path("test.jsonl"), out=Path("p.jsonl"), **kwargs)


def test_without_a_preset_the_defaults_are_unchanged():
    c = config()
    assert c.preset is None
    assert (c.decoding, c.num_beams, c.num_return_sequences, c.max_new_tokens) == ("beam", 4, 4, 64)
    assert (c.length_penalty, c.constrained, c.seed) == (1.0, False, 0)
    assert (c.temperature, c.top_p, c.top_k) == (1.0, 1.0, 50)


def test_bigrec_game_is_the_forks_sampling_setting():
    c = config(preset="bigrec-game")
    assert (c.decoding, c.seed, c.temperature, c.top_p, c.top_k) == ("sample", 0, 0.2, 0.95, 40)
    assert (c.num_beams, c.num_return_sequences, c.max_new_tokens) == (1, 1, 64)


def test_bigrec_movie_and_d3():
    movie = config(preset="bigrec-movie")
    assert (movie.decoding, movie.num_beams, movie.num_return_sequences) == ("beam", 4, 4)
    assert (movie.max_new_tokens, movie.length_penalty, movie.constrained) == (128, 1.0, False)
    d3 = config(preset="d3", items=Path("items.parquet"))
    assert (d3.decoding, d3.constrained, d3.length_penalty) == ("beam", True, 0.0)
    assert (d3.num_beams, d3.num_return_sequences) == (10, 10)


def test_explicit_values_override_the_preset():
    c = config(preset="bigrec-game", temperature=0.7, seed=3)
    assert (c.temperature, c.seed) == (0.7, 3)
    assert (c.top_p, c.top_k, c.decoding) == (0.95, 40, "sample")  # the rest from the preset
    # Fewer beams than the preset's: the returned sequences follow the beams, not the preset's 10.
    d3 = config(preset="d3", items=Path("items.parquet"), num_beams=4, length_penalty=0.5)
    assert (d3.num_beams, d3.num_return_sequences, d3.length_penalty) == (4, 4, 0.5)
    # An explicit value equal to the built-in default still wins over the preset.
    unconstrained = config(preset="d3", constrained=False, length_penalty=1.0)
    assert (unconstrained.constrained, unconstrained.length_penalty) == (False, 1.0)


def test_cli_flags_override_the_preset():
    """Through the real CLI parser: flags not given stay unset, so the preset fills them."""
    seen: list[GenerateConfig] = []
    app = typer.Typer()
    app.command()(command_from_dataclass(GenerateConfig, seen.append))
    argv = ["--examples", "t.jsonl", "--out", "p.jsonl", "--preset", "bigrec-game"]
    result = CliRunner().invoke(app, [*argv, "--temperature", "0.5"])
    assert result.exit_code == 0, result.output
    c = seen[-1]
    assert (c.preset, c.decoding, c.temperature, c.top_k, c.seed) == (
        "bigrec-game",
        "sample",
        0.5,
        40,
        0,
    )
    result = CliRunner().invoke(app, [*argv[:4], "--preset", "d3", "--no-constrained"])
    assert result.exit_code == 0, result.output
    assert (seen[-1].constrained, seen[-1].length_penalty, seen[-1].num_beams) == (False, 0.0, 10)


def test_unknown_preset_and_d3_without_items_are_clear_errors():
    with pytest.raises(UsageError, match="--preset: 'bigrec' is not one of bigrec-movie, "):
        config(preset="bigrec")
    with pytest.raises(UsageError, match=r"needs --items .*--preset d3 decodes constrained"):
        config(preset="d3")
    with pytest.raises(UsageError, match="--length-penalty must be a finite number"):
        config(length_penalty=float("nan"))


def test_presets_set_only_known_settings_and_the_readme_lists_each():
    readme = README.read_text(encoding="utf-8")
    for name, values in DECODING_PRESETS.items():
        assert set(values) <= set(GENERATE_DEFAULTS), name
        assert f"`{name}`" in readme, f"{name} missing from the README's preset table"
