"""The workspace's pipeline code behind tasks.py: what runs, in which folder, and when a stage is
skipped. tasks.py holds only the invoke tasks and their help; each module here says what it is:

- profiles: TOML profiles (configs/profiles/) with `extends` and `--set` overrides
- runs: the run folder (lock, input hashes, skip keys, manifest, one stage as a subprocess)
- stages: the recommendation pipeline's stages, their config files and the pre-flight check
- interests: the interest-summary pipeline
- grid, grid_tables: BIGRec's experiment grid (`invoke grid`) and its published-layout table and plot
- bench: the benchmark runner behind `invoke bench`
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The package CLIs live beside this interpreter (the workspace venv), even when PATH lacks it.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
