"""llmrec-train: LoRA SFT with TRL and generation with constrained decoding."""

import logging

__version__ = "0.1.0"

# bitsandbytes logs, at import, that optional CPU 4-bit kernels (the `kernels` package) are missing; the
# built-in CPU path works, so the message is noise on every command.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
