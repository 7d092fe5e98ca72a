"""`llmrec-eval interests baseline`: a no-model profile from the recurring input labels, on the
golden fixtures (real YouTube-8M labels) and the real vocabulary.csv."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from llmrec_eval.cli import app
from llmrec_eval.interests.baseline import recurrence_profile
from llmrec_eval.interests.parse import normalize, parse_output
from typer.testing import CliRunner

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "interests"
SETS = ("train", "valid", "test", "unseen", "showcase")


def vocabulary() -> Path:
    home = os.environ.get("LLMREC_DATA_HOME")
    if not home:
        pytest.fail("LLMREC_DATA_HOME must point at the raw datasets (../shared/datasets in CI)")
    return Path(home) / "youtube8m" / "vocabulary.csv"


def run_baseline(examples: Path, out: Path, *extra: str) -> tuple[int, str]:
    args = ["interests", "baseline", "--examples", str(examples), "--out", str(out), *extra]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def read_texts(path: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(r["target_item_id"] is None and r["scores"] is None for r in rows)
    return {row["example_id"]: row["predictions"][0] for row in rows}


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("filtered", [False, True])
def test_profiles_comply_name_only_input_labels_and_read_back(
    tmp_path: Path, name: str, filtered: bool
) -> None:
    examples = FIXTURES / f"{name}.jsonl"
    extra = ["--label-counts", str(vocabulary())] if filtered else []
    code, output = run_baseline(examples, tmp_path / "p.jsonl", *extra)
    assert code == 0, output
    texts = read_texts(tmp_path / "p.jsonl")
    rows = [json.loads(line) for line in examples.read_text(encoding="utf-8").splitlines()]
    assert list(texts) == [row["example_id"] for row in rows]
    for row in rows:
        parsed = parse_output(texts[row["example_id"]])
        assert parsed.compliant, parsed.error
        assert not parsed.repeats and not parsed.run_on
        # The parser gives back exactly the rule's lists (labels with periods, digits, parentheses).
        rule = recurrence_profile(row["videos"])
        if not filtered:
            assert (parsed.primary, parsed.secondary) == (rule.primary, rule.secondary)
        labels = {normalize(label) for video in row["videos"] for label in video}
        assert {normalize(n) for n in parsed.named} <= labels
        assert 1 <= len(parsed.primary) <= 3 and len(parsed.secondary) <= 3
    meta = json.loads((tmp_path / "p.meta.json").read_text())
    assert meta["method"] == "recurrence" and meta["n_examples"] == len(rows)
    assert meta["generic_above"] == (250_000 if filtered else None)


def test_a_hand_checked_history(tmp_path: Path) -> None:
    """test-000000: Food, Recipe, Cooking, ... | Plant, Gardening, Garden, Tree | Gran Turismo
    (series), Gran Turismo 5 | Tree, Saw, Logging, Chainsaw: only "Tree" is in two videos."""
    code, output = run_baseline(FIXTURES / "test.jsonl", tmp_path / "p.jsonl")
    assert code == 0, output
    assert read_texts(tmp_path / "p.jsonl")["test-000000"] == (
        "Primary interests: Tree.\n"
        "Secondary interests: Food, Recipe, Cooking.\n"
        "Recommendation direction: more videos about Tree; occasional videos about Food and Recipe."
    )


def test_ties_keep_first_appearance_and_generic_labels_are_skipped(tmp_path: Path) -> None:
    videos = [["Game", "Minecraft", "Lego"], ["Game", "Lego", "Minecraft"], ["Game", "Fortnite"]]
    plain = recurrence_profile(videos)
    assert (plain.primary, plain.secondary) == (["Game"], ["Minecraft", "Lego", "Fortnite"])
    row = {"example_id": "test-000000", "instruction": "Summarize.", "input": "", "videos": videos}
    examples = tmp_path / "x.jsonl"
    examples.write_text(json.dumps(row) + "\n")
    out = tmp_path / "p.jsonl"
    # "Game" has 788,288 training videos: generic above 250,000, specific above 1,000,000.
    code, output = run_baseline(examples, out, "--label-counts", str(vocabulary()))
    assert code == 0, output
    assert read_texts(out)["test-000000"].startswith(
        "Primary interests: Minecraft, Lego.\nSecondary interests: Fortnite."
    )
    code, output = run_baseline(
        examples, out, "--label-counts", str(vocabulary()), "--generic-above", "1000000"
    )
    assert code == 0, output
    assert read_texts(out)["test-000000"].startswith("Primary interests: Game.\n")
    # A history of generic labels only still gets a profile.
    assert recurrence_profile([["Game"]], {"Game"}).primary == ["Game"]


def test_bad_inputs_exit_2_naming_file_line_and_field(tmp_path: Path) -> None:
    good = json.loads((FIXTURES / "test.jsonl").read_text().splitlines()[0])
    out = tmp_path / "p.jsonl"
    cases = {
        "no-videos": ({k: v for k, v in good.items() if k != "videos"}, "missing field 'videos'"),
        "empty": ({**good, "videos": [[], []]}, "line 2 (1-based), field 'videos': no label"),
        "not-strings": ({**good, "videos": [[1, 2]]}, "field 'videos': expected a list of strings"),
    }
    for name, (row, message) in cases.items():
        path = tmp_path / f"{name}.jsonl"
        other = {**good, "example_id": "test-999999"}
        path.write_text(json.dumps(other) + "\n" + json.dumps(row) + "\n")
        code, output = run_baseline(path, out)
        assert code == 2 and str(path) in output and message in output, (name, output)
        assert not out.exists() and not out.with_suffix(".meta.json").exists()
    counts = tmp_path / "vocabulary.csv"
    counts.write_text("Name,Count\nGame,5\n")
    code, output = run_baseline(FIXTURES / "test.jsonl", out, "--label-counts", str(counts))
    assert code == 2 and "missing column(s) ['TrainVideoCount']" in output
    counts.write_text("Name,TrainVideoCount\nGame,many\n")
    code, output = run_baseline(FIXTURES / "test.jsonl", out, "--label-counts", str(counts))
    assert code == 2 and "line 2 (1-based), field 'TrainVideoCount'" in output
    code, output = run_baseline(FIXTURES / "test.jsonl", tmp_path / "p.txt")
    assert code == 2 and "expected a .jsonl file name" in output
    code, output = run_baseline(FIXTURES / "test.jsonl", out, "--method", "popularity")
    assert code == 2 and "--method: expected one of recurrence" in output
    assert not out.exists()


def test_the_report_shows_the_baseline_as_a_column(tmp_path: Path) -> None:
    """The baseline's predictions stand in for every run here: the column is what is checked."""
    flags: list[str] = []
    for name in ("test", "unseen", "showcase"):
        preds = tmp_path / f"{name}.jsonl"
        code, output = run_baseline(FIXTURES / f"{name}.jsonl", preds)
        assert code == 0, output
        flags += ["--examples", f"{name}={FIXTURES / f'{name}.jsonl'}"]
        flags += ["--off", str(preds), "--on", str(preds), "--baseline", str(preds)]
    report = tmp_path / "report.md"
    result = CliRunner().invoke(app, ["interests", "report", *flags, "--out", str(report)])
    assert result.exit_code == 0, result.output
    assert "[unseen] no model (recurring labels): compliance 1.000, faithfulness 1.000" in (
        result.output
    )
    text = report.read_text()
    assert "| metric | LoRA OFF | LoRA ON | no model (recurring labels) |" in text
    assert "- no model (recurring labels): no model. `llmrec-eval interests baseline`" in text
    showcase = text.split("## showcase: 4 prompts")[1].split("## Cases")[0]
    assert showcase.count("no model (recurring labels): complies") == 4
    bad = CliRunner().invoke(app, ["interests", "report", *flags[:-2], "--out", str(report)])
    assert bad.exit_code == 2 and "--baseline given 2 time(s) but --examples 3" in bad.output
