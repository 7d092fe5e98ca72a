"""One torch job at a time on this machine, across every invoke process (pipeline, grid, interests,
bench): a stage that loads torch holds an exclusive lock file while it runs; a second one waits.

Why: two torch processes on a small machine each start one thread per core and fight over them; on
2 cores a generation beside another torch job ran about 17x slower than alone (issue 15), so running
them one after the other finishes both sooner. The lock is a file lock (flock): the kernel releases
it when its holder exits, killed or not, so a crash never leaves it held.

The file is $LLMREC_TORCH_LOCK, else llmrec-torch-jobs.lock in $XDG_RUNTIME_DIR, else in /tmp.
Two users (or a separate set of cores) that should not wait for each other set different files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_ENV = "LLMREC_TORCH_LOCK"
LOCK_NAME = "llmrec-torch-jobs.lock"

# Commands (program, subcommand) that never import torch. Every other stage is taken to load it,
# so a new command waits its turn until someone has checked it does not need to.
TORCH_FREE = {
    ("llmrec-data", "prepare"),
    ("llmrec-data", "interests"),
    ("llmrec-eval", "baseline"),
    ("llmrec-eval", "fuse"),
}


def lock_path() -> Path:
    """$LLMREC_TORCH_LOCK, else llmrec-torch-jobs.lock in $XDG_RUNTIME_DIR or /tmp."""
    if os.environ.get(LOCK_ENV):
        return Path(os.environ[LOCK_ENV])
    return Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / LOCK_NAME


def loads_torch(argv: list[str]) -> bool:
    """Whether a stage's command line may load torch (anything not known to be torch-free)."""
    return tuple(argv[:2]) not in TORCH_FREE


@contextlib.contextmanager
def torch_job(what: str) -> Iterator[None]:
    """Hold the machine's torch lock while the block runs; wait for it (saying so) if another
    llmrec torch job holds it. `what` names this job to a waiting one."""
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # "a+": opening must not erase the holder's line, which a waiting job prints.
    with path.open("a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            print(
                f"waiting for another llmrec torch job to finish ({holder}; lock {path}, "
                f"{LOCK_ENV} sets another) ...",
                file=sys.stderr,
                flush=True,
            )
            start = time.perf_counter()
            fcntl.flock(f, fcntl.LOCK_EX)
            waited = time.perf_counter() - start
            print(f"waited {waited:.0f} s for the torch lock", file=sys.stderr, flush=True)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}: {what}\n")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)
