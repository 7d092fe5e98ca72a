"""The `llmrec-data` command line: thin wrappers over the library, one config dataclass per command."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from llmrec_data._cli_config import command_from_config
from llmrec_data.config import EmbedConfig, PrepareConfig
from llmrec_data.errors import DataError
from llmrec_data.interests.cli import app as interests_app

app = typer.Typer(
    help="llmrec-data: raw datasets -> BIGRec-style examples and item embeddings.",
    no_args_is_help=True,
)
app.add_typer(interests_app, name="interests")

_err = Console(stderr=True)


def _fail(err: DataError) -> None:
    _err.print(f"[bold red]error:[/] {err}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _run_prepare(config: PrepareConfig) -> None:
    from llmrec_data.prepare import prepare

    try:
        result = prepare(
            config, on_stage=lambda stage, seconds: _err.print(f"  {stage}: {seconds:.1f} s")
        )
    except DataError as err:
        _fail(err)
        return
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

    try:
        meta = embed_items(config)
    except DataError as err:
        _fail(err)
        return
    typer.echo(f"{meta['n_items']:,} x {meta['dim']} embeddings from {meta['model']}")


app.command(
    "prepare",
    help="Raw dataset -> items.parquet, train/valid/test.jsonl and manifest.json (BIGRec protocol). "
    "Options left unset take the preset's defaults (see the llmrec-data README).",
)(command_from_config(PrepareConfig, _run_prepare))
app.command(
    "embed",
    help="Item titles -> item_embeddings.npy + item_embeddings.json with a sentence-transformers model.",
)(command_from_config(EmbedConfig, _run_embed))


@app.command()
def version() -> None:
    """Print the package version."""
    from llmrec_data import __version__

    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
