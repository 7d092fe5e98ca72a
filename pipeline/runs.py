"""A run folder: one invoke at a time (a lock), stage skip keys (command line, input hashes, the raw
files a stage reported reading), the input-hash cache, the run manifest, and one stage run as a
subprocess in its own process group (Ctrl-C stops it cleanly)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline import ROOT
from pipeline.torch_lock import loads_torch, torch_job


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(
    inputs: list[Path], cache: dict[str, dict[str, Any]] | None = None
) -> dict[str, str]:
    """sha256 of a stage's input files (folders: every file inside, sorted).

    `cache` maps a path to its last (size, mtime_ns, inode, sha256): a file whose (size, mtime,
    inode) is unchanged is not read again, so a no-op re-run costs a stat per file, not a read of
    every input (about 30 GB on the paper profile with MovieLens-10M). Atomic writes replace the
    inode, so a rewritten file is always hashed again.
    The trade-off: a rewrite in place that restores size and mtime is trusted unread (as make and
    rsync do); `--force` re-runs regardless.
    """
    files: list[Path] = []
    for p in inputs:
        files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    out = {}
    for f in files:
        state, known = file_state(f), (cache or {}).get(str(f), {})
        if all(known.get(k) == v for k, v in state.items()) and "sha256" in known:
            out[str(f)] = known["sha256"]
            continue
        out[str(f)] = sha256(f)
        if cache is not None:
            cache[str(f)] = {**state, "sha256": out[str(f)]}
    return out


def write_json(path: Path, data: Any) -> None:
    """Atomic write: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def write_text(path: Path, text: str) -> None:
    """Atomic write: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def file_state(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def reads_unchanged(reads: dict[str, dict[str, Any]]) -> bool:
    """Whether the files a stage reported reading still have the recorded content. A file whose
    (size, mtime, inode) is unchanged is taken as unchanged; any other is hashed again."""
    for name, recorded in reads.items():
        path = Path(name)
        if not path.is_file():
            return False
        state = file_state(path)
        if any(state[k] != recorded.get(k) for k in state) and sha256(path) != recorded["sha256"]:
            return False
    return True


def reported_reads(manifest: Path | None) -> dict[str, dict[str, Any]]:
    """The raw files a stage read, from the `inputs` list (path, sha256) of the manifest it wrote."""
    if manifest is None or not manifest.is_file():
        return {}
    listed = json.loads(manifest.read_text(encoding="utf-8")).get("inputs", [])
    if isinstance(listed, dict):  # {name: {path, sha256}} (interests) or a list of them (prepare)
        listed = list(listed.values())
    out = {}
    for entry in listed:
        if not isinstance(entry, dict) or not {"path", "sha256"} <= entry.keys():
            continue
        path = Path(entry["path"]).resolve()
        if path.is_file():
            out[str(path)] = {**file_state(path), "sha256": entry["sha256"]}
    return out


# Environment variables that change what a stage reads.
_KEY_ENV = ("LLMREC_DATA_HOME",)


class Interrupted(Exception):
    """SIGINT or SIGTERM reached invoke while a stage ran."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _signals_raise():
    """SIGINT and SIGTERM raise Interrupted here, so the stage's process group can be stopped."""

    def handler(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _stop(proc: subprocess.Popen, signum: int) -> None:
    """Stop a stage's process group: its own signal first (training saves nothing half-written and
    exits), then SIGTERM, then SIGKILL. A second Ctrl-C skips to SIGKILL."""
    for sig, wait in ((signum, 60), (signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        except Interrupted:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return


def stage_env() -> dict[str, str]:
    """The stage's (or a benchmark's) environment: torch uses every core this process may run on,
    deliberately: torch jobs run one at a time (torch_lock), so they never compete for them."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))
    return env


class Run:
    """A run folder and its stage stamps: a stage is skipped when its command line, its input files'
    hashes and the raw files it reported reading equal those of its last successful run and its
    outputs still exist. Stages run one at a time, in their own process group; one invoke at a time
    per run folder; a stage that loads torch first waits for the machine's torch lock (torch_lock),
    so two invoke processes never run torch jobs at once."""

    def __init__(self, folder: Path, force: bool) -> None:
        self.folder, self.force = folder, force
        self.stamps = folder / ".stages"
        self.manifest_path = folder / "manifest.json"
        self.manifest: dict[str, Any] = (
            json.loads(self.manifest_path.read_text()) if self.manifest_path.exists() else {}
        )
        folder.mkdir(parents=True, exist_ok=True)
        self.seen: list[str] = []  # stages run or skipped by this invocation, in order
        self.ran: list[str] = []  # stages this invocation ran (not skipped)
        self.hashes_path = folder / ".input-hashes.json"  # path -> size, mtime, inode, sha256
        self.hashes: dict[str, dict[str, Any]] = (
            json.loads(self.hashes_path.read_text()) if self.hashes_path.exists() else {}
        )
        self._lock = (folder / ".lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"{folder}: another invoke is running in this run folder") from None

    def stage(
        self,
        name: str,
        argv: list[str],
        inputs: list[Path],
        outputs: list[Path],
        reads_manifest: Path | None = None,
        legacy_argv: list[str] | None = None,
    ) -> None:
        """Run one stage. `reads_manifest`: a manifest the stage writes whose `inputs` list the
        files it read beyond `inputs` (e.g. raw data under LLMREC_DATA_HOME); they join the key.
        `legacy_argv`: the same command with its settings as flags instead of `--config FILE`, the
        key of a run folder made before config files (so its finished stages are kept)."""
        missing = [str(p) for p in inputs if not p.exists()]
        if missing:
            raise SystemExit(
                f"stage {name}: missing input(s) {', '.join(missing)}: run the earlier stages first"
            )
        key = {
            "argv": argv,
            "inputs": fingerprint(inputs, self.hashes),
            "env": {k: os.environ.get(k) for k in _KEY_ENV},
        }
        write_json(self.hashes_path, self.hashes)
        self.seen.append(name)
        stamp_path = self.stamps / f"{name}.json"
        stamp = json.loads(stamp_path.read_text()) if stamp_path.exists() else {}
        if legacy_argv is not None and "--config" in argv and stamp.get("key") != key:
            config_file = argv[argv.index("--config") + 1]
            legacy_inputs = {k: v for k, v in key["inputs"].items() if k != config_file}
            if stamp.get("key") == {**key, "argv": legacy_argv, "inputs": legacy_inputs}:
                stamp["key"] = key  # the same settings, now read from the config file
                if all(o.exists() for o in outputs):
                    write_json(stamp_path, stamp)
        if (
            not self.force
            and stamp.get("key") == key
            and reads_unchanged(stamp.get("reads", {}))
            and all(o.exists() for o in outputs)
        ):
            print(f"[skip] {name}: inputs and settings unchanged")
            # Provenance keeps the last real run's figures.
            self.manifest.setdefault("stages", {}).setdefault(
                name, {"argv": argv, "wall_time_s": stamp.get("wall_time_s")}
            )
            return
        print(f"[run ] {name}: {shlex.join(argv)}", flush=True)
        self.ran.append(name)
        job = torch_job(f"stage {name} of {self.folder}") if loads_torch(argv) else nullcontext()
        with job:
            start = time.perf_counter()
            code = self._run_stage(name, argv)
        if code != 0:
            print(f"stage {name} failed (exit {code}): {shlex.join(argv)}", file=sys.stderr)
            raise SystemExit(code if code > 0 else 1)
        seconds = round(time.perf_counter() - start, 1)
        reads = reported_reads(reads_manifest)
        write_json(stamp_path, {"key": key, "reads": reads, "wall_time_s": seconds})
        self.manifest.setdefault("stages", {})[name] = {"argv": argv, "wall_time_s": seconds}
        write_json(self.manifest_path, self.manifest)

    @staticmethod
    def _run_stage(name: str, argv: list[str]) -> int:
        """The stage's command in its own process group; its exit code. Ctrl-C stops it."""
        with _signals_raise():
            proc = subprocess.Popen(argv, env=stage_env(), start_new_session=True)
            try:
                return proc.wait()
            except Interrupted as e:
                _stop(proc, e.signum)
                how = "run the same command again to resume: finished stages are skipped"
                if name == "train":
                    how += ", training continues from its last checkpoint"
                print(
                    f"interrupted: stage {name} stopped ({e}); {how}", file=sys.stderr, flush=True
                )
                raise SystemExit(128 + e.signum) from None

    def settings_accepted(self, name: str, config: Path) -> bool:
        """Whether stage `name` last finished with this very config file (the same hash in its
        stamp), so its CLI has already accepted these settings and need not check them again."""
        stamp_path = self.stamps / f"{name}.json"
        if not stamp_path.is_file() or not config.is_file():
            return False
        recorded = json.loads(stamp_path.read_text()).get("key", {}).get("inputs", {})
        return recorded.get(str(config)) == fingerprint([config], self.hashes)[str(config)]

    def record_wall_time(self, invocation_s: float) -> None:
        """The run's wall time is the sum of its stages' last real runs (a skipped stage keeps its
        earlier time), so a no-op re-run does not report ~0 s; this invocation's time is kept apart."""
        stages = self.manifest.get("stages", {})
        total = sum(stages.get(n, {}).get("wall_time_s") or 0.0 for n in self.seen)
        self.manifest["wall_time_s"] = round(total, 1)
        self.manifest["invocation_wall_time_s"] = round(invocation_s, 1)
        write_json(self.manifest_path, self.manifest)


def versions() -> dict[str, str]:
    names = ["llmrec-data", "llmrec-train", "llmrec-eval", "torch", "transformers", "trl", "peft"]
    names += ["polars", "sentence-transformers", "numpy"]
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def device() -> str:
    """The device the stages will use, as "cuda xN" or "cpu". Asking torch costs its import (about
    8 s on a CPU machine, paid before a bad `--set` could be reported), so a machine with no GPU
    driver (neither NVIDIA's /proc/driver/nvidia nor ROCm's /dev/kfd, without which torch sees no
    GPU) is "cpu" without importing it."""
    if not any(Path(p).exists() for p in GPU_DRIVER_PATHS):
        return "cpu"
    try:
        import torch
    except ImportError:
        return "cpu"
    return f"cuda x{torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"


GPU_DRIVER_PATHS = ("/proc/driver/nvidia", "/dev/kfd")


def runs_dir() -> Path:
    """Where run folders live: $LLMREC_RUNS_DIR, else runs/ in the repository."""
    return Path(os.environ.get("LLMREC_RUNS_DIR", ROOT / "runs"))
