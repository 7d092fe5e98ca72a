"""Settings profiles: TOML files (one table per stage section, each key an option of that stage's
CLI), `extends` to inherit another profile, and `--set STAGE.OPTION=VALUE` overrides. Every value
remembers where it came from, so an error names the file and line. Two kinds of profiles share this
reader: the recommendation pipeline's (configs/profiles/) and the interests pipeline's
(configs/interests/)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import ROOT


@dataclass(frozen=True)
class ProfileKind:
    """A pipeline's profiles: the folder `--profile NAME` looks in (NAME.toml; `--profile PATH.toml`
    takes any file) and the sections a profile may have, each with the CLI command its options
    belong to (checked by that command before any stage runs)."""

    folder: Path
    sections: dict[str, str]


# Profiles are TOML files in configs/profiles/ (one table per stage section, each key an option of
# that stage's CLI); `--profile NAME` picks configs/profiles/NAME.toml, `--profile PATH.toml` any file.
PROFILES_DIR = ROOT / "configs" / "profiles"
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
RECOMMENDATION = ProfileKind(PROFILES_DIR, SECTIONS)
INTERESTS = ProfileKind(
    ROOT / "configs" / "interests",
    {
        "data": "llmrec-data interests prepare",
        "train": "llmrec-train train",
        "generate": "llmrec-train generate",
    },
)


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


def shown(path: Path) -> str:
    """A path as the user would type it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def default_run_name(profile: str) -> str:
    """A run's folder name when none is given: the profile's (`--profile path/mine.toml`: mine)."""
    return Path(profile).stem if profile.endswith(".toml") else profile


def profile_names(kind: ProfileKind = RECOMMENDATION) -> list[str]:
    return sorted(p.stem for p in kind.folder.glob("*.toml"))


def _profile_path(spec: str, kind: ProfileKind, base: Path | None) -> Path:
    """`NAME` -> the kind's folder/NAME.toml; a path (ends in .toml or has a slash) is taken as
    given (relative to `base`, the folder of the profile whose `extends` names it; None: to the
    current folder)."""
    if spec.endswith(".toml") or os.sep in spec or "/" in spec:
        path = Path(spec).expanduser()
        return path if path.is_absolute() or base is None else base / path
    return kind.folder / f"{spec}.toml"


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


def where(path: Path, table: str | None, key: str) -> str:
    line = _toml_line(path, table, key)
    return f"{shown(path)}" + (f", line {line}" if line else "")


def closest(word: str, choices: Any) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _load_profile(spec: str, kind: ProfileKind, chain: tuple[Path, ...] = ()) -> Settings:
    """A profile file, after its `extends` (if any): each table updates the inherited one key by
    key. Unknown sections and values that are not plain (numbers, strings, booleans, lists) fail.
    `chain`: the profiles whose `extends` led here (the last one's folder is the base of a path)."""
    import tomllib

    path = _profile_path(spec, kind, chain[-1].parent if chain else None)
    if not path.is_file():
        names = profile_names(kind)
        hint = "" if path.parent != kind.folder else closest(spec, names)
        at = f"{where(chain[-1], None, 'extends')}, field 'extends': " if chain else ""
        raise SystemExit(
            f"error: {at}unknown profile {spec!r} ({shown(path)} does not exist): {hint}expected "
            f"one of {', '.join(names)} or the path of a .toml file"
        )
    if path.resolve() in chain:
        raise SystemExit(f"error: {shown(path)}: `extends` loops back to itself")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise SystemExit(f"error: {shown(path)}: not valid TOML: {err}") from None
    extends = doc.pop("extends", None)
    if extends is not None and not isinstance(extends, str):
        raise SystemExit(
            f"error: {where(path, None, 'extends')}, field 'extends': expected a profile name "
            f"or a path (a string), got {extends!r}"
        )
    settings = (
        Settings() if extends is None else _load_profile(extends, kind, (*chain, path.resolve()))
    )
    for section, table in doc.items():
        if section not in kind.sections:
            raise SystemExit(
                f"error: {where(path, None, section)}: unknown section [{section}]: "
                f"{closest(section, kind.sections)}expected one of {', '.join(kind.sections)} "
                "(or `extends`)"
            )
        if not isinstance(table, dict):
            raise SystemExit(
                f"error: {where(path, None, section)}, field {section!r}: expected a table "
                f"[{section}] of options, got {table!r}"
            )
        add_table(settings, path, section, table)
    return settings


def add_table(settings: Settings, path: Path, section: str, table: dict[str, Any]) -> None:
    """A stage table of file `path` into `settings`, key by key, each remembering its line. Values
    must be plain (numbers, strings, booleans, lists): they become the stage's CLI options."""
    target = settings.setdefault(section, {})
    for key, value in table.items():
        if isinstance(value, dict):
            raise SystemExit(
                f"error: {where(path, section, key)}, field '{section}.{key}': expected a "
                "number, string, boolean or list, got a table"
            )
        target[key] = value
        settings.origins[(section, key)] = where(path, section, key)


def resolve_profile(
    profile: str, overrides: list[str], kind: ProfileKind = RECOMMENDATION
) -> Settings:
    """The profile (a name in the kind's folder or a .toml path) with the `--set
    STAGE.OPTION=VALUE` overrides applied. Whether each option exists and its value is valid is
    checked by the stage's CLI (`pipeline.stages.check_stages`), not here."""
    settings = _load_profile(profile, kind)
    apply_overrides(settings, overrides, kind.sections)
    return settings


def apply_overrides(settings: Settings, overrides: list[str], sections: Any) -> None:
    """`--set STAGE.OPTION=VALUE` overrides, in order, into `settings` (STAGE one of `sections`)."""
    for item in overrides:
        key, sep, value = item.partition("=")
        stage, dot, option = key.partition(".")
        if not sep or not dot or not option or stage not in sections:
            raise SystemExit(
                f"error: --set {item!r}: {closest(stage, sections) if dot else ''}expected "
                f"STAGE.OPTION=VALUE with STAGE one of {', '.join(sections)}"
            )
        option = option.replace("-", "_")
        settings.setdefault(stage, {})[option] = _parse_value(value)
        settings.origins[(stage, option)] = f"--set {item}"
