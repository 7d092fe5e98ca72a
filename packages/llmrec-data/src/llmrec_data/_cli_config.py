"""Turn a config dataclass into Typer options (one flag per field, its help text from the field)."""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from llmrec_data.errors import DataError

Config = TypeVar("Config")


def fail(err: DataError) -> None:
    """Show bad input as one `error: ...` line (no traceback) and exit with status 2."""
    Console(stderr=True).print(
        f"[bold red]error:[/] {err}", markup=True, highlight=False, soft_wrap=True
    )
    raise typer.Exit(2)


def command_from_config(
    config_cls: type[Config], run: Callable[[Config], None]
) -> Callable[..., None]:
    """A function whose keyword parameters are `config_cls`'s fields, for `app.command()(...)`.

    Field `min_history: int | None` becomes `--min-history INTEGER`; booleans become
    `--flag/--no-flag`; fields without a default become required options.
    """
    hints = typing.get_type_hints(config_cls)
    parameters = []
    for f in dataclasses.fields(config_cls):  # type: ignore[arg-type]
        annotation = hints[f.name]
        help_text = f.metadata.get("help", "")
        is_bool = _without_none(annotation) is bool
        flag = "--" + f.name.replace("_", "-")
        decls = [f"{flag}/--no-{flag[2:]}"] if is_bool else [flag]
        default: Any = (
            f.default if f.default is not dataclasses.MISSING else inspect.Parameter.empty
        )
        option = typer.Option(*decls, help=help_text, show_default=default is not None)
        parameters.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[annotation, option],
            )
        )

    def command(**kwargs: Any) -> None:
        run(config_cls(**kwargs))

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__doc__ = inspect.cleandoc(config_cls.__doc__ or "")
    return command


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
