"""The package's one input-error type, its message format, and how the CLI reports errors.

Only `InputError` (bad input the user can fix) becomes a one-line `error: ...` with exit code 2;
Ctrl-C exits 130; anything else is a bug and keeps its traceback (exit 1).
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class InputError(ValueError):
    """A bad input file: the message names the file, the line or row, the field and what was expected."""


def where(
    path: Path | str,
    line: int | None = None,
    row: int | None = None,
    fld: str | None = None,
) -> str:
    """`file, line 3 (1-based), field 'x'`: JSONL/text lines are 1-based, parquet/JSON-list rows 0-based."""
    parts = [str(path)]
    if line is not None:
        parts.append(f"line {line} (1-based)")
    if row is not None:
        parts.append(f"row {row} (0-based)")
    if fld is not None:
        parts.append(f"field '{fld}'")
    return ", ".join(parts)


def fail(path: Path | str, msg: str, **at: Any) -> InputError:
    """An InputError located by `where(path, **at)`."""
    return InputError(f"{where(path, **at)}: {msg}")


def check_writable(path: Path, *, folder: bool) -> None:
    """Fail now, before any work, if `path` (an output folder, or a file's folder) cannot be written."""
    target = Path(path) if folder else Path(path).parent
    if not folder and Path(path).is_dir():
        raise InputError(f"{path}: is a folder, expected a file path to write")
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".llmrec-eval-write-test.", dir=target)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        what = "output folder" if folder else "folder of the output file"
        raise InputError(f"{target}: {what} is not writable ({exc.strerror or exc})") from exc


def cli_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a CLI command: InputError -> one line on stderr, exit 2; Ctrl-C -> exit 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from err
        except KeyboardInterrupt as err:
            # Every output is written to a temporary file and renamed: nothing is half-written.
            typer.echo("interrupted: no output was half-written; run the command again", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from err

    return wrapper
