"""Outside data: the catalogue importer, the encoding trap, --preset bigrec, --empty-prediction, and
the CLI's error contract (exit codes, one-line errors, checks before any embedding).

No model is loaded here: where a run would embed, `embed_texts` is replaced by a function that fails
the test, which proves the check ran before the expensive work.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from eval_contract_files import write_catalogue, write_jsonl
from llmrec_eval import EvaluateConfig, InputError, __version__, read_bigrec_results, read_items
from llmrec_eval.cli import app
from llmrec_eval.config import apply_preset
from movielens_dat import write_bigrec_result, write_movielens_dat
from typer.testing import CliRunner

runner = CliRunner()
EVALUATE = importlib.import_module("llmrec_eval.evaluate")  # the module, not the function
RESULT = importlib.import_module("llmrec_eval.result")  # where a row's files are written
AMELIE = "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"


def _cli(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def _no_embedding(*args, **kwargs):
    raise AssertionError("embedded before the input checks")


@pytest.fixture(scope="module")
def latin1_dat(tmp_path_factory) -> Path:
    """ML-1M style: movies.dat in ISO-8859-1 (real ml-latest-small titles)."""
    return write_movielens_dat(tmp_path_factory.mktemp("ml1m"), encoding="latin-1")


@pytest.fixture(scope="module")
def utf8_dat(tmp_path_factory) -> Path:
    """The ML-10M copy in BIGRec's repository: movies.dat in UTF-8."""
    return write_movielens_dat(tmp_path_factory.mktemp("ml10m"), encoding="utf-8")


# --------------------------------------------------------------------------- catalogue importer


def test_catalogue_from_latin1_movies_dat_meets_the_contract(latin1_dat, tmp_path):
    out = tmp_path / "data" / "items.parquet"
    res = _cli(
        "catalogue",
        "--items-file",
        latin1_dat / "movies.dat",
        "--interactions",
        latin1_dat / "ratings.dat",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    assert "encoding latin-1" in res.output
    items = pl.read_parquet(out)
    assert items.columns[:5] == [
        "item_id",
        "source_id",
        "title",
        "canonical_item_id",
        "popularity",
    ]
    assert items["item_id"].to_list() == list(range(items.height))
    assert items["source_id"].to_list() == sorted(items["source_id"].to_list())  # as strings
    assert AMELIE in items["title"].to_list()  # decoded right: no "AmÃ©lie"
    raw = {}
    for line in (latin1_dat / "ratings.dat").read_text().splitlines():
        movie = line.split("::")[1]
        raw[movie] = raw.get(movie, 0) + 1
    pop = dict(zip(items["source_id"], items["popularity"], strict=True))
    assert pop == {m: raw.get(m, 0) for m in pop}
    assert items["genres"][0] and "|" in "".join(items["genres"].to_list())
    catalogue = read_items(out)  # the package's own contract reader accepts it
    assert catalogue.n_items == items.height
    manifest = json.loads((out.parent / "items.manifest.json").read_text())
    assert manifest["summary"]["encoding"] == "latin-1"


def test_catalogue_wrong_explicit_encoding_names_the_line_and_writes_nothing(latin1_dat, tmp_path):
    out = tmp_path / "items.parquet"
    res = _cli(
        "catalogue", "--items-file", latin1_dat / "movies.dat", "--encoding", "utf-8", "--out", out
    )
    assert res.exit_code == 2
    lines = (latin1_dat / "movies.dat").read_bytes().split(b"\n")
    first_bad = next(i for i, line in enumerate(lines, start=1) if not line.isascii())
    assert f"movies.dat, line {first_bad} (1-based): not valid utf-8" in res.output
    assert "--encoding latin-1" in res.output
    assert not out.exists()


def test_catalogue_csv_cleans_titles_and_groups_duplicates_by_popularity(tmp_path):
    items = tmp_path / "items.tsv"
    items.write_text(
        "asin\tname\tbrand\n"
        "B9\t  Halo &amp;amp; Friends  \tMS\n"
        'A1\t"Great Performances" Cats (1998)\tPBS\n'
        "C3\thalo &   friends\tMS\n"
        'B2\t"Quoted (2001)"\tX\n',
        encoding="utf-8",
    )
    inter = tmp_path / "reviews.csv"
    inter.write_text("user,asin\nu1,C3\nu2,C3\nu3,B9\n", encoding="utf-8")
    out = tmp_path / "items.parquet"
    res = _cli(
        "catalogue",
        "--items-file",
        items,
        "--id-column",
        "asin",
        "--title-column",
        "name",
        "--extra-columns",
        "brand",
        "--interactions",
        inter,
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    df = pl.read_parquet(out)
    assert df["source_id"].to_list() == ["A1", "B2", "B9", "C3"]
    assert df["title"].to_list() == [
        '"Great Performances" Cats (1998)',  # quotes kept: they do not wrap the whole title
        "Quoted (2001)",
        "Halo & Friends",  # entities decoded repeatedly, whitespace collapsed
        "halo & friends",
    ]
    assert df["popularity"].to_list() == [0, 0, 1, 2]
    # one duplicate group {B9, C3}: canonical is the more popular C3 (item 3)
    assert df["canonical_item_id"].to_list() == [0, 1, 3, 3]
    assert df["brand"].to_list() == ["PBS", "X", "MS", "MS"]


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        (
            "1::Heat (1995)::Action\n2::Jaws (1975)::Horror\n1::Heat (1995)::Action\n",
            [],
            "movies.dat, line 3 (1-based), field 'id': item id '1' appears again",
        ),
        (
            "1::Heat (1995)::Action\n2::X::Horror\n",
            [],
            "movies.dat, line 2 (1-based), field 'title': title 'X' is not a title",
        ),
        ("1 Heat (1995)\n", [], "movies.dat, line 1 (1-based): expected 'id::title[::genres]'"),
    ],
)
def test_catalogue_bad_dat_files(tmp_path, content, args, expected):
    path = tmp_path / "movies.dat"
    path.write_text(content, encoding="utf-8")
    res = _cli("catalogue", "--items-file", path, "--out", tmp_path / "items.parquet", *args)
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and expected in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "items.parquet").exists()


