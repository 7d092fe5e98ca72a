"""`llmrec-train rank` (the LLM as a ranker): the cached-prompt batched scores equal a brute-force
full forward pass per candidate, the output follows the scores contract, and bad candidate files are
refused with the file, row and field named (nothing written).

The tests marked `slow` load the real SmolLM2; the others only read files. Nothing here asserts that the model ranks well: it is tiny and untrained.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from llmrec_train.config import RankConfig
from llmrec_train.errors import ContractError, UsageError
from llmrec_train.rank import (
    LIKELIHOODS_FILE,
    MODEL_NAME,
    common_prefix,
    full_forward_loglik,
    rank,
    read_candidate_source,
)
from llmrec_train.recommenders.data import read_catalogue, read_examples
from llmrec_train.recommenders.scores import read_scores


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write_scores(folder: Path, rows: list[tuple[str, int, float]], meta: dict | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "example_id": pa.array([r[0] for r in rows], pa.string()),
            "item_id": pa.array([r[1] for r in rows], pa.int64()),
            "score": pa.array([r[2] for r in rows], pa.float64()),
        }
    )
    pq.write_table(table, folder / "scores.parquet")
    if meta is not None:
        (folder / "scores.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def _source_rows(examples: Path, seed: int, per_example: int) -> list[tuple[str, int, float]]:
    """`per_example` real catalogue items per example (the target among them, history excluded),
    with seeded scores, in the contract's order (score descending, ties by item id)."""
    rng = np.random.default_rng(seed)
    out = []
    for r in _rows(examples):
        pool = [i for i in range(200) if i not in r["history_item_ids"]]
        items = {r["target_item_id"], *rng.choice(pool, per_example - 1, replace=False).tolist()}
        scored = sorted(((float(rng.normal()), int(i)) for i in items), key=lambda x: (-x[0], x[1]))
        out += [(r["example_id"], i, s) for s, i in scored]
    return out


def _meta(data_dir: Path, n_examples: int, top_n: int) -> dict:
    from llmrec_train._io import sha256_file

    return {
        "schema_version": 1,
        "model": "test-source",
        "n_examples": n_examples,
        "top_n": top_n,
        "items_sha256": sha256_file(data_dir / "items.parquet"),
    }


@pytest.fixture
def examples(data_dir: Path):
    n_items = read_catalogue(data_dir / "items.parquet").n_items
    return read_examples(data_dir / "valid.jsonl", n_items, need_target=False), n_items


# --------------------------------------------------------------------------- with the model


@pytest.mark.slow
def test_cached_batched_scores_equal_a_full_forward_pass_per_candidate(model_path, data_dir):
    from llmrec_train.data import read_examples as read_prompts
    from llmrec_train.data import read_item_titles
    from llmrec_train.generate import Generator
    from llmrec_train.rank import LikelihoodScorer

    gen = Generator(
        model_path, bf16=False
    )  # fp32: the comparison checks the algorithm, not rounding
    titles = read_item_titles(data_dir / "items.parquet")
    # Titles of very different token lengths, so that batches are padded; batch 3 over 7 titles.
    chosen = [titles[i] for i in (0, 1, 5, 42, 99, 123, 400)]
    completions = [gen.builder.encode_completion(f'"{t}"') for t in chosen]
    assert len({len(c) for c in completions}) > 2
    # The end-of-turn token closes each title, so "Heat (1995)" is not a prefix of a longer title.
    assert all(c[-1] in gen.builder.stop_token_ids for c in completions)
    prompts = [
        gen.builder.encode_prompt(ex.instruction, ex.input)
        for ex in read_prompts(data_dir / "valid.jsonl")[:3]
    ]
    shared = common_prefix(prompts)
    assert 20 < len(shared) < min(len(p) for p in prompts)  # the chat header and instruction
    scorer = LikelihoodScorer(
        gen.model, gen.tokenizer.pad_token_id, batch_size=3, shared_prefix=shared
    )
    for prompt in prompts:
        fast = scorer.score(prompt, completions)
        slow = np.array([full_forward_loglik(gen.model, prompt, c) for c in completions])
        np.testing.assert_allclose(fast, slow, atol=1e-3, rtol=0)
        assert np.all(slow < 0)


