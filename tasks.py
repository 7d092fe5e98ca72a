"""invoke tasks: wire the llmrec packages together through their CLIs and files.

Tasks hold no modelling logic: every stage is one package's CLI, run in a run folder
`runs/<dataset>/<run>/`. What lives here is only the wiring: which profile section each stage's CLI
gets (profiles are TOML files in configs/profiles/; each stage's resolved settings are written to
RUN/configs/STAGE.toml and checked by its CLI before the first stage runs), skipping stages whose
command, config and inputs are unchanged, and the run manifest.

    invoke pipeline --dataset movie-small             # CPU-sized default profile
    invoke pipeline --dataset movie --profile paper   # BIGRec's settings (GPU)
    invoke pipeline --dataset movie-small --set train.epochs=2 --set generate.num_beams=8
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import itertools
import json
import math
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from invoke import Context, task

ROOT = Path(__file__).resolve().parent
# The package CLIs live beside this interpreter (the workspace venv), even when PATH lacks it.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
DATASETS = ("movie", "movie-1m", "movie-small", "game", "game-small", "custom")
SCORE_FILES = ("scores.parquet", "scores.meta.json")  # one folder per split (docs/contracts.md)

# Profiles are TOML files in configs/profiles/ (one table per stage section, each key an option of
# that stage's CLI); `--profile NAME` picks configs/profiles/NAME.toml, `--profile PATH.toml` any file.
PROFILES_DIR = ROOT / "configs" / "profiles"
# Profile sections and the CLI command their options belong to (checked before any stage runs).
SECTIONS = {
    "data": "llmrec-data prepare",
    "embed": "llmrec-data embed",
    "train": "llmrec-train train",
    "generate": "llmrec-train generate",
    "sasrec": "llmrec-train recommend --model sasrec",
    "transition": "llmrec-train recommend --model transition",
    "rank": "llmrec-train rank",
    "evaluate": "llmrec-eval evaluate",
    "fuse": "llmrec-eval fuse",
}


# --------------------------------------------------------------------------------------------
# wiring helpers


def _flags(options: dict[str, Any]) -> list[str]:
    """CLI flags from a profile section: `n_train=1024` -> `--n-train 1024`."""
    out: list[str] = []
    for key, value in options.items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + key.replace("_", "-"))
        else:
            out += [flag, str(value)]
    return out


def _parse_value(text: str) -> Any:
    """`--set` values: JSON where it parses (numbers, true/false, null), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class Settings(dict):
    """A resolved profile, {section: {option: value}}, that remembers where each value came from
    (`origins[(section, option)]`: "configs/profiles/cpu.toml, line 12" or "--set train.epochs=2"),
    so a bad value is reported where the user can fix it."""

    def __init__(self, sections: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__(sections or {})
        self.origins: dict[tuple[str, str], str] = {}


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def _profile_path(spec: str, base: Path = PROFILES_DIR) -> Path:
    """`NAME` -> configs/profiles/NAME.toml; a path (ends in .toml or has a slash) is taken as
    given (relative to `base` for a profile's `extends`, else to the current folder)."""
    if spec.endswith(".toml") or os.sep in spec or "/" in spec:
        path = Path(spec).expanduser()
        return path if path.is_absolute() or base == PROFILES_DIR else base / path
    return PROFILES_DIR / f"{spec}.toml"


def _toml_line(path: Path, table: str | None, key: str) -> int | None:
    """The 1-based line of `key = ...` in `[table]` (None: top level) of a TOML file, if found."""
    current: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if text.startswith("[") and not text.startswith("[["):
            current = text.strip("[] ").strip('"')
            if table is None and current == key:
                return number
        elif current == table and text.partition("=")[0].strip().strip('"') == key:
            return number
    return None


def _where(path: Path, table: str | None, key: str) -> str:
    line = _toml_line(path, table, key)
    return f"{_shown(path)}" + (f", line {line}" if line else "")


def _closest(word: str, choices: Any) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _load_profile(spec: str, base: Path = PROFILES_DIR, chain: tuple[Path, ...] = ()) -> Settings:
    """A profile file, after its `extends` (if any): each table updates the inherited one key by
    key. Unknown sections and values that are not plain (numbers, strings, booleans, lists) fail."""
    import tomllib

    path = _profile_path(spec, base)
    if not path.is_file():
        hint = "" if path.parent != PROFILES_DIR else _closest(spec, _profile_names())
        at = f"{_where(chain[-1], None, 'extends')}, field 'extends': " if chain else ""
        raise SystemExit(
            f"error: {at}unknown profile {spec!r} ({_shown(path)} does not exist): {hint}expected "
            f"one of {', '.join(_profile_names())} or the path of a .toml file"
        )
    if path.resolve() in chain:
        raise SystemExit(f"error: {_shown(path)}: `extends` loops back to itself")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise SystemExit(f"error: {_shown(path)}: not valid TOML: {err}") from None
    extends = doc.pop("extends", None)
    if extends is not None and not isinstance(extends, str):
        raise SystemExit(
            f"error: {_where(path, None, 'extends')}, field 'extends': expected a profile name "
            f"or a path (a string), got {extends!r}"
        )
    settings = (
        Settings()
        if extends is None
        else _load_profile(extends, path.parent, (*chain, path.resolve()))
    )
    for section, table in doc.items():
        if section not in SECTIONS:
            raise SystemExit(
                f"error: {_where(path, None, section)}: unknown section [{section}]: "
                f"{_closest(section, SECTIONS)}expected one of {', '.join(SECTIONS)} (or `extends`)"
            )
        if not isinstance(table, dict):
            raise SystemExit(
                f"error: {_where(path, None, section)}, field {section!r}: expected a table "
                f"[{section}] of options, got {table!r}"
            )
        target = settings.setdefault(section, {})
        for key, value in table.items():
            if isinstance(value, dict):
                raise SystemExit(
                    f"error: {_where(path, section, key)}, field '{section}.{key}': expected a "
                    "number, string, boolean or list, got a table"
                )
            target[key] = value
            settings.origins[(section, key)] = _where(path, section, key)
    return settings


def _resolve_profile(
    profile: str, overrides: list[str], profiles: dict[str, dict[str, dict[str, Any]]] | None = None
) -> Settings:
    """The profile (a file; or a name in `profiles`, the interests pipeline's dicts) with the
    `--set STAGE.OPTION=VALUE` overrides applied. Whether each option exists and its value is valid
    is checked by the stage's CLI (`_check_configs`), not here."""
    if profiles is None:
        settings = _load_profile(profile)
    elif profile in profiles:
        settings = Settings(copy.deepcopy(profiles[profile]))
    else:
        raise SystemExit(f"unknown profile {profile!r}: expected one of {', '.join(profiles)}")
    sections = SECTIONS if profiles is None else settings
    for item in overrides:
        key, sep, value = item.partition("=")
        stage, dot, option = key.partition(".")
        if not sep or not dot or not option or stage not in sections:
            raise SystemExit(
                f"error: --set {item!r}: {_closest(stage, sections) if dot else ''}expected "
                f"STAGE.OPTION=VALUE with STAGE one of {', '.join(sections)}"
            )
        option = option.replace("-", "_")
        settings.setdefault(stage, {})[option] = _parse_value(value)
        settings.origins[(stage, option)] = f"--set {item}"
    return settings


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(
    inputs: list[Path], cache: dict[str, dict[str, Any]] | None = None
) -> dict[str, str]:
    """sha256 of a stage's input files (folders: every file inside, sorted).

    `cache` maps a path to its last (size, mtime_ns, inode, sha256): a file whose (size, mtime,
    inode) is unchanged is not read again, so a no-op re-run costs a stat per file, not a read of
    every input (about 30 GB on the paper profile with MovieLens-10M). Atomic writes replace the
    inode, so a rewritten file is always hashed again.
    """
    files: list[Path] = []
    for p in inputs:
        files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    out = {}
    for f in files:
        state, known = _file_state(f), (cache or {}).get(str(f), {})
        if all(known.get(k) == v for k, v in state.items()) and "sha256" in known:
            out[str(f)] = known["sha256"]
            continue
        out[str(f)] = _sha256(f)
        if cache is not None:
            cache[str(f)] = {**state, "sha256": out[str(f)]}
    return out


def _write_json(path: Path, data: Any) -> None:
    """Atomic write: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _file_state(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _reads_unchanged(reads: dict[str, dict[str, Any]]) -> bool:
    """Whether the files a stage reported reading still have the recorded content. A file whose
    (size, mtime, inode) is unchanged is taken as unchanged; any other is hashed again."""
    for name, recorded in reads.items():
        path = Path(name)
        if not path.is_file():
            return False
        state = _file_state(path)
        if any(state[k] != recorded.get(k) for k in state) and _sha256(path) != recorded["sha256"]:
            return False
    return True


def _reported_reads(manifest: Path | None) -> dict[str, dict[str, Any]]:
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
            out[str(path)] = {**_file_state(path), "sha256": entry["sha256"]}
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


def _stage_env() -> dict[str, str]:
    """The stage's environment: torch uses every core this process may run on, deliberately (stages
    run one at a time, so they never compete for them)."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))
    return env


