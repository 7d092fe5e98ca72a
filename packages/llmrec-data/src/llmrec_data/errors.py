"""The one exception type for bad input, and how it is shown."""

from __future__ import annotations

from llmrec_cli import BadInput


class DataError(BadInput):
    """Bad or missing input, with the file, line (or row) and field that caused it.

    `line` is 1-based for text files; `row` is 0-based for parquet. The CLI prints `str(err)`
    (`FILE, line N, field 'X': what was expected`, the format every llmrec package shares) and
    exits with status 2, never a traceback.
    """


class MissingRawDataError(DataError):
    """Raw files are absent and cannot be downloaded (offline, or no official URL)."""