@pytest.mark.slow
def test_rank_writes_the_scores_contract(model_path, data_dir, tmp_path):
    examples_file = data_dir / "valid.jsonl"
    n = len(_rows(examples_file))
    rows_a, rows_b = _source_rows(examples_file, 0, 5), _source_rows(examples_file, 1, 4)
    a = _write_scores(tmp_path / "a", rows_a, _meta(data_dir, n, 5))
    b = _write_scores(tmp_path / "b", rows_b, None)
    common = {
        "examples": examples_file,
        "items": data_dir / "items.parquet",
        "candidates": [f"{a}:3", str(b / "scores.parquet")],
        "candidates_per_source": 2,
        "model": model_path,
        "batch_size": 2,
        "bf16": False,
    }
    out = rank(RankConfig(out=tmp_path / "sum", **common))
    meta, table = read_scores(out)
    assert meta["model"] == MODEL_NAME and meta["n_examples"] == n and meta["split"] == "valid"
    assert meta["score"] == "sum" and meta["llm"]["adapter"] is None
    assert [s["top_n"] for s in meta["candidates"]["sources"]] == [3, 2]
    rows = table.to_pylist()

    # Each example lists exactly the union of a's top 3 and b's top 2, best first.
    def top(source_rows: list[tuple[str, int, float]], eid: str, k: int) -> set[int]:
        return set([i for e, i, _ in source_rows if e == eid][:k])

    order = [r["example_id"] for r in _rows(examples_file)]
    listed: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        listed.setdefault(r["example_id"], []).append((r["item_id"], r["score"]))
    assert list(listed) == order  # grouped in the examples' order
    for eid, pairs in listed.items():
        assert {i for i, _ in pairs} == top(rows_a, eid, 3) | top(rows_b, eid, 2)
        assert pairs == sorted(pairs, key=lambda p: (-p[1], p[0]))
        assert all(np.isfinite(s) and s < 0 for _, s in pairs)
    assert meta["top_n"] == max(len(p) for p in listed.values())
    # The scores are the likelihood file's sums; with --length-normalize, its means.
    lik = pq.read_table(out / LIKELIHOODS_FILE).to_pylist()
    sums = {(r["example_id"], r["item_id"]): r["logp_sum"] for r in lik}
    assert {(r["example_id"], r["item_id"]): r["score"] for r in rows} == sums
    assert all(r["logp_mean"] == pytest.approx(r["logp_sum"] / r["n_tokens"]) for r in lik)
    normalised = rank(RankConfig(out=tmp_path / "mean", length_normalize=True, **common))
    meta_mean, table_mean = read_scores(normalised)
    assert meta_mean["score"] == "mean"
    means = {(r["example_id"], r["item_id"]): r["logp_mean"] for r in lik}
    for r in table_mean.to_pylist():
        assert r["score"] == pytest.approx(means[(r["example_id"], r["item_id"])], abs=1e-3)


