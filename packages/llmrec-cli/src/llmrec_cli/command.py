"""A config dataclass -> a Typer command: one `--flag` per field, plus `--config FILE`.

Field `n_train: int = 128` becomes `--n-train INTEGER`; `bool` fields `--x/--no-x`; a field without
a default a required option (which the config file may give). Field metadata: `help` (the flag's
help), `aliases` (more flag names, e.g. `("--out",)`), `metavar`.

`--config FILE` (TOML, one `key = value` per field, `-` or `_` alike) fills the options first;
flags on the command line override it. An unknown key or a value of the wrong type fails before
anything runs, naming the file, line and key (and the closest valid key).
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import errno
import inspect
import sys
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from llmrec_cli.errors import BadInput

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
# Failures of the machine rather than of our code or input: one line, exit 1.
_ENVIRONMENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}
CONFIG_OPTION = "config_file"
"""The Python name of `--config` (no dataclass field may be called so)."""

# Set by `check-config`: commands build their config (every check included) and return.
_CHECK_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("check_only", default=False)


def checking() -> bool:
    """Whether the command is only being checked (`check-config`), not run."""
    return _CHECK_ONLY.get()


def report(err: BaseException) -> typer.Exit:
    """Print bad input as one `error: ...` line on stderr; the caller raises the returned Exit."""
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def command_from_config(
    config_cls: type,
    run: Callable[..., Any],
    *,
    error: type[BadInput],
    also_bad_input: tuple[type[BaseException], ...] = (),
    extra: Sequence[inspect.Parameter] = (),
    validate: Callable[[Any], None] | None = None,
    setup: Callable[[], None] | None = None,
    interrupted: Callable[[dict[str, Any]], str] | str = (
        "nothing half-written was left; run the same command again"
    ),
) -> Callable[..., None]:
    """A function for `app.command(name)(...)` that builds `config_cls` from the flags and calls
    `run(config, **extras)`; a result other than None is printed.

    `error`: the package's bad-input type (raised for a bad config file too); it and
    `also_bad_input` print one line and exit 2. A refused write (permissions, full disk) prints
    one line and exits 1; Ctrl-C prints `interrupted: ...` (`interrupted`: the text, or a function
    of the flags) and exits 130. Every other exception is a bug and keeps its traceback.
    `extra`: parameters that are not config fields (e.g. positional files), passed to `run`.
    `validate(config)`: checks beyond the dataclass's own, run by `check-config` too.
    `setup()`: called before `run` (logging, warnings filters).
    """
    hints = typing.get_type_hints(config_cls)
    params = list(extra)
    for f in dataclasses.fields(config_cls):
        if f.name in ("config", CONFIG_OPTION):  # would clash with --config
            raise TypeError(f"{config_cls.__name__}.{f.name}: a config field may not be named so")
        tp = _without_none(hints[f.name])
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = inspect.Parameter.empty
        flag = "--" + f.name.replace("_", "-")
        decls = (
            [f"{flag}/--no-{flag[2:]}"] if tp is bool else [flag, *f.metadata.get("aliases", ())]
        )
        option = typer.Option(
            *decls,
            help=f.metadata.get("help", ""),
            show_default=default is not inspect.Parameter.empty and default is not None,
            metavar=f.metadata.get("metavar"),
        )
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[tp, option],
            )
        )
    params.append(_config_parameter(config_cls, error))
    extra_names = {p.name for p in extra}

    def command(**kwargs: Any) -> None:
        kwargs.pop(CONFIG_OPTION, None)
        extras = {k: kwargs.pop(k) for k in extra_names}
        try:
            config = config_cls(**kwargs)
            if validate is not None:
                validate(config)
            if checking():
                return
            if setup is not None:
                setup()
            result = run(config, **extras)
        except (error, *also_bad_input) as err:
            if checking():
                raise
            raise report(err) from None
        except OSError as err:
            if err.errno not in _ENVIRONMENT_ERRNOS:
                raise
            typer.secho(f"error: {err.filename or ''}: {err.strerror}", fg="red", err=True)
            raise typer.Exit(EXIT_FAILURE) from None
        except KeyboardInterrupt:
            hint = interrupted if isinstance(interrupted, str) else interrupted(kwargs)
            typer.secho(f"interrupted: {hint}", fg=typer.colors.YELLOW, err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        if result is not None:
            typer.echo(str(result))

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = inspect.cleandoc(config_cls.__doc__ or "")
    return command


def _config_parameter(config_cls: type, error: type[BadInput]) -> inspect.Parameter:
    def load(ctx: typer.Context, value: Path | None) -> Path | None:
        if value is not None:
            try:
                values = load_config(value, config_cls, error, command=ctx.command_path)
            except error as err:
                if checking():
                    raise
                raise report(err) from None
            ctx.default_map = {**(ctx.default_map or {}), **values}
        return value

    option = typer.Option(
        "--config",
        help="TOML file of this command's options (`num_beams = 8`); flags given here override it.",
        is_eager=True,
        callback=load,
        dir_okay=False,
        metavar="FILE",
    )
    return inspect.Parameter(
        CONFIG_OPTION,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[Path | None, option],
    )


def load_config(
    path: Path, config_cls: type, error: type[BadInput], command: str = "this command"
) -> dict[str, Any]:
    """The options a TOML file sets, {field: value}, each checked against its field's type.

    Keys are field names (`-` or `_`); an unknown key or a value of the wrong type raises `error`
    naming the file, the line and the key."""
    import tomllib

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise error(f"cannot read the config file: {err.strerror}", file=path) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise error(f"not valid TOML: {err}", file=path) from None
    hints = typing.get_type_hints(config_cls)
    names = [f.name for f in dataclasses.fields(config_cls)]
    values: dict[str, Any] = {}
    for key, value in document.items():
        name = key.replace("-", "_")
        line = _line_of(text, key)
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise error(
                f"unknown option of `{command}`: {hint}expected one of {', '.join(sorted(names))}",
                file=path,
                line=line,
                field=key,
            )
        expected, converted = _convert(hints[name], value)
        if expected is not None:
            raise error(f"expected {expected}, got {value!r}", file=path, line=line, field=key)
        values[name] = converted
    return values


def _convert(annotation: Any, value: Any) -> tuple[str | None, Any]:
    """(None, the value as the option takes it), or (what was expected, None) for a bad value."""
    tp = _without_none(annotation)
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp) or (str,)
        items = value if isinstance(value, list) else [value]
        converted = []
        for v in items:
            expected, c = _convert(item, v)
            if expected is not None:
                return f"a list of ({expected})", None
            converted.append(c)
        return None, converted
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        if value in choices:
            return None, value
        return "one of " + ", ".join(str(c) for c in choices), None
    if tp is bool:
        return (None, value) if isinstance(value, bool) else ("true or false", None)
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (None, value) if ok else ("an integer", None)
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return (None, float(value)) if ok else ("a number", None)
    if tp is Path:
        return (None, value) if isinstance(value, str) else ("a path (a string)", None)
    if tp is str:
        ok = isinstance(value, str | int | float) and not isinstance(value, bool)
        return (None, str(value)) if ok else ("a string", None)
    return None, value  # a type the adapter does not know: the command's own checks decide


def _line_of(text: str, key: str) -> int | None:
    """The 1-based line where a top-level `key = ...` of a TOML text is set."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            return None  # past the top-level keys
        if stripped.partition("=")[0].strip().strip("\"'") == key:
            return number
    return None


def _without_none(annotation: Any) -> Any:
    """`X | None` -> X (a missing option is None from the default)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def close_progress_bars() -> None:
    """Close tqdm bars (if tqdm is loaded) so they do not redraw after an interrupt message."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is None:
        return
    for bar in list(getattr(tqdm.tqdm, "_instances", ())):
        bar.close()
    sys.stderr.write("\n")
