"""The package's one input-error type, its message format, and how the CLI reports errors.

Only `InputError` (bad input the user can fix) becomes a one-line `error: ...` with exit code 2;
Ctrl-C exits 130; anything else is a bug and keeps its traceback (exit 1).
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from llmrec_cli import BadInput

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
_DISK_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


class InputError(BadInput, ValueError):
    """A bad input file: the message names the file, the line or row, the field and what was expected
    (the package's one bad-input type; llmrec-cli's `BadInput` gives the format, and says how lines
    and rows are counted)."""

    count_notes = True


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
    """An InputError located at `path` and `line`, `row` or `fld` (as `where` writes them)."""
    return InputError(msg, file=path, line=at.get("line"), row=at.get("row"), field=at.get("fld"))


def check_writable(path: Path, *, folder: bool) -> None:
    """Fail now, before any work, if `path` (an output folder, or a file's folder) cannot be written.

    Creates nothing: the nearest existing ancestor must be a writable folder."""
    path = Path(path)
    if not folder and path.is_dir():
        raise InputError(f"{path}: is a folder, expected a file path to write")
    target = path if folder else path.parent
    what = "output folder" if folder else "folder of the output file"
    existing = target.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{target}: {what} is not writable ({existing} is not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{target}: {what} is not writable (no write permission on {existing})")


def cli_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a CLI command: InputError -> one line on stderr, exit 2; Ctrl-C -> exit 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from err
        except OSError as err:
            if err.errno not in _DISK_ERRORS:
                raise
            # The machine refused a write (permissions, read-only or full disk): not a bug.
            typer.echo(f"error: {err.filename or ''}: {err.strerror}", err=True)
            raise typer.Exit(EXIT_FAILURE) from err
        except KeyboardInterrupt as err:
            # Every output is written to a temporary file and renamed: nothing is half-written.
            typer.echo("interrupted: no output was half-written; run the command again", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from err

    return wrapper
