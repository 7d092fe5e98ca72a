"""Data home, download (on local file:// URLs: there is no internet here), checksum, extract, offline errors."""

from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from pathlib import Path

import pytest
from llmrec_data import SOURCES, DataError, MissingRawDataError, data_home, ensure_source
from llmrec_data._sources import Download, fetch


def make_zip(tmp_path: Path) -> Path:
    archive = tmp_path / "upstream" / "ml-1m.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ml-1m/ratings.dat", "1::1::5::100\n")
        zf.writestr("ml-1m/movies.dat", "1::Heat (1995)::Action\n")
    return archive


def test_data_home_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("LLMREC_DATA_HOME", str(tmp_path))
    assert data_home() == tmp_path
    assert data_home(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("LLMREC_DATA_HOME")
    assert data_home().name == "datasets" and "llmrec" in str(data_home())


def test_download_checks_md5_and_extracts(tmp_path: Path):
    archive = make_zip(tmp_path)
    md5 = hashlib.md5(archive.read_bytes(), usedforsecurity=False).hexdigest()
    source = dataclasses.replace(
        SOURCES["ml-1m"],
        downloads=(Download(archive.as_uri(), "ml-1m.zip", ("md5", md5), extract=True),),
    )
    home = tmp_path / "home"
    paths = ensure_source(source, home)
    assert [p.read_text() for p in paths] == ["1::1::5::100\n", "1::Heat (1995)::Action\n"]
    assert (home / "movielens" / "ml-1m.zip").is_file()
    assert ensure_source(source, home) == paths  # present: nothing to do


def test_checksum_mismatch_keeps_nothing(tmp_path: Path):
    archive = make_zip(tmp_path)
    item = Download(archive.as_uri(), "ml-1m.zip", ("md5", "0" * 32), extract=True)
    with pytest.raises(DataError, match="md5 checksum mismatch"):
        fetch(item, tmp_path / "home" / "movielens" / "ml-1m")
    assert not list((tmp_path / "home" / "movielens").iterdir())


def test_sha256_of_extracted_members(tmp_path: Path):
    archive = make_zip(tmp_path)
    source = dataclasses.replace(
        SOURCES["ml-1m"],
        downloads=(Download(archive.as_uri(), "ml-1m.zip", extract=True),),
        member_sha256=(("ratings.dat", "f" * 64),),
    )
    with pytest.raises(DataError, match="sha256 checksum mismatch"):
        ensure_source(source, tmp_path / "home")


def test_offline_error_names_files_and_where_to_put_them(tmp_path: Path):
    with pytest.raises(MissingRawDataError) as info:
        ensure_source(SOURCES["ml-10m"], tmp_path, download=False)
    text = str(info.value)
    assert str(tmp_path / "movielens" / "ml-10M100K" / "ratings.dat") in text
    assert (
        "movies.dat" in text and "https://files.grouplens.org/datasets/movielens/ml-10m.zip" in text
    )
    assert "LLMREC_DATA_HOME" in text


def test_unreachable_server_is_the_offline_error(tmp_path: Path):
    # port 9 on loopback refuses at once: the same path as a machine without internet
    source = dataclasses.replace(
        SOURCES["ml-1m"],
        downloads=(Download("http://127.0.0.1:9/ml-1m.zip", "ml-1m.zip", extract=True),),
    )
    with pytest.raises(MissingRawDataError, match="download failed"):
        ensure_source(source, tmp_path)
    assert not (tmp_path / "movielens" / "ml-1m.zip").exists()


def test_bad_zip(tmp_path: Path):
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a valid zip"):
        fetch(Download(bogus.as_uri(), "x.zip", extract=True), tmp_path / "home" / "x")