class Run:
    """A run folder and its stage stamps: a stage is skipped when its command line, its input files'
    hashes and the raw files it reported reading equal those of its last successful run and its
    outputs still exist. Stages run one at a time, in their own process group; one invoke at a time
    per run folder."""

    def __init__(self, c: Context, folder: Path, force: bool) -> None:
        self.c, self.folder, self.force = c, folder, force
        self.stamps = folder / ".stages"
        self.manifest_path = folder / "manifest.json"
        self.manifest: dict[str, Any] = (
            json.loads(self.manifest_path.read_text()) if self.manifest_path.exists() else {}
        )
        folder.mkdir(parents=True, exist_ok=True)
        self.seen: list[str] = []  # stages run or skipped by this invocation, in order
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
            "inputs": _fingerprint(inputs, self.hashes),
            "env": {k: os.environ.get(k) for k in _KEY_ENV},
        }
        _write_json(self.hashes_path, self.hashes)
        self.seen.append(name)
        stamp_path = self.stamps / f"{name}.json"
        stamp = json.loads(stamp_path.read_text()) if stamp_path.exists() else {}
        if legacy_argv is not None and "--config" in argv and stamp.get("key") != key:
            config_file = argv[argv.index("--config") + 1]
            legacy_inputs = {k: v for k, v in key["inputs"].items() if k != config_file}
            if stamp.get("key") == {**key, "argv": legacy_argv, "inputs": legacy_inputs}:
                stamp["key"] = key  # the same settings, now read from the config file
                if all(o.exists() for o in outputs):
                    _write_json(stamp_path, stamp)
        if (
            not self.force
            and stamp.get("key") == key
            and _reads_unchanged(stamp.get("reads", {}))
            and all(o.exists() for o in outputs)
        ):
            print(f"[skip] {name}: inputs and settings unchanged")
            # Provenance keeps the last real run's figures.
            self.manifest.setdefault("stages", {}).setdefault(
                name, {"argv": argv, "wall_time_s": stamp.get("wall_time_s")}
            )
            return
        print(f"[run ] {name}: {shlex.join(argv)}", flush=True)
        start = time.perf_counter()
        with _signals_raise():
            proc = subprocess.Popen(argv, env=_stage_env(), start_new_session=True)
            try:
                code = proc.wait()
            except Interrupted as e:
                _stop(proc, e.signum)
                how = "run the same command again to resume: finished stages are skipped"
                if name == "train":
                    how += ", training continues from its last checkpoint"
                print(
                    f"interrupted: stage {name} stopped ({e}); {how}", file=sys.stderr, flush=True
                )
                raise SystemExit(128 + e.signum) from None
        if code != 0:
            print(f"stage {name} failed (exit {code}): {shlex.join(argv)}", file=sys.stderr)
            raise SystemExit(code if code > 0 else 1)
        seconds = round(time.perf_counter() - start, 1)
        reads = _reported_reads(reads_manifest)
        _write_json(stamp_path, {"key": key, "reads": reads, "wall_time_s": seconds})
        self.manifest.setdefault("stages", {})[name] = {"argv": argv, "wall_time_s": seconds}
        _write_json(self.manifest_path, self.manifest)

    def record_wall_time(self, invocation_s: float) -> None:
        """The run's wall time is the sum of its stages' last real runs (a skipped stage keeps its
        earlier time), so a no-op re-run does not report ~0 s; this invocation's time is kept apart."""
        stages = self.manifest.get("stages", {})
        total = sum(stages.get(n, {}).get("wall_time_s") or 0.0 for n in self.seen)
        self.manifest["wall_time_s"] = round(total, 1)
        self.manifest["invocation_wall_time_s"] = round(invocation_s, 1)
        _write_json(self.manifest_path, self.manifest)


