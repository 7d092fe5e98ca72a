"""The one exception type for bad input, and how it is shown."""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """Bad or missing input, with the file, line (or row) and field that caused it.

    `line` is 1-based for text files; `row` is 0-based for parquet. The CLI prints `str(err)`
    and exits with status 2, never a traceback.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        row: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.row = row
        self.field = field
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class MissingRawDataError(DataError):
    """Raw files are absent and cannot be downloaded (offline, or no official URL)."""