def test_catalogue_csv_missing_column_lists_the_columns(tmp_path):
    path = tmp_path / "movies.csv"
    path.write_text("id,name\n1,Heat (1995)\n", encoding="utf-8")
    res = _cli("catalogue", "--items-file", path, "--out", tmp_path / "items.parquet")
    assert res.exit_code == 2
    assert "no column 'movieId' (columns: id, name)" in res.output
    assert "--id-column" in res.output


# --------------------------------------------------------------------------- the encoding trap


def test_mojibake_targets_are_diagnosed_before_embedding(utf8_dat, tmp_path, monkeypatch):
    # BIGRec read the UTF-8 movies.dat as ISO-8859-1: its targets carry mojibake ("AmÃ©lie").
    result = write_bigrec_result(tmp_path / "test_result.json", utf8_dat, read_as="latin-1")
    assert "AmÃ©lie" in result.read_text(encoding="utf-8")
    items = tmp_path / "items.parquet"
    assert _cli("catalogue", "--items-file", utf8_dat / "movies.dat", "--out", items).exit_code == 0
    monkeypatch.setattr(EVALUATE, "embed_texts", _no_embedding)
    monkeypatch.setattr("llmrec_eval.grounding.embed_texts", _no_embedding)
    res = _cli("evaluate", "--predictions", result, "--items", items, "--out", tmp_path / "eval")
    assert res.exit_code == 2, res.output
    assert "match only after the latin-1/UTF-8 round trip" in res.output
    assert "--encoding latin-1" in res.output
    assert "field 'output'" in res.output and "(0-based)" in res.output
    assert len(res.output.strip().splitlines()) == 1

    # Read as BIGRec read it, the catalogue matches every target.
    items_latin = tmp_path / "latin" / "items.parquet"
    res = _cli(
        "catalogue",
        "--items-file",
        utf8_dat / "movies.dat",
        "--encoding",
        "latin-1",
        "--out",
        items_latin,
    )
    assert res.exit_code == 0, res.output
    preds = read_bigrec_results(result, read_items(items_latin))
    assert len(preds) == 60


def test_catalogue_read_as_latin1_but_targets_utf8_says_use_utf8(utf8_dat, tmp_path):
    result = write_bigrec_result(tmp_path / "test_result.json", utf8_dat, read_as="utf-8")
    items = tmp_path / "items.parquet"
    res = _cli(
        "catalogue",
        "--items-file",
        utf8_dat / "movies.dat",
        "--encoding",
        "latin-1",
        "--out",
        items,
    )
    assert res.exit_code == 0
    with pytest.raises(InputError, match="--encoding utf-8"):
        read_bigrec_results(result, read_items(items))


