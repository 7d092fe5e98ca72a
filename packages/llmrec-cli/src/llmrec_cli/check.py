"""`check-config`: check command lines (flags and `--config` files) without running them.

Each command line is parsed by the real command and its config dataclass is built (every check of
the dataclass included), then the command returns instead of running. Nothing heavier than the
config modules is imported, so a pipeline can check all its stages in about a second before its
first stage starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from llmrec_cli.command import _CHECK_ONLY, EXIT_BAD_INPUT, report
from llmrec_cli.errors import BadInput


def check_config_command(app: typer.Typer, prog: str):
    """The `check-config` command of `app` (register it with `app.command("check-config")`)."""

    def check_config(
        args: Annotated[
            list[str] | None,
            typer.Argument(
                help="One command line to check, after `--`: e.g. `-- train --config my.toml "
                "--train-file t.jsonl --output-dir out`."
            ),
        ] = None,
        commands: Annotated[
            Path | None,
            typer.Option(
                "--commands",
                help="A JSON file holding a list of command lines (each a list of arguments) to "
                "check in one go.",
                dir_okay=False,
                metavar="FILE",
            ),
        ] = None,
        as_json: Annotated[
            bool,
            typer.Option(
                "--json",
                help="Print one JSON list, an entry per command line: argv, ok, and for a failure "
                "error, file, line and field (the option or config key).",
            ),
        ] = False,
    ) -> None:
        """Check command lines (flags, --config files, every setting's value) without running
        them; exit 2 if any is wrong."""
        lines: list[list[str]] = []
        if commands is not None:
            try:
                loaded = json.loads(commands.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as err:
                raise report(
                    BadInput(f"expected a JSON list of argument lists ({err})", file=commands)
                ) from None
            if not isinstance(loaded, list) or not all(
                isinstance(a, list) and all(isinstance(s, str) for s in a) for a in loaded
            ):
                raise report(BadInput("expected a JSON list of argument lists", file=commands))
            lines += loaded
        if args:
            lines.append(list(args))
        if not lines:
            raise report(BadInput("nothing to check: give a command line after `--` or --commands"))
        group = typer.main.get_command(app)  # built once: it costs more than a check
        results = [check(group, prog, argv) for argv in lines]
        if as_json:
            typer.echo(json.dumps(results, indent=1))
        else:
            for result in results:
                shown = " ".join([prog, *result["argv"]])
                if result["ok"]:
                    typer.echo(f"ok: {shown}")
                else:
                    typer.secho(f"error: {result['error']}\n  in: {shown}", fg="red", err=True)
        if not all(r["ok"] for r in results):
            raise typer.Exit(EXIT_BAD_INPUT)

    return check_config


def check(app: typer.Typer | Any, prog: str, argv: list[str]) -> dict[str, Any]:
    """Parse and build one command line of `app` (a Typer app, or the command Typer made of it)
    without running it: {argv, ok, error, file, line, field}."""
    group = typer.main.get_command(app) if isinstance(app, typer.Typer) else app
    token = _CHECK_ONLY.set(True)
    out: dict[str, Any] = {"argv": argv, "ok": False}
    try:
        code = group.main(args=list(argv), prog_name=prog, standalone_mode=False)
        out["ok"] = code in (None, 0)
    except BadInput as err:
        out.update(error=str(err), file=err.file, line=err.line, field=err.field)
    except typer.TyperException as err:  # Typer's usage errors: unknown option, bad value, ...
        option = getattr(err, "option_name", None)  # an unknown option
        param = getattr(err, "param", None)  # a bad or missing value
        name = option.lstrip("-").replace("-", "_") if option else getattr(param, "name", None)
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        out.update(error=message, field=name)
    finally:
        _CHECK_ONLY.reset(token)
    return out
