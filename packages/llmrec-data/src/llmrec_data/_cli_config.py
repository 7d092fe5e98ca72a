"""How the CLI shows bad input (the commands themselves come from llmrec-cli's adapter)."""

from __future__ import annotations

from llmrec_cli import report

from llmrec_data.errors import DataError


def fail(err: DataError) -> None:
    """Show bad input as one `error: ...` line (no traceback) and exit with status 2."""
    raise report(err)
