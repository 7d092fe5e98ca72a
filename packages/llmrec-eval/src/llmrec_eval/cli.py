"""The `llmrec-eval` command line."""

import typer

from llmrec_eval.interests.cli import app as interests_app

app = typer.Typer(help="llmrec-eval", no_args_is_help=True)
app.add_typer(interests_app, name="interests")


@app.command()
def version() -> None:
    """Print the package version."""
    from llmrec_eval import __version__

    typer.echo(__version__)