@pytest.mark.slow
def test_prior_weight_subtracts_each_titles_likelihood_without_history(
    model_path, data_dir, tmp_path
):
    from llmrec_train.data import read_examples as read_prompts
    from llmrec_train.data import read_item_titles
    from llmrec_train.generate import Generator

    examples_file = data_dir / "valid.jsonl"
    n = len(_rows(examples_file))
    a = _write_scores(tmp_path / "a", _source_rows(examples_file, 0, 4), _meta(data_dir, n, 4))
    common = {
        "examples": examples_file,
        "items": data_dir / "items.parquet",
        "candidates": [str(a)],
        "model": model_path,
        "batch_size": 3,
        "bf16": False,
    }
    plain = pq.read_table(rank(RankConfig(out=tmp_path / "sum", **common)) / LIKELIHOODS_FILE)
    out = rank(RankConfig(out=tmp_path / "pmi", prior_weight=0.5, **common))
    meta, table = read_scores(out)
    assert meta["prior_weight"] == 0.5 and meta["score"] == "sum minus 0.5 x prior"
    lik = pq.read_table(out / LIKELIHOODS_FILE).to_pylist()
    assert "logp_prior" not in plain.column_names
    # The conditional likelihoods do not change; the score subtracts half the prior.
    assert [r["logp_sum"] for r in lik] == plain.column("logp_sum").to_pylist()
    want = {(r["example_id"], r["item_id"]): r["logp_sum"] - 0.5 * r["logp_prior"] for r in lik}
    got = {(r["example_id"], r["item_id"]): r["score"] for r in table.to_pylist()}
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k], abs=1e-6) for k in want)
    # The prior is the title's log-likelihood after the instruction with an empty input: one value
    # per title, the same in every example, equal to a full forward pass.
    gen = Generator(model_path, bf16=False)
    titles = read_item_titles(data_dir / "items.parquet")
    instruction = read_prompts(examples_file)[0].instruction
    empty = gen.builder.encode_prompt(instruction, "")
    by_item: dict[int, set[float]] = {}
    for r in lik:
        by_item.setdefault(r["item_id"], set()).add(round(r["logp_prior"], 9))
    assert all(len(v) == 1 for v in by_item.values())
    for item in list(by_item)[:3]:
        completion = gen.builder.encode_completion(f'"{titles[item]}"')
        expected = full_forward_loglik(gen.model, empty, completion)
        assert next(iter(by_item[item])) == pytest.approx(expected, abs=1e-3)


# --------------------------------------------------------------------------- files only


def test_candidate_spec_parsing(tmp_path):
    config = RankConfig(
        examples=tmp_path / "v.jsonl",
        items=tmp_path / "i.parquet",
        out=tmp_path / "o",
        candidates=["runs/sasrec/valid:50", "runs/content/valid"],
        candidates_per_source=7,
    )
    assert config.candidate_sources() == [
        (Path("runs/sasrec/valid"), 50),
        (Path("runs/content/valid"), 7),
    ]
    with pytest.raises(UsageError, match=r"--candidates x:0: N must be >= 1"):
        RankConfig(examples="v", items="i", out="o", candidates=["x:0"])
    with pytest.raises(UsageError, match="at least one score file"):
        RankConfig(examples="v", items="i", out="o", candidates=[])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda rows: [("nobody", *rows[0][1:]), *rows[1:]],
            r"row 0, field 'example_id': 'nobody' is not an example",
        ),
        (
            lambda rows: [*rows[:3], (rows[3][0], 10**7, rows[3][2]), *rows[4:]],
            r"row 3, field 'item_id': expected an item id in 0\.\.",
        ),
        (
            lambda rows: [*rows[:2], (*rows[2][:2], float("nan")), *rows[3:]],
            r"row 2, field 'score': expected a finite number, got nan",
        ),
        (
            lambda rows: [*rows, rows[1]],
            r"row \d+, field 'item_id': duplicate pair \(example_id 'valid-000000'",
        ),
        (
            lambda rows: [r for r in rows if r[0] != "valid-000004"],
            r"field 'example_id': no rows for example 'valid-000004'",
        ),
    ],
)
def test_bad_candidate_files_name_file_row_and_field(examples, data_dir, tmp_path, change, message):
    ex, n_items = examples
    from llmrec_train._io import sha256_file

    rows = change(_source_rows(data_dir / "valid.jsonl", 0, 5))
    folder = _write_scores(tmp_path / "bad", rows, None)
    with pytest.raises(ContractError, match=r"bad/scores\.parquet, " + message):
        read_candidate_source(folder, 3, ex, n_items, sha256_file(data_dir / "items.parquet"))


