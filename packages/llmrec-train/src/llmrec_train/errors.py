"""The errors the CLI turns into one line and exit code 2 (bad input or settings).

Anything else is a bug or a failure of the machine and keeps its traceback (exit 1).
"""

from __future__ import annotations

from llmrec_cli import BadInput


class UsageError(BadInput, ValueError):
    """Bad settings or input: the user can fix it; the message says what was expected
    (`FILE, line N, field 'X': ...`, the format every llmrec package shares). The package's one
    bad-input type: the others below are its kinds."""


class ContractError(UsageError):
    """An input file does not follow docs/contracts.md."""


class ModelUnavailableError(UsageError):
    """The model is neither a local folder nor in the Hugging Face cache, and cannot be fetched."""
