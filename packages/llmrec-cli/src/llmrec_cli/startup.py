"""Which libraries a command line imports before it can answer: every CLI should print its help and
refuse a wrong flag or a missing file without importing torch & co (about 30 s on a small CPU).

The packages' tests use `startup_imports`: nothing is timed, the imported modules are checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

HEAVY_LIBRARIES = ("torch", "transformers", "peft", "sentence_transformers", "trl")
"""Imported only where a model runs."""

# Runs in a fresh interpreter: argv = app ("module:attribute"), invocations (JSON), watched modules.
_PROGRAM = """
import importlib, json, sys
import typer
from typer.testing import CliRunner

module, attribute = sys.argv[1].split(":")
app = getattr(importlib.import_module(module), attribute)

def command_paths(command, path=()):
    yield list(path)
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*path, name))

paths = list(command_paths(typer.main.get_command(app)))
invocations = [p + ["--help"] for p in paths] + [p + ["--no-such-flag"] for p in paths]
runner = CliRunner()
for args in invocations + json.loads(sys.argv[2]):
    code = runner.invoke(app, args).exit_code
    imported = [m for m in sys.argv[3:] if m in sys.modules]
    print(json.dumps({"args": args, "exit_code": code, "imported": imported}))
"""


@dataclass(frozen=True)
class Invocation:
    args: list[str]
    exit_code: int
    imported: list[str]
    """The watched modules imported by the end of this invocation (and those before it)."""


def startup_imports(
    app: str, bad_input: list[list[str]], watched: tuple[str, ...] = HEAVY_LIBRARIES
) -> list[Invocation]:
    """Run, in one fresh interpreter and in this order, `--help` and `--no-such-flag` on every command
    of the Typer app `app` ("package.module:attribute"), then each of `bad_input`; say after each which
    of the `watched` modules are imported."""
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, app, json.dumps(bad_input), *watched],
        capture_output=True,
        text=True,
        check=True,
    )
    return [Invocation(**json.loads(line)) for line in done.stdout.splitlines()]