def _versions() -> dict[str, str]:
    names = ["llmrec-data", "llmrec-train", "llmrec-eval", "torch", "transformers", "trl", "peft"]
    names += ["polars", "sentence-transformers", "numpy"]
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    return f"cuda x{torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"


# --------------------------------------------------------------------------------------------
# tasks


@task
def lint(c: Context) -> None:
    """ruff lint and format check."""
    c.run("ruff check .", pty=False)
    c.run("ruff format --check .", pty=False)


# The fast tier: everything but the tests marked as loading a model (root pyproject's markers).
FAST_TESTS = "not slow and not torch"


@task(pre=[lint], help={"fast": f"only the fast tier: pytest -m '{FAST_TESTS}' (no model loaded)"})
def test(c: Context, fast: bool = False) -> None:
    """Lint, then every package's tests and the workspace's end-to-end tests (--fast: no model)."""
    c.run(f"pytest -m '{FAST_TESTS}'" if fast else "pytest", pty=False)


# --------------------------------------------------------------------------------------------
# the recommendation pipeline: stages as (name, argv, inputs, outputs)


def _run_folder(dataset: str, run: str | None, profile: str) -> Path:
    if dataset not in DATASETS:
        raise SystemExit(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    runs = Path(os.environ.get("LLMREC_RUNS_DIR", ROOT / "runs"))
    # `--profile path/to/mine.toml` runs in runs/<dataset>/mine
    return runs / dataset / (run or (Path(profile).stem if profile.endswith(".toml") else profile))


class _Opts:
    """Settings of a stage's CLI taken from profile section `section`: `_stages` writes them into
    the stage's config file (RUN/configs/STAGE.toml) and passes `--config` that file."""

    def __init__(self, options: dict[str, Any], section: str) -> None:
        self.options, self.section = options, section


def _opts(options: dict[str, Any], section: str) -> _Opts:
    return _Opts(options, section)


def _toml_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if math.isfinite(value) else str(value)  # inf, -inf, nan
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are TOML escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    raise SystemExit(f"error: {where}: expected a number, string, boolean or list, got {value!r}")


class StageConfig(NamedTuple):
    """A stage's config file: its TOML text and where each key came from (for error messages)."""

    stage: str
    text: str
    origins: dict[str, tuple[str, str]]  # key -> (profile file and line, or `--set ...`; section)
    legacy_argv: list[str]  # the command line before config files: settings as flags


def _stages(
    dataset: str,
    folder: Path,
    config: dict[str, dict[str, Any]],
    configs: dict[Path, StageConfig] | None = None,
) -> list[tuple[str, list[str], list[Path], list[Path], Path | None]]:
    """Every stage as (name, argv, inputs, outputs, reads manifest). Each stage's settings are in
    its config file RUN/configs/NAME.toml (`--config`; the file is one of its inputs, so a changed
    setting re-runs the stage); `configs`, if given, receives each file's text. Paths stay flags."""
    origins = getattr(config, "origins", {})
    out = []
    for name, argv, inputs, outputs, reads in _stage_commands(dataset, folder, config):
        options: dict[str, Any] = {}
        came_from: dict[str, tuple[str, str]] = {}
        for item in argv:
            if isinstance(item, _Opts):
                for key, value in item.options.items():
                    if value is None:
                        options.pop(key, None)
                        continue
                    options[key] = value
                    origin = origins.get((item.section, key), f"profile section [{item.section}]")
                    came_from[key] = (origin, item.section)
        path = folder / "configs" / f"{name}.toml"
        lines = [f"# stage {name}: the options of `{shlex.join(argv[:2])}` (paths are flags)"]
        lines += [f"{k} = {_toml_value(options[k], came_from[k][0])}" for k in sorted(options)]
        if configs is not None:
            text = "\n".join(lines) + "\n"
            configs[path] = StageConfig(name, text, came_from, _as_flags(argv))
        argv = [a for a in argv if not isinstance(a, _Opts)] + ["--config", str(path)]
        out.append((name, argv, [*inputs, path], outputs, reads))
    return out


def _as_flags(argv: list[Any]) -> list[str]:
    """The command line as it was before config files (adjacent settings merged, as flags): a
    stage finished then, with the same settings, is not run again."""
    out: list[str] = []
    pending: dict[str, Any] | None = None
    for item in [*argv, None]:
        if isinstance(item, _Opts):
            pending = {**(pending or {}), **item.options}
            continue
        if pending is not None:
            out += _flags(pending)
            pending = None
        if item is not None:
            out.append(item)
    return out


def _write_configs(configs: dict[Path, StageConfig]) -> None:
    """Write each stage's config file, atomically, unless it already holds the same text (an
    unchanged file keeps its inode and mtime, so its hash is not even recomputed)."""
    for path, stage in configs.items():
        if path.is_file() and path.read_text(encoding="utf-8") == stage.text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(stage.text, encoding="utf-8")
        tmp.replace(path)


_PROGRAMS = {
    "llmrec-data": "llmrec-data",
    "llmrec-train": "llmrec-train",
    "llmrec_train": "llmrec-train",
}
_PROGRAMS["llmrec-eval"] = "llmrec-eval"


def _check_stages(
    stages: list[tuple[str, list[str], list[Path], list[Path], Path | None]],
    configs: dict[Path, StageConfig],
) -> None:
    """Every stage's command line, checked by its own CLI (`check-config`: the options parsed and
    the config built, nothing run) before the first stage starts: one process per package, about
    a second in all. A bad option or value exits 2 naming the key and the profile file line or
    `--set` it came from."""
    import tempfile

    batches: dict[str, list[tuple[str, list[str]]]] = {}
    for name, argv, *_ in stages:
        at = next((i for i, a in enumerate(argv) if a in _PROGRAMS), None)
        if at is not None:
            batches.setdefault(_PROGRAMS[argv[at]], []).append((name, argv[at + 1 :]))
    with tempfile.TemporaryDirectory(prefix="llmrec-check-") as tmp:
        procs = {}
        for program, lines in batches.items():
            commands = Path(tmp) / f"{program}.json"
            commands.write_text(json.dumps([argv for _, argv in lines]), encoding="utf-8")
            procs[program] = subprocess.Popen(
                [program, "check-config", "--json", "--commands", str(commands)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        problems: dict[str, list[str]] = {}
        for program, proc in procs.items():
            stdout, stderr = proc.communicate()
            try:
                results = json.loads(stdout)
            except json.JSONDecodeError:
                raise SystemExit(
                    f"error: `{program} check-config` failed (exit {proc.returncode}): "
                    f"{stderr.strip()[-2000:]}"
                ) from None
            for (name, _), result in zip(batches[program], results, strict=True):
                if not result["ok"]:
                    text, stage = _explain(result, configs)
                    problems.setdefault(text, []).append(stage or name)
    if problems:
        for text, names in problems.items():
            print(f"error: {text} (stage {', '.join(names)})", file=sys.stderr)
        print("nothing was run: fix the settings above", file=sys.stderr)
        raise SystemExit(2)


def _explain(result: dict[str, Any], configs: dict[Path, StageConfig]) -> tuple[str, str | None]:
    """A check-config failure, located where the user set the value: the profile file and line,
    or the `--set` override (the stage's own config file is written from those)."""
    error: str = result["error"]
    stage = configs.get(Path(result["file"])) if result.get("file") else None
    if stage is None:  # not from a config file: the dataclass's own checks name the flag
        for path in _stage_config_paths(result["argv"]):
            stage = configs.get(path)
        if stage is None:
            return error, None
        named = [
            k for k in stage.origins if re.search(rf"(--{k.replace('_', '-')}|\b{k})\b", error)
        ]
        where = "; ".join(f"{s}.{k} from {o}" for k in named for o, s in [stage.origins[k]])
        return (f"{where}: {error}" if where else error), stage.stage
    # the CLI's own location (`FILE, line N[ (1-based)], field 'X': `) is replaced by the user's
    prefix = ", ".join(
        [re.escape(result["file"])]
        + ([rf"line {result['line']}(?: \([^)]*\))?"] if result.get("line") else [])
        + ([re.escape(f"field {result['field']!r}")] if result.get("field") else [])
    )
    message = re.sub(f"^{prefix}: ", "", error)
    key = result.get("field") or ""
    if key not in stage.origins:
        return error, stage.stage
    origin, section = stage.origins[key]
    return f"{origin}, field '{section}.{key}': {message}", stage.stage


def _stage_config_paths(argv: list[str]) -> list[Path]:
    return [Path(v) for k, v in itertools.pairwise(argv) if k == "--config"]


def _stage_commands(
    dataset: str, folder: Path, config: dict[str, dict[str, Any]]
) -> list[tuple[str, list[Any], list[Path], list[Path], Path | None]]:
    data, adapter, preds, ev = (folder / n for n in ("data", "adapter", "predictions", "eval"))
    items, emb = data / "items.parquet", data / "item_embeddings.npy"
    train, valid, test = (data / f"{s}.jsonl" for s in ("train", "valid", "test"))
    # Generation uses the base model the adapter was trained on, unless told otherwise.
    inherited = {k: v for k, v in config["train"].items() if k in ("model", "quantization")}
    gen = [_opts(inherited, "train"), _opts(config["generate"], "generate")]
    evaluate = config["evaluate"]
    eval_common = ["--items", str(items), "--embeddings", str(emb), "--train", str(train)]

    def generate(
        split: Path, out: str, lora: bool
    ) -> tuple[str, list[str], list[Path], list[Path], None]:
        argv = ["llmrec-train", "generate", "--examples", str(split), "--items", str(items)]
        argv += ["--out", str(preds / out / "predictions.jsonl"), *gen]
        inputs = [split, items]
        if lora:
            argv += ["--adapter", str(adapter)]
            inputs += [adapter / n for n in ("adapter_model.safetensors", "adapter_config.json")]
            inputs.append(adapter / "llmrec_train.json")  # the prompt template generation reuses
        return f"generate-{out}", argv, inputs, [preds / out / "predictions.jsonl"], None

    sources = folder / "scores"  # rows' rankings as score files (docs/contracts.md), for `fuse`

    def score(
        name: str,
        argv: list[str],
        inputs: list[Path],
        stage: str = "evaluate",
        exports: list[str] = (),
    ):
        out = ev / name
        # ablation rows of a fusion land beside it (`OUT-without-GROUP`)
        extra = [ev / f"{name}-without-{group}" / "metrics.json" for group in ablations(argv)]
        return (
            f"{stage}-{name}",
            [*argv, "--out", str(out), "--name", name],
            inputs,
            [out / "metrics.json", *extra]
            + [
                sources / e / s / f for e in exports for s in ("valid", "test") for f in SCORE_FILES
            ],
            None,
        )

    def ablations(argv: list[str]) -> list[str]:
        return [v.partition("=")[0] for k, v in itertools.pairwise(argv) if k == "--ablate"]

    llm_eval = ["llmrec-eval", "evaluate", *eval_common, "--examples", str(test)]
    # Popularity baselines skip the user's own history when the LLM runs do (the content
    # baseline always does): the same candidate set for every row of the table.
    pop_flags = (
        [_opts({"exclude_history": True}, "evaluate")] if evaluate.get("exclude_history") else []
    )
    reweighted = {k: v for k, v in evaluate.items()}
    rec = folder / "recommend"

    def recommend(model: str) -> tuple[str, list[str], list[Path], list[Path], None]:
        # The same candidate rule as the evaluation rows: history items excluded or not.
        options = [
            _opts({"exclude_history": bool(evaluate.get("exclude_history"))}, "evaluate"),
            _opts(config[model], model),
        ]
        argv = ["llmrec-train", "recommend", "--model", model, "--train", str(train)]
        argv += ["--valid", str(valid), "--test", str(test), "--items", str(items)]
        argv += ["--out", str(rec / model), *options]
        outputs = [rec / model / s / f for s in ("valid", "test") for f in SCORE_FILES]
        return f"recommend-{model}", argv, [train, valid, test, items], outputs, None

    raw = {k: v for k, v in evaluate.items() if k not in ("reweight", "gamma_grid")}
    llm_sources = ("llm-lora", "rank-lora") if "rank" in config else ("llm-lora",)
    fused = [(n, rec / n) for n in ("sasrec", "transition")]
    fused += [(n, sources / n) for n in ("content", "recent-popular", "llm-lora")]
    if "rank" in config:
        fused.append(("rank-lora", folder / "rank" / "lora"))

    def rank_stage(split: Path, lora: bool) -> tuple[str, list[str], list[Path], list[Path], None]:
        kind, name = ("lora" if lora else "base"), split.stem  # valid / test
        out = folder / "rank" / kind / name
        candidates = [rec / "sasrec", rec / "transition", sources / "content", sources / "llm-lora"]
        argv = ["llmrec-train", "rank", "--examples", str(split), "--items", str(items)]
        argv += [a for c in candidates for a in ("--candidates", str(c / name))]
        argv += ["--out", str(out), _opts(config["rank"], "rank")]
        argv += pop_flags
        inputs = [split, items, *(c / name / f for c in candidates for f in SCORE_FILES)]
        if lora:  # the base model is the adapter's (llmrec_train.json)
            argv += ["--adapter", str(adapter)]
            inputs += [adapter / n for n in ("adapter_model.safetensors", "adapter_config.json")]
            inputs.append(adapter / "llmrec_train.json")
        elif "model" in config["train"]:
            argv.append(_opts({"model": config["train"]["model"]}, "train"))
        return f"rank-{kind}-{name}", argv, inputs, [out / f for f in SCORE_FILES], None

    base_inputs = [items, emb, train, test]
    return [
        (
            "data",
            ["llmrec-data", "prepare", "--dataset", dataset, "--out", str(data)]
            + [_opts(config["data"], "data")],
            [],
            [items, train, valid, test],
            data / "manifest.json",
        ),
        (
            "embed",
            ["llmrec-data", "embed", "--data", str(data), _opts(config.get("embed", {}), "embed")],
            [items],
            [emb],
            None,
        ),
        (
            "train",
            # LLMREC_TRAIN_LAUNCHER swaps the command, e.g. for several GPUs:
            # "accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m llmrec_train"
            shlex.split(os.environ.get("LLMREC_TRAIN_LAUNCHER", "llmrec-train"))
            + ["train", "--train-file", str(train), "--valid-file", str(valid)]
            # llmrec-train resumes a checkpoint only if it was made with the same settings and data.
            + ["--output-dir", str(adapter), _opts(config["train"], "train"), "--resume", "auto"],
            [train, valid],
            [adapter / "adapter_model.safetensors"],
            None,
        ),
        generate(valid, "valid-lora", lora=True),
        generate(test, "test-lora", lora=True),
        generate(test, "test-base", lora=False),
        recommend("sasrec"),
        recommend("transition"),
        # The raw LLM row also hands its ranking (valid and test) to the fusion as a score source.
        score(
            "llm-lora",
            [
                *llm_eval,
                "--predictions",
                str(preds / "test-lora/predictions.jsonl"),
                _opts(raw, "evaluate"),
            ]
            + ["--valid-predictions", str(preds / "valid-lora/predictions.jsonl")]
            + ["--valid-examples", str(valid), "--write-scores", str(sources / "llm-lora")],
            [*base_inputs, preds / "test-lora/predictions.jsonl"]
            + [preds / "valid-lora/predictions.jsonl", valid],
            exports=["llm-lora"],
        ),
        score(
            f"llm-lora+{evaluate.get('reweight', 'none')}",
            [*llm_eval, "--predictions", str(preds / "test-lora/predictions.jsonl")]
            + ["--valid-predictions", str(preds / "valid-lora/predictions.jsonl")]
            + ["--valid-examples", str(valid), _opts(reweighted, "evaluate")],
            [*base_inputs, preds / "test-lora/predictions.jsonl"]
            + [preds / "valid-lora/predictions.jsonl", valid],
        ),
        score(
            "llm-base",
            [
                *llm_eval,
                "--predictions",
                str(preds / "test-base/predictions.jsonl"),
                _opts(raw, "evaluate"),
            ],
            [*base_inputs, preds / "test-base/predictions.jsonl"],
        ),
        score(
            "most-popular",
            ["llmrec-eval", "baseline", "most-popular", "--examples", str(test)]
            + ["--items", str(items), "--train", str(train), *pop_flags],
            [test, items, train],
            "baseline",
        ),
        score(
            "recent-popular",
            ["llmrec-eval", "baseline", "recent-popular", "--examples", str(test)]
            + ["--items", str(items), "--train", str(train), *pop_flags]
            + ["--valid-examples", str(valid), "--write-scores", str(sources / "recent-popular")],
            [test, valid, items, train],
            "baseline",
            exports=["recent-popular"],
        ),
        *(
            score(
                model,
                ["llmrec-eval", "baseline", "scores", "--scores", str(rec / model / "test")]
                + ["--examples", str(test), "--items", str(items), *pop_flags],
                [*(rec / model / "test" / f for f in SCORE_FILES), test, items],
                "baseline",
            )
            for model in ("sasrec", "transition")
        ),
        # BIGRec's collaborative grounding: the LLM's ranking re-weighted by SASRec's scores,
        # gamma swept on valid.
        score(
            "llm-lora+sasrec",
            [*llm_eval, "--predictions", str(preds / "test-lora/predictions.jsonl")]
            + ["--valid-predictions", str(preds / "valid-lora/predictions.jsonl")]
            + [
                "--valid-examples",
                str(valid),
                _opts({**reweighted, "reweight": "scores"}, "evaluate"),
            ]
            + [
                "--scores",
                str(rec / "sasrec" / "test"),
                "--valid-scores",
                str(rec / "sasrec" / "valid"),
            ],
            [
                *base_inputs,
                preds / "test-lora/predictions.jsonl",
                preds / "valid-lora/predictions.jsonl",
                valid,
            ]
            + [rec / "sasrec" / s / f for s in ("valid", "test") for f in SCORE_FILES],
        ),
        score(
            "content",
            ["llmrec-eval", "baseline", "content", "--examples", str(test), *eval_common]
            + ["--valid", str(valid), "--write-scores", str(sources / "content")],
            [test, valid, items, emb, train],
            "baseline",
            exports=["content"],
        ),
        # The LLM as a ranker of the other rows' candidates (LoRA on for valid and test: a fusion
        # source; LoRA off on test: the comparison row). Profiles without a `rank` section skip it.
        *(
            rank_stage(split, lora)
            for split, lora in ((valid, True), (test, True), (test, False))
            if "rank" in config
        ),
        *(
            score(
                f"rank-{kind}",
                [
                    "llmrec-eval",
                    "baseline",
                    "scores",
                    "--scores",
                    str(folder / "rank" / kind / "test"),
                ]
                + ["--examples", str(test), "--items", str(items), *pop_flags],
                [*(folder / "rank" / kind / "test" / f for f in SCORE_FILES), test, items],
                "baseline",
            )
            for kind in ("lora", "base")
            if "rank" in config
        ),
        # Every source at once, weights chosen on valid; ablation rows re-tuned without the LLM's
        # sources and without the collaborative ones (llmrec-eval README, "Fusion").
        score(
            "fusion",
            ["llmrec-eval", "fuse", *(a for n, d in fused for a in ("--source", f"{n}={d}"))]
            + ["--examples", str(test), "--valid-examples", str(valid), "--items", str(items)]
            + pop_flags
            + ["--ablate", "llm=" + ",".join(n for n, _ in fused if n in llm_sources)]
            + ["--ablate", "collab=sasrec,transition", _opts(config.get("fuse", {}), "fuse")],
            [valid, test, items]
            + [d / s / f for _, d in fused for s in ("valid", "test") for f in SCORE_FILES],
            "fuse",
        ),
    ]


def _start(dataset: str, profile: str, run: str | None, overrides: list[str] | None, force: bool):
    config = _resolve_profile(profile, overrides or [])
    folder = _run_folder(dataset, run, profile)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"llmrec: dataset={dataset} profile={profile} device={_device()} run={folder}")
    return config, folder, force


def _run_stages(
    c: Context, dataset: str, folder: Path, config, force: bool, only: tuple[str, ...] | None
):
    run = Run(c, folder, force)
    run.manifest.update(
        {
            "dataset": dataset,
            "config": config,
            "versions": _versions(),
            "git_commit": _git_commit(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "device": _device(),
        }
    )
    configs: dict[Path, StageConfig] = {}
    stages = _stages(dataset, folder, config, configs)
    _write_configs(configs)
    _check_stages(stages, configs)  # every stage, before the first one runs
    for name, argv, inputs, outputs, reads in stages:
        if only is None or name.split("-")[0] in only:
            legacy = configs[Path(argv[-1])].legacy_argv
            run.stage(name, argv, inputs, outputs, reads, legacy)
    return run


_HELP = {
    "dataset": f"one of {', '.join(DATASETS)}",
    "profile": f"settings profile: {', '.join(_profile_names())} (configs/profiles/NAME.toml), "
    "or the path of a .toml file",
    "run": "run folder name under runs/<dataset>/ (default: the profile's name)",
    "set": "override one setting, STAGE.OPTION=VALUE (repeatable), e.g. train.epochs=2",
    "force": "redo stages even when their inputs and settings are unchanged",
}


def _stage_task(stage: str, doc: str, only: tuple[str, ...]):
    @task(name=stage, help=_HELP, iterable=["set_"])
    def run_stage(
        c: Context,
        dataset: str = "movie-small",
        profile: str = "cpu",
        run: str | None = None,
        set_: list[str] | None = None,
        force: bool = False,
    ) -> None:
        config, folder, force = _start(dataset, profile, run, set_, force)
        _run_stages(c, dataset, folder, config, force, only=only)

    run_stage.__doc__ = doc
    run_stage.body.__doc__ = doc
    return run_stage


data = _stage_task("data", "Prepare a dataset (llmrec-data prepare).", ("data",))
embed = _stage_task("embed", "Embed item titles (llmrec-data embed).", ("embed",))
train = _stage_task("train", "LoRA SFT (llmrec-train train); resumes a checkpoint.", ("train",))
generate = _stage_task("generate", "Generate for valid/test, LoRA on and off.", ("generate",))
recommend = _stage_task(
    "recommend", "Train SASRec and item transitions; scores for valid/test.", ("recommend",)
)
baselines = _stage_task("baselines", "Score the no-LLM baselines.", ("baseline",))
evaluate = _stage_task(
    "evaluate",
    "Ground and score LLM outputs and baselines; fuse them.",
    ("evaluate", "baseline", "fuse"),
)


def _has_results(folder: Path) -> bool:
    return any(folder.glob("eval/*/metrics.json"))


def _write_report(c: Context, folder: Path) -> Path:
    """report.md and its parts beside it (llmrec-eval report, README "Reports")."""
    if not _has_results(folder):
        raise SystemExit(f"{folder}: no evaluation results yet: run `invoke pipeline` first")
    data, report = folder / "data", folder / "report.md"
    argv = ["llmrec-eval", "report", "--results", str(folder / "eval"), "--out", str(report)]
    argv += ["--examples", str(data / "test.jsonl"), "--items", str(data / "items.parquet")]
    argv += ["--manifest", str(folder / "manifest.json")]
    argv += ["--loss-plot", str(folder / "adapter" / "loss.png")]
    _run_cli(c, argv)
    return report


def _run_cli(c: Context, argv: list[str]) -> None:
    result = c.run(shlex.join(argv), hide="stdout", warn=True, pty=False)
    if result is None or result.failed:
        raise SystemExit(result.exited if result else 1)


@task(
    help={
        "dataset": _HELP["dataset"],
        "run": "run folder name(s) under runs/<dataset>/, comma-separated (default: the run with "
        "results, the latest if several)",
    }
)
def report(c: Context, dataset: str = "movie-small", run: str | None = None) -> None:
    """Markdown report of one run (or several, comma-separated, plus a comparison of them)."""
    names = run.split(",") if run else [_default_run(dataset)]
    folders = [_run_folder(dataset, name, name) for name in names]
    for folder in folders:
        print(f"wrote {_write_report(c, folder)}")
    if len(folders) > 1:
        out = folders[0].parent / f"comparison-{'+'.join(names)}.md"
        _run_cli(
            c, ["llmrec-eval", "compare-runs", *(f"--run={f}" for f in folders), "--out", str(out)]
        )
        print(f"wrote {out}")


def _default_run(dataset: str) -> str:
    """The run of `dataset` that has results; the most recently evaluated one if several."""
    parent = _run_folder(dataset, "_", "_").parent
    done = [f for f in parent.glob("*") if f.is_dir() and _has_results(f)]
    if not done:
        raise SystemExit(f"{parent}: no run with results yet: run `invoke pipeline` first")

    def last_result(folder: Path) -> float:
        return max(p.stat().st_mtime for p in folder.glob("eval/*/metrics.json"))

    chosen = max(done, key=last_result)
    if len(done) > 1:
        others = ", ".join(sorted(f.name for f in done if f != chosen))
        print(
            f"report: run {chosen.name} (the latest; also available: {others}; choose with --run)"
        )
    return chosen.name


@task(help=_HELP, iterable=["set_"])
def pipeline(
    c: Context,
    dataset: str = "movie-small",
    profile: str = "cpu",
    run: str | None = None,
    set_: list[str] | None = None,
    force: bool = False,
) -> None:
    """prepare -> embed -> train -> generate -> evaluate, then print the results table."""
    config, folder, force = _start(dataset, profile, run, set_, force)
    start = time.perf_counter()
    runner = _run_stages(c, dataset, folder, config, force, only=None)
    runner.record_wall_time(time.perf_counter() - start)
    report = _write_report(c, folder)
    print((folder / "results.md").read_text(), end="")
    print(f"wrote {report}")


# --------------------------------------------------------------------------------------------
# interest summaries: prepare -> train -> generate (LoRA off and on) -> report

INTEREST_PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "cpu": {
        "data": {"seed": 0},
        "train": {
            "n_train": -1,
            "n_valid": 32,
            "max_steps": 80,
            "batch_size": 8,
            "learning_rate": 2e-3,
            "lora_r": 16,
            "lora_alpha": 32,
            "lora_target_modules": "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
            "seed": 0,
        },
        "generate": {"decoding": "greedy", "max_new_tokens": 96, "batch_size": 10},
    },
    "tiny": {
        "data": {"n_train": 16, "n_valid": 4, "n_test": 4, "n_unseen": 4, "seed": 0},
        "train": {"n_train": 16, "n_valid": 4, "max_steps": 2, "batch_size": 4, "seed": 0},
        "generate": {"decoding": "greedy", "max_new_tokens": 24, "batch_size": 4},
    },
}


INTEREST_SETS = {
    "test": "test (prompts as in training)",
    "unseen": "unseen prompts (wordings and layouts never seen in training)",
    "showcase": "showcase prompts",
}
"""The examples files `interests prepare` writes that are generated for, and their report titles."""


@task(
    help={
        **{k: v for k, v in _HELP.items() if k != "dataset"},
        "profile": f"one of {', '.join(INTEREST_PROFILES)}",
        "run": "run folder name under runs/interests/ (default: the profile's name)",
    },
    iterable=["set_"],
)
def interests(
    c: Context,
    profile: str = "cpu",
    run: str | None = None,
    set_: list[str] | None = None,
    force: bool = False,
) -> None:
    """Interest summaries end to end; writes report.md (LoRA OFF, ON free and ON constrained on the
    test set, the unseen-prompts set and the showcase prompts: metrics and cases)."""
    config = _resolve_profile(profile, set_ or [], INTEREST_PROFILES)
    runs = Path(os.environ.get("LLMREC_RUNS_DIR", ROOT / "runs"))
    folder = runs / "interests" / (run or profile)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"llmrec interests: profile={profile} device={_device()} run={folder}")
    data, adapter, preds = folder / "data", folder / "adapter", folder / "predictions"
    train, valid = data / "train.jsonl", data / "valid.jsonl"
    # Scored on the in-distribution test set and on prompts never seen in training; the showcase
    # prompts are shown. Each through LoRA OFF, LoRA ON (free decoding) and LoRA ON constrained.
    sets = {name: data / f"{name}.jsonl" for name in INTEREST_SETS}
    gen = _flags(config["generate"])
    runner = Run(c, folder, force)
    runner.manifest.update({"task": "interests", "config": config, "versions": _versions()})
    runner.manifest.update({"git_commit": _git_commit(), "device": _device()})
    start = time.perf_counter()
    runner.stage(
        "data",
        ["llmrec-data", "interests", "prepare", "--out", str(data), *_flags(config["data"])],
        [],
        [train, valid, *sets.values()],
        data / "manifest.json",
    )
    runner.stage(
        "train",
        ["llmrec-train", "train", "--train-file", str(train), "--valid-file", str(valid)]
        + ["--output-dir", str(adapter), *_flags(config["train"]), "--resume", "auto"],
        [train, valid],
        [adapter / "adapter_model.safetensors"],
    )
    weights = adapter / "adapter_model.safetensors"
    runs = {
        "off": [],
        "on": ["--adapter", str(adapter)],
        "constrained": ["--adapter", str(adapter), "--constrained-interests"],
    }
    report_flags = []
    for set_name, examples in sets.items():
        for run_name, extra in runs.items():
            out = preds / run_name / f"{set_name}.jsonl"
            argv = ["llmrec-train", "generate", "--examples", str(examples), "--out", str(out)]
            inputs = [examples] if run_name == "off" else [examples, weights]
            runner.stage(f"generate-{run_name}-{set_name}", argv + gen + extra, inputs, [out])
        report_flags += ["--examples", f"{INTEREST_SETS[set_name]}={examples}"]
        report_flags += [f"--{flag}={preds / flag / f'{set_name}.jsonl'}" for flag in runs]
    runner.stage(
        "report",
        ["llmrec-eval", "interests", "report", *report_flags, "--out", str(folder / "report.md")]
        + ["--metrics-out", str(folder / "metrics.json")],
        [*sets.values()] + [preds / r / f"{s}.jsonl" for s in sets for r in runs],
        [folder / "report.md"],
    )
    runner.record_wall_time(time.perf_counter() - start)
    print(f"report: {folder / 'report.md'}")


# --------------------------------------------------------------------------------------------
# benchmarks

BENCHMARKS = [
    (
        "llmrec-data: prepare, MovieLens-10M size",
        "packages/llmrec-data/benchmarks/bench_prepare.py",
    ),
    ("llmrec-eval: grounding and metrics", "packages/llmrec-eval/benchmarks/bench_grounding.py"),
    ("llmrec-train: SFT throughput", "packages/llmrec-train/benchmarks/bench_train.py"),
    ("llmrec-train: generation throughput", "packages/llmrec-train/benchmarks/bench_generate.py"),
    (
        "llmrec-train: recommenders (SASRec, transitions) on movie-small",
        "packages/llmrec-train/benchmarks/bench_recommend.py",
    ),
]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.platform()}, device {_device()}"


