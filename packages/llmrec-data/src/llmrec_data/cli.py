"""The `llmrec-data` command line."""

import typer

app = typer.Typer(help="llmrec-data", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the package version."""
    from llmrec_data import __version__

    typer.echo(__version__)
