"""The base of every llmrec package's bad-input error, and its one message format."""

from __future__ import annotations

from pathlib import Path


class BadInput(Exception):
    """Bad input the user can fix: a file, a setting, a flag.

    Each package subclasses it once (llmrec-data `DataError`, llmrec-train `UsageError`, llmrec-eval
    `InputError`); the CLIs print `error: <message>` with no traceback and exit 2. Any other
    exception is a bug and keeps its traceback.

    The message reads `FILE, line N, field 'X': what was expected`: `line` is 1-based (text files),
    `row` 0-based (parquet, JSON lists); each part is left out when not known.
    """

    count_notes: bool = False
    """Subclasses may say how lines and rows are counted: `line 3 (1-based)`, `row 0 (0-based)`."""

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
        where = [] if self.file is None else [self.file]
        if self.line is not None:
            where.append(f"line {self.line}" + (" (1-based)" if self.count_notes else ""))
        if self.row is not None:
            where.append(f"row {self.row}" + (" (0-based)" if self.count_notes else ""))
        if self.field is not None:
            where.append(f"field {self.field!r}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text