@task(
    help={
        "only": "run only the benchmarks whose title contains this text",
        "quick": "smaller sizes",
    }
)
def bench(c: Context, only: str = "", quick: bool = False) -> None:
    """Run every package's benchmark and write docs/benchmarks.md with the figures and the machine."""
    quick_args = {
        "bench_prepare.py": ["--ratings", "500000", "--users", "3500"],
        "bench_grounding.py": ["--quick"],
        "bench_train.py": ["--n", "32"],
        "bench_generate.py": ["--n", "32"],
        "bench_recommend.py": ["--max-epochs", "2"],
    }
    sections = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {_machine()}.",
        f"git commit {_git_commit()}; `invoke bench{' --quick' if quick else ''}` wrote this file.",
        "",
    ]
    for title, script in BENCHMARKS:
        if only and only not in title:
            continue
        argv = ["python", script, *(quick_args[Path(script).name] if quick else [])]
        print(f"== {title}: {shlex.join(argv)}", flush=True)
        result = c.run(shlex.join(argv), pty=False, warn=True)
        out = result.stdout.strip() if result else ""
        sections += [f"## {title}", "", f"`{shlex.join(argv)}`", "", out or "(no output)", ""]
        if result is None or result.failed:
            sections += [f"**failed** (exit {result.exited if result else '?'})", ""]
    target = ROOT / "docs" / "benchmarks.md"
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text("\n".join(sections), encoding="utf-8")
    tmp.replace(target)
    print(f"wrote {target}")
