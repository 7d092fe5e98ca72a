"""`llmrec-eval interests ...` commands."""

import typer

app = typer.Typer(help="Interest summaries from watched-video topic labels.", no_args_is_help=True)
