"""The `llmrec-eval` command line."""

import typer

app = typer.Typer(help="llmrec-eval", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the package version."""
    from llmrec_eval import __version__

    typer.echo(__version__)
