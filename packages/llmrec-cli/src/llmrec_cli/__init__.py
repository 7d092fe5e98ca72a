"""llmrec-cli: how every llmrec package turns a config dataclass into a command line.

One adapter (`command_from_config`: a `--flag` per field, `--config FILE`), one `check-config`
command, and the base of every package's bad-input error (`BadInput`, one message format).
It holds no llmrec logic and imports nothing of the other packages; they depend on it.
"""

from llmrec_cli.check import check, check_config_command
from llmrec_cli.command import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    checking,
    close_progress_bars,
    command_from_config,
    load_config,
    report,
)
from llmrec_cli.errors import BadInput

__version__ = "0.1.0"
__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "BadInput",
    "check",
    "check_config_command",
    "checking",
    "close_progress_bars",
    "command_from_config",
    "load_config",
    "report",
]