def test_unknown_target_without_encoding_trap_is_the_plain_error(latin1_dat, tmp_path):
    items = tmp_path / "items.parquet"
    assert (
        _cli("catalogue", "--items-file", latin1_dat / "movies.dat", "--out", items).exit_code == 0
    )
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"output": '"Nope (2001)"', "predict": ['"x"']}]))
    with pytest.raises(InputError, match=r"row 0 \(0-based\), field 'output': target title 'Nope"):
        read_bigrec_results(path, read_items(items))


# --------------------------------------------------------------------------- preset and empty


TITLES = ["Heat (1995)", "Jaws (1975)", "Fargo (1996)", "Alien (1979)", "Brazil (1985)"]


@pytest.fixture
def tiny(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    return write_catalogue(tmp_path / "cat", TITLES, vectors)


def _bigrec(path: Path, predicts: list[list[str]], targets: list[int]) -> Path:
    rows = [
        {"instruction": "", "input": "", "output": f'"{TITLES[t]}"\n', "predict": p}
        for p, t in zip(predicts, targets, strict=True)
    ]
    path.write_text(json.dumps(rows))
    return path


def test_preset_bigrec_sets_bigrecs_settings_and_refuses_conflicts(tiny, tmp_path):
    cfg = apply_preset(
        EvaluateConfig(predictions=Path("p"), items=Path("i"), out=Path("o"), preset="bigrec")
    )
    assert (cfg.fusion, cfg.distance, cfg.gamma_grid, cfg.exclude_history) == (
        "first",
        "l2",
        "bigrec",
        False,
    )
    assert EvaluateConfig(predictions=Path("p"), items=Path("i"), out=Path("o")).fusion != "first"
    # the second text would be an exact hit at rank 0 under any fusion but `first`
    pred = _bigrec(tmp_path / "r.json", [['"Jaws (1975)"', '"Heat (1995)"']], [0])
    common = ["evaluate", "--predictions", pred, "--items", tiny[0], "--embeddings", tiny[1]]
    res = _cli(*common, "--preset", "bigrec", "--out", tmp_path / "e", "--bootstrap", "0")
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["grounding"]["fusion"] == "first" and metrics["grounding"]["preset"] == "bigrec"
    assert metrics["metrics"]["hr@1"] == 0.0
    res = _cli(*common, "--preset", "bigrec", "--fusion", "rrf", "--out", tmp_path / "f")
    assert res.exit_code == 2
    assert "--preset bigrec sets --fusion first, but --fusion rrf was given" in res.output
    res = _cli(*common, "--out", tmp_path / "g", "--bootstrap", "0")  # default: a note, not silence
    assert "BIGRec grounds only the first" in res.output


def test_empty_prediction_error_names_the_row_and_miss_scores_it(tiny, tmp_path):
    pred = _bigrec(
        tmp_path / "r.json",
        [['"Heat (1995)"'], [], ['""', "  "], ['"Alien (1979)"']],
        [0, 1, 2, 3],
    )
    common = ["evaluate", "--predictions", pred, "--items", tiny[0], "--embeddings", tiny[1]]
    res = _cli(*common, "--out", tmp_path / "e")
    assert res.exit_code == 2
    assert "r.json, row 1 (0-based), field 'predict': empty prediction" in res.output
    assert "--empty-prediction miss" in res.output
    assert not (tmp_path / "e" / "metrics.json").exists()

    res = _cli(*common, "--empty-prediction", "miss", "--out", tmp_path / "m", "--bootstrap", "0")
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["n_examples"] == 4
    assert metrics["metrics"]["hr@1"] == 0.5  # two exact hits out of four; the empty two miss
    assert metrics["grounding"]["empty_predictions"] == 2
    ranks = pl.read_parquet(tmp_path / "m" / "ranks.parquet")
    assert ranks["rank"].to_list() == [0, 5, 5, 0]  # a miss ranks below all 5 groups
    assert ranks["top_item_ids"][1].to_list() == []


# --------------------------------------------------------------------------- CLI contract


def test_unknown_example_id_fails_before_any_embedding(tiny, tmp_path, monkeypatch):
    pred = write_jsonl(
        tmp_path / "p.jsonl",
        [{"example_id": "test-9", "target_item_id": 0, "predictions": ['"a movie"']}],
    )
    examples = write_jsonl(
        tmp_path / "test.jsonl",
        [{"example_id": "test-0", "history_item_ids": [1], "target_item_id": 0, "timestamp": 1}],
    )
    monkeypatch.setattr(EVALUATE, "embed_texts", _no_embedding)
    monkeypatch.setattr("llmrec_eval.grounding.embed_texts", _no_embedding)
    res = _cli(
        "evaluate",
        "--predictions",
        pred,
        "--items",
        tiny[0],
        "--exclude-history",
        "--examples",
        examples,
        "--out",
        tmp_path / "e",
    )
    assert res.exit_code == 2, res.output
    assert "no example_id 'test-9'" in res.output


def test_unwritable_output_is_one_line_exit_2(tiny, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    pred = _bigrec(tmp_path / "r.json", [['"Heat (1995)"']], [0])
    res = _cli(
        "evaluate",
        "--predictions",
        pred,
        "--items",
        tiny[0],
        "--embeddings",
        tiny[1],
        "--out",
        blocker / "eval",
    )
    assert res.exit_code == 2
    assert res.output.startswith(f"error: {blocker / 'eval'}: output folder is not writable")
    assert len(res.output.strip().splitlines()) == 1
    res = _cli("table", tiny[0].parent, "--out", blocker / "t.md")
    assert res.exit_code == 2 and "not writable" in res.output


def test_exit_codes_version_interrupt_and_real_bugs(tiny, tmp_path, monkeypatch):
    res = _cli("--version")
    assert res.exit_code == 0 and res.output.strip() == __version__
    pred = _bigrec(tmp_path / "r.json", [['"Heat (1995)"']], [0])
    args = ["evaluate", "--predictions", pred, "--items", tiny[0], "--embeddings", tiny[1]]

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(EVALUATE, "read_items", interrupt)
    res = _cli(*args, "--out", tmp_path / "i")
    assert res.exit_code == 130 and "interrupted" in res.output

    def bug(*a, **k):
        return 1 / 0

    monkeypatch.setattr(EVALUATE, "read_items", bug)
    res = _cli(*args, "--out", tmp_path / "b")
    assert res.exit_code == 1
    assert isinstance(res.exception, ZeroDivisionError)  # a bug keeps its traceback


def test_interests_cli_bad_input_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "test.jsonl"
    bad.write_text('{"example_id": "a"}\n')
    res = runner.invoke(
        app, ["interests", "evaluate", "--examples", str(bad), "--predictions", str(bad)]
    )
    assert res.exit_code == 2
    assert "test.jsonl, line 1 (1-based): missing field 'videos'" in res.output


def test_a_refused_write_is_one_line_exit_1(tiny, tmp_path, monkeypatch):
    """Root passes every permission check: simulate the disk refusing the write itself."""
    import errno

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(RESULT, "atomic_write", full)
    pred = _bigrec(tmp_path / "r.json", [['"Heat (1995)"']], [0])
    args = ["evaluate", "--predictions", pred, "--items", tiny[0], "--embeddings", tiny[1]]
    res = _cli(*args, "--preset", "bigrec", "--out", tmp_path / "o", "--bootstrap", "0")
    assert res.exit_code == 1
    assert (
        res.output.strip() == f"error: {tmp_path / 'o' / 'ranks.parquet'}: No space left on device"
    )


def test_outputs_get_the_usual_file_mode(tiny, tmp_path):
    """Atomic writes go through mkstemp (0600): outputs must still get 0666 & ~umask like any file."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        pred = _bigrec(tmp_path / "r.json", [['"Heat (1995)"']], [0])
        args = ["evaluate", "--predictions", pred, "--items", tiny[0], "--embeddings", tiny[1]]
        res = _cli(*args, "--preset", "bigrec", "--out", tmp_path / "o", "--bootstrap", "0")
        assert res.exit_code == 0, res.output
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "o").iterdir()}
    finally:
        os.umask(old)
    assert set(modes) >= {"metrics.json", "ranks.parquet", "table.md", "manifest.json"}
    assert set(modes.values()) == {0o644}, modes
