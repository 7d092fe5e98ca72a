"""The `llmrec-train` command line: one command per config dataclass, one flag per field (TRL style)."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from llmrec_train.config import GenerateConfig, TrainConfig

app = typer.Typer(
    help="llmrec-train: LoRA SFT with TRL (QLoRA, multi-GPU via accelerate) and generation with "
    "constrained decoding. Files follow docs/contracts.md.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _unwrap_optional(tp: Any) -> Any:
    """`X | None` -> X (typer reads a missing option as None from the default)."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def command_from_dataclass(cls: type, run: Callable[[Any], Any]) -> Callable[..., None]:
    """A function whose signature has one typer option per dataclass field (required fields included)."""
    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        tp = _unwrap_optional(hints[f.name])
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = ... if required else f.default
        flag = "--" + f.name.replace("_", "-")
        decls = [flag] if tp is not bool else [f"{flag}/--no-{flag[2:]}"]
        option = typer.Option(
            default, *decls, help=f.metadata.get("help", ""), show_default=not required
        )
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=option,
                annotation=tp if tp is not Path else Path,
            )
        )

    def command(**kwargs: Any) -> None:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        try:
            config = cls(**kwargs)
            result = run(config)
        except (ValueError, FileNotFoundError) as e:
            typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=2) from e
        typer.echo(str(result))

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = cls.__doc__
    return command


def _train(config: TrainConfig) -> Path:
    from llmrec_train.train import train

    return train(config)


def _generate(config: GenerateConfig) -> Path:
    from llmrec_train.generate import generate

    return generate(config)


app.command("train", help=TrainConfig.__doc__)(command_from_dataclass(TrainConfig, _train))
app.command("generate", help=GenerateConfig.__doc__)(
    command_from_dataclass(GenerateConfig, _generate)
)


@app.command()
def version() -> None:
    """Print the package version."""
    from llmrec_train import __version__

    typer.echo(__version__)


def main() -> None:  # `python -m llmrec_train` (used by `accelerate launch -m`)
    app(prog_name="llmrec-train")


if __name__ == "__main__":
    sys.exit(main())
