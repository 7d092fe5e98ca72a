"""The `llmrec-data` command line: thin wrappers over the library, one config dataclass per command."""

from __future__ import annotations

import signal
from typing import Annotated

import typer
from llmrec_cli import check_config_command, command_from_config
from rich.console import Console

from llmrec_data.config import EmbedConfig, PrepareConfig
from llmrec_data.errors import DataError
from llmrec_data.interests.cli import app as interests_app

app = typer.Typer(
    help="llmrec-data: raw datasets -> BIGRec-style examples and item embeddings.",
    no_args_is_help=True,
)
app.add_typer(interests_app, name="interests")

_err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from llmrec_data import __version__

        typer.echo(f"llmrec-data {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """llmrec-data: raw datasets -> BIGRec-style examples and item embeddings."""


def _run_prepare(config: PrepareConfig) -> None:
    from llmrec_data.prepare import prepare

    result = prepare(
        config, on_stage=lambda stage, seconds: _err.print(f"  {stage}: {seconds:.1f} s")
    )
    counts = ", ".join(f"{k} {result.written[k]:,}/{v:,}" for k, v in result.examples.items())
    typer.echo(
        f"{result.out}: {result.n_items:,} items, {result.n_users:,} users, "
        f"{result.n_interactions:,} interactions; examples written/total: {counts}"
    )
    typer.echo(f"  sampling: {result.sampling}")
    typer.echo(
        f"  found {result.hygiene.get('duplicate_interactions', 0):,} exact duplicate "
        f"interactions, {result.hygiene.get('consecutive_repeats', 0):,} consecutive repeats"
    )
    for reason, count in sorted(result.skipped.items()):
        typer.echo(f"  skipped {count:,}: {reason}")


def _run_embed(config: EmbedConfig) -> None:
    from llmrec_data.embed import embed_items

    meta = embed_items(config)
    typer.echo(f"{meta['n_items']:,} x {meta['dim']} embeddings from {meta['model']}")


app.command(
    "prepare",
    help="Raw dataset -> items.parquet, train/valid/test.jsonl and manifest.json (BIGRec protocol). "
    "Options left unset take the preset's defaults (see the llmrec-data README).",
)(command_from_config(PrepareConfig, _run_prepare, error=DataError))
app.command(
    "embed",
    help="Item titles -> item_embeddings.npy + item_embeddings.json with a sentence-transformers model.",
)(command_from_config(EmbedConfig, _run_embed, error=DataError))
app.command("check-config")(check_config_command(app, "llmrec-data"))


def _interrupted(signum: int, frame: object) -> None:
    # Leave through SystemExit so that atomic writes remove their temporary files on the way out.
    _err.print("interrupted: nothing half-written was left; run the same command again")
    raise SystemExit(130)


def main() -> None:
    """Console entry point: exit 2 for bad input, 1 for a failure, 130 when interrupted."""
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    app()
