"""The LoRA OFF vs ON report, from examples built on real YouTube-8M video labels."""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from pathlib import Path

import pytest
from llmrec_eval.cli import app
from llmrec_eval.interests import compare_runs
from typer.testing import CliRunner


def real_histories(n_users: int, n_videos: int = 4) -> list[list[list[str]]]:
    """Consecutive real videos with at least two labels, n_videos a user."""
    path = Path(os.environ["LLMREC_DATA_HOME"]) / "youtube8m" / "video_labels.tsv"
    videos = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            names = (row["labels"] or "").split(" | ")
            if len(names) >= 2 and not any("," in name for name in names):
                videos.append(names)
            if len(videos) == n_users * n_videos:
                break
    return [videos[i * n_videos : (i + 1) * n_videos] for i in range(n_users)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def profile(primary: list[str], secondary: list[str]) -> str:
    return (
        f"Primary interests: {', '.join(primary)}.\n"
        f"Secondary interests: {', '.join(secondary) or 'none'}.\n"
        f"Recommendation direction: more videos about {' and '.join(primary[:2])}."
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    examples, off, on = [], [], []
    for i, videos in enumerate(real_histories(3)):
        counts = Counter(name for video in videos for name in video)
        target = [name for name, _ in counts.most_common(2)]
        example_id = f"test-{i:06d}"
        examples.append(
            {
                "example_id": example_id,
                "user_id": f"u{i}",
                "instruction": "Summarize the user's interests.",
                "input": "\n".join(f"{j}) {', '.join(v)}" for j, v in enumerate(videos, 1)),
                "output": profile(target, []),
                "videos": videos,
                "target_primary": target,
                "target_secondary": [],
            }
        )
        off.append({"example_id": example_id, "predictions": [f"The user likes {target[0]}."]})
        texts = [profile(target, [videos[-1][-1]]), profile(target[:1], ["Made-up topic"])]
        on.append({"example_id": example_id, "predictions": [texts[i % 2]]})
    (tmp_path / "on").mkdir()
    meta = {"model": "SmolLM2", "adapter": "adapter/", "decoding": "greedy", "max_new_tokens": 64}
    (tmp_path / "on" / "predictions.meta.json").write_text(json.dumps(meta))
    return {
        "examples": write_jsonl(tmp_path / "test.jsonl", examples),
        "off": write_jsonl(tmp_path / "off.jsonl", off),
        "on": write_jsonl(tmp_path / "on" / "predictions.jsonl", on),
    }


def test_report_on_real_labels(files: dict[str, Path], tmp_path: Path) -> None:
    report, metrics_path = tmp_path / "report.md", tmp_path / "metrics.json"
    off, on = compare_runs(
        files["examples"], files["off"], files["on"], report, metrics_path, n_cases=2
    )
    assert off.format_compliance == 0.0 and off.primary_f1 == 0.0 and off.faithfulness is None
    assert on.format_compliance == 1.0 and on.run_on_rate == 0.0
    # Cases 0 and 2 name 3 real labels each; case 1 names one real label and one invented.
    assert (on.named_interests, on.invented_interests) == (8, 1)
    assert on.primary_f1 == pytest.approx((1 + 2 / 3 + 1) / 3)
    text = report.read_text()
    assert "| format compliance | 0.0% | 100.0% |" in text
    assert text.count("### Case") == 2
    assert "LoRA OFF (base): does not comply" in text
    assert "invented: Made-up topic" in text
    assert "adapter `adapter/`" in text
    saved = json.loads(metrics_path.read_text())
    assert saved["lora_on"]["invented_interests"] == 1


def test_cli_report_and_evaluate(files: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["interests", "report", "--examples", str(files["examples"]), "--off"]
    args += [str(files["off"]), "--on", str(files["on"]), "--out", str(tmp_path / "r.md")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "LoRA ON: compliance 1.000" in result.output
    args = ["interests", "evaluate", "--examples", str(files["examples"]), "--predictions"]
    result = runner.invoke(app, [*args, str(files["on"]), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert "| primary F1 |" in result.output


def test_bad_inputs_name_the_file_and_line(files: dict[str, Path], tmp_path: Path) -> None:
    stray = write_jsonl(tmp_path / "stray.jsonl", [{"example_id": "nope", "predictions": ["x"]}])
    with pytest.raises(ValueError, match=r"stray\.jsonl: 1 example_id\(s\) not in"):
        compare_runs(files["examples"], files["off"], stray, tmp_path / "r.md")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"example_id": "test-000000", "predictions": ["x"]}\n{oops\n')
    with pytest.raises(ValueError, match=r"broken\.jsonl, line 2 \(1-based\): not valid JSON"):
        compare_runs(files["examples"], files["off"], broken, tmp_path / "r.md")
    typed = write_jsonl(
        tmp_path / "typed.jsonl", [{"example_id": "test-000000", "predictions": "x"}]
    )
    with pytest.raises(ValueError, match=r"typed\.jsonl, line 1 \(1-based\), field 'predictions'"):
        compare_runs(files["examples"], files["off"], typed, tmp_path / "r.md")
    assert not (tmp_path / "r.md").exists()  # nothing half-written


def test_report_over_several_sets_with_constrained_and_showcase(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """In-distribution and unseen sets scored side by side; the showcase (no targets) shown only."""
    rows = [json.loads(line) for line in files["examples"].read_text().splitlines()]
    unseen = [
        {**row, "example_id": f"unseen-{i:06d}", "input": row["input"].replace(")", ".")}
        for i, row in enumerate(rows)
    ]
    showcase = [
        {
            "example_id": "showcase-000000",
            "system": "You are a helpful assistant.",
            "instruction": "Topics watched:\n1) Skincare\nSummarize the user's interests.",
            "input": "",
            "videos": [["Skincare"]],
        }
    ]
    sets = {"test": rows, "unseen": unseen, "showcase": showcase}
    flags: list[str] = []
    for name, examples in sets.items():
        path = write_jsonl(tmp_path / f"{name}.jsonl", examples)
        preds = {}
        for run in ("off", "on", "constrained"):
            texts = []
            for row in examples:
                labels = [label for video in row["videos"] for label in video]
                text = {
                    "off": "The user likes many things.",
                    "on": profile(labels[:1], labels[:1]),  # repeats its primary interest
                    "constrained": profile(labels[:1], []),
                }[run]
                texts.append({"example_id": row["example_id"], "predictions": [text]})
            preds[run] = write_jsonl(tmp_path / f"{name}-{run}.jsonl", texts)
        meta = {"model": "m", "adapter": "a/", "decoding": "greedy", "constrained_interests": True}
        (tmp_path / f"{name}-constrained.meta.json").write_text(json.dumps(meta))
        flags += ["--examples", f"{name}={path}", "--off", str(preds["off"])]
        flags += ["--on", str(preds["on"]), "--constrained", str(preds["constrained"])]
    report, metrics = tmp_path / "report.md", tmp_path / "metrics.json"
    args = ["interests", "report", *flags, "--out", str(report), "--metrics-out", str(metrics)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        "[unseen] LoRA ON (constrained): compliance 1.000, faithfulness 1.000, repeats 0.000"
        in (result.output)
    )
    assert "[unseen] LoRA ON (free): compliance 1.000, faithfulness 1.000, repeats 1.000" in (
        result.output
    )
    text = report.read_text()
    assert "| metric | LoRA OFF | LoRA ON (free) | LoRA ON (constrained) |" in text
    assert "## test: 3 held-out users" in text and "## unseen: 3 held-out users" in text
    assert "## Primary F1 (format compliance) on every set" in text
    assert "## showcase: 1 prompts, shown, not scored" in text
    assert "[system] You are a helpful assistant.\nTopics watched:" in text
    assert "hold by construction" in text
    saved = json.loads(metrics.read_text())
    assert set(saved["sets"]) == {"test", "unseen"}
    assert saved["sets"]["unseen"]["lora_on_constrained"]["repeat_rate"] == 0.0
    assert saved["lora_on"]["repeat_rate"] == 1.0  # the first set's runs at the top level too
    # One predictions file per examples file, or a clear error; a showcase cannot be "evaluated".
    bad = CliRunner().invoke(app, [*args[:-4], "--off", str(preds["off"]), "--out", str(report)])
    assert bad.exit_code == 2 and "--off given 4 time(s) but --examples 3" in bad.output
    lone = ["interests", "evaluate", "--examples", str(tmp_path / "showcase.jsonl")]
    bad = CliRunner().invoke(app, [*lone, "--predictions", str(preds["off"])])
    assert bad.exit_code == 2 and "no targets (target_primary)" in bad.output