def test_bad_candidate_meta_and_types(examples, data_dir, tmp_path):
    ex, n_items = examples
    rows = _source_rows(data_dir / "valid.jsonl", 0, 5)
    meta = {**_meta(data_dir, len(ex), 5), "items_sha256": "0" * 64}
    folder = _write_scores(tmp_path / "other", rows, meta)
    sha = _meta(data_dir, 0, 0)["items_sha256"]
    with pytest.raises(
        ContractError,
        match=r"scores\.meta\.json, field 'items_sha256': scores computed for another",
    ):
        read_candidate_source(folder, 3, ex, n_items, sha)
    table = pa.table(
        {
            "example_id": [r[0] for r in rows],
            "item_id": [str(r[1]) for r in rows],
            "score": [r[2] for r in rows],
        }
    )
    pq.write_table(table, tmp_path / "types.parquet")
    with pytest.raises(
        ContractError, match=r"types\.parquet, field 'item_id': expected an integer, got string"
    ):
        read_candidate_source(tmp_path / "types.parquet", 3, ex, n_items, sha)
    with pytest.raises(UsageError, match="missing: candidate file not found"):
        read_candidate_source(tmp_path / "missing", 3, ex, n_items, sha)
    # The top N per example, best first (ties by item id), from a valid file.
    good = read_candidate_source(_write_scores(tmp_path / "good", rows, None), 2, ex, n_items, sha)
    first = [i for e, i, _ in rows if e == ex.example_ids[0]][:2]
    assert good.items[0] == first and all(len(c) == 2 for c in good.items)


def test_cli_bad_candidates_exit_2_and_write_nothing(data_dir, tmp_path):
    rows = _source_rows(data_dir / "valid.jsonl", 0, 5)
    rows[6] = (rows[6][0], rows[6][1], float("inf"))
    bad = _write_scores(tmp_path / "bad", rows, None)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmrec_train",
            "rank",
            "--examples",
            str(data_dir / "valid.jsonl"),
            "--items",
            str(data_dir / "items.parquet"),
            "--candidates",
            f"{bad}:10",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert "row 6, field 'score': expected a finite number, got inf" in proc.stderr
    assert not out.exists()


def test_llmrec_eval_ranks_file_as_candidates(examples, data_dir, tmp_path):
    """An evaluated row's ranks.parquet (content baseline, LLM grounding) gives its top items."""
    ex, n_items = examples
    sha = _meta(data_dir, 0, 0)["items_sha256"]
    tops = [[(7 * k + j) % 300 for j in range(6)] for k in range(len(ex))]
    folder = tmp_path / "content"
    folder.mkdir()
    table = pa.table(
        {
            "example_id": ex.example_ids,
            "target_item_id": pa.array(ex.targets, pa.int64()),
            "rank": pa.array([0] * len(ex), pa.int64()),
            "top_item_ids": pa.array(tops, pa.list_(pa.int64())),
        }
    )
    pq.write_table(table, folder / "ranks.parquet")
    (folder / "metrics.json").write_text(json.dumps({"name": "content"}), encoding="utf-8")
    source = read_candidate_source(folder, 4, ex, n_items, sha)
    assert source.items == [t[:4] for t in tops] and source.model == "content"
    pq.write_table(table.slice(1), folder / "ranks.parquet")
    with pytest.raises(
        ContractError, match=r"field 'example_id': no row for example 'valid-000000'"
    ):
        read_candidate_source(folder, 4, ex, n_items, sha)
    bad = table.set_column(3, "top_item_ids", pa.array([[1, 1]] + tops[1:], pa.list_(pa.int64())))
    pq.write_table(bad, folder / "ranks.parquet")
    with pytest.raises(
        ContractError, match=r"row 0, field 'top_item_ids': expected a non-empty list of distinct"
    ):
        read_candidate_source(folder, 4, ex, n_items, sha)
