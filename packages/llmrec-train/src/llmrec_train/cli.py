"""The `llmrec-train` command line."""

import typer

app = typer.Typer(help="llmrec-train", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the package version."""
    from llmrec_train import __version__

    typer.echo(__version__)
