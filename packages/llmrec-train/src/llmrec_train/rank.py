"""`llmrec-train rank`: the LLM as a ranker.

Each candidate item is scored by the model's log-likelihood of its title as the answer to the
example's prompt: log P(`"Title"` + end of turn | prompt), the completion exactly as training teaches
it and as constrained generation would emit it (templates.py), so `"Heat (1995)"` and
`"Heat (1995) 2"` are told apart by the end token. Candidates are the union of the top items of one or
more score files (docs/contracts.md); the output is a score file in the same contract, which
llmrec-eval reads as a ranking row (`baseline scores`) or as a re-weighting (`--reweight scores`).

Cost: the prompt runs once per example; its key/value cache is then expanded over a batch of
candidate titles (padded on the right, masked), so each title costs only its own ~10-20 tokens.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from llmrec_train._io import (
    atomic_write_json,
    check_writable,
    default_file_mode,
    package_versions,
    sha256_file,
)
from llmrec_train.config import RankConfig
from llmrec_train.data import read_examples as read_prompts
from llmrec_train.data import read_item_titles
from llmrec_train.errors import ContractError, UsageError
from llmrec_train.recommenders.data import Examples, read_catalogue, read_examples
from llmrec_train.recommenders.scores import META_FILE, SCORES_FILE, write_scores

# torch is imported where a model runs: bad input to `rank` is refused without it (seconds, not
# the ~12 s its import takes on a small CPU); tests/test_cli_startup.py checks.
if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

LIKELIHOODS_FILE = "likelihoods.parquet"
RANKS_FILE = "ranks.parquet"  # llmrec-eval's per-example rankings, also accepted as candidates
MODEL_NAME = "llm-likelihood"
"""`model` of the written scores.meta.json (the LLM itself is recorded under `llm`)."""


# --------------------------------------------------------------------------- candidates


@dataclass
class CandidateSource:
    """One --candidates file: its top `top_n` items per example (in the examples' order)."""

    path: Path
    top_n: int
    model: str | None  # the source's scores.meta.json `model`, if it has a meta file
    items: list[list[int]]


def _fail(path: Path, msg: str, row: int | None = None, fld: str | None = None) -> ContractError:
    return ContractError(msg, file=path, row=row, field=fld)


def read_candidate_source(
    path: Path, top_n: int, examples: Examples, n_items: int, items_sha256: str
) -> CandidateSource:
    """Read and validate a score file (contract `scores.parquet`, or its folder) and keep each
    example's best `top_n` items (score descending, ties by item id). Errors name the file, the
    0-based row and the field. An llmrec-eval `ranks.parquet` (any evaluated row: the content
    baseline, the LLM's grounding) is read too: its `top_item_ids`, best first."""
    import pyarrow.parquet as pq

    path = Path(path)
    if path.is_dir():
        has_ranks = (path / RANKS_FILE).is_file() and not (path / SCORES_FILE).is_file()
        path = path / (RANKS_FILE if has_ranks else SCORES_FILE)
    if not path.is_file():
        raise UsageError(
            f"candidate file not found (--candidates takes a {SCORES_FILE}, an llmrec-eval "
            f"{RANKS_FILE}, or the folder holding one)",
            file=path,
        )
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for a file that is not parquet
        raise _fail(path, f"not a readable parquet file ({e})") from e
    if "top_item_ids" in table.column_names and "item_id" not in table.column_names:
        return _read_ranks(path, table, top_n, examples, n_items)
    kinds = {
        "example_id": ("a string", lambda t: str(t) in ("string", "large_string")),
        "item_id": ("an integer", lambda t: str(t).startswith(("int", "uint"))),
        "score": ("a float", lambda t: str(t) in ("double", "float", "halffloat")),
    }
    for col, (what, ok) in kinds.items():
        if col not in table.column_names:
            raise _fail(path, f"missing column {col!r} (columns: {table.column_names})")
        column = table.column(col)
        if not ok(column.type):
            raise _fail(path, f"expected {what}, got {column.type}", fld=col)
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise _fail(path, f"expected {what}, got null", row=row, fld=col)
    if table.num_rows == 0:
        raise _fail(path, "no rows (expected scores for every example)")

    row_of = {eid: i for i, eid in enumerate(examples.example_ids)}
    ex_ids = table.column("example_id").to_pylist()
    rows = np.fromiter((row_of.get(e, -1) for e in ex_ids), dtype=np.int64, count=len(ex_ids))
    bad = np.flatnonzero(rows < 0)
    if bad.size:
        r = int(bad[0])
        raise _fail(
            path, f"{ex_ids[r]!r} is not an example of {examples.path}", row=r, fld="example_id"
        )
    items = table.column("item_id").to_numpy().astype(np.int64)
    bad = np.flatnonzero((items < 0) | (items >= n_items))
    if bad.size:
        r = int(bad[0])
        raise _fail(
            path,
            f"expected an item id in 0..{n_items - 1} (items.parquet), got {items[r]}",
            row=r,
            fld="item_id",
        )
    scores = table.column("score").to_numpy().astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(scores))
    if bad.size:
        r = int(bad[0])
        raise _fail(path, f"expected a finite number, got {scores[r]}", row=r, fld="score")
    order = np.lexsort((items, -scores, rows))  # by example, best score first, ties by item id
    rows_s, items_s = rows[order], items[order]
    same = np.flatnonzero((rows_s[1:] == rows_s[:-1]) & (items_s[1:] == items_s[:-1]))
    if same.size:
        r = int(max(order[same[0]], order[same[0] + 1]))
        raise _fail(
            path,
            f"duplicate pair (example_id {ex_ids[r]!r}, item_id {items[r]})",
            row=r,
            fld="item_id",
        )
    counts = np.bincount(rows, minlength=len(examples))
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        raise _fail(
            path,
            f"no rows for example {examples.example_ids[missing[0]]!r} of {examples.path} "
            f"({missing.size} example(s) missing; every example needs at least one row)",
            fld="example_id",
        )
    meta = _read_source_meta(path, len(examples), items_sha256)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    kept = [items_s[a : min(b, a + top_n)].tolist() for a, b in itertools.pairwise(offsets)]
    return CandidateSource(path, top_n, meta.get("model") if meta else None, kept)


def _read_ranks(
    path: Path, table: Any, top_n: int, examples: Examples, n_items: int
) -> CandidateSource:
    """llmrec-eval's `ranks.parquet`: one row per example, `top_item_ids` best first."""
    if "example_id" not in table.column_names:
        raise _fail(path, f"missing column 'example_id' (columns: {table.column_names})")
    row_of = {eid: i for i, eid in enumerate(examples.example_ids)}
    kept: list[list[int] | None] = [None] * len(examples)
    ids = table.column("example_id").to_pylist()
    tops = table.column("top_item_ids").to_pylist()
    for r, (eid, top) in enumerate(zip(ids, tops, strict=True)):
        if eid not in row_of:
            raise _fail(
                path, f"{eid!r} is not an example of {examples.path}", row=r, fld="example_id"
            )
        if kept[row_of[eid]] is not None:
            raise _fail(path, f"{eid!r} appears twice", row=r, fld="example_id")
        ok = isinstance(top, list) and all(isinstance(v, int) and 0 <= v < n_items for v in top)
        if not ok or not top or len(set(top)) != len(top):
            raise _fail(
                path,
                f"expected a non-empty list of distinct item ids in 0..{n_items - 1}, got {top!r}",
                row=r,
                fld="top_item_ids",
            )
        kept[row_of[eid]] = top[:top_n]
    missing = [i for i, k in enumerate(kept) if k is None]
    if missing:
        raise _fail(
            path,
            f"no row for example {examples.example_ids[missing[0]]!r} of {examples.path} "
            f"({len(missing)} example(s) missing)",
            fld="example_id",
        )
    metrics = path.with_name("metrics.json")
    name = None
    if metrics.is_file():
        try:
            name = json.loads(metrics.read_text(encoding="utf-8")).get("name")
        except (json.JSONDecodeError, AttributeError):
            name = None  # informative only
    return CandidateSource(path, top_n, name, [k for k in kept if k is not None])


def _read_source_meta(path: Path, n_examples: int, items_sha256: str) -> dict[str, Any] | None:
    """The contract fields of `scores.meta.json` beside a candidate file, if it has one."""
    meta_path = path.with_name(META_FILE)
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise _fail(meta_path, f"not valid JSON ({e.msg})") from e
    if not isinstance(meta, dict):
        raise _fail(meta_path, "expected a JSON object")
    if meta.get("n_examples") != n_examples:
        raise _fail(
            meta_path,
            f"expected {n_examples} (the examples file's count), got {meta.get('n_examples')!r}",
            fld="n_examples",
        )
    if meta.get("items_sha256") != items_sha256:
        raise _fail(
            meta_path,
            f"scores computed for another items.parquet (sha256 {str(meta.get('items_sha256'))[:12]}..., "
            f"the catalogue has {items_sha256[:12]}...)",
            fld="items_sha256",
        )
    return meta


def union_candidates(
    sources: list[CandidateSource], histories: list[list[int]], exclude_history: bool
) -> list[list[int]]:
    """Per example: the sources' items, each once, in order of first appearance (source order)."""
    out = []
    for i, history in enumerate(histories):
        seen = set(history) if exclude_history else set()
        merged = []
        for source in sources:
            for item in source.items[i]:
                if item not in seen:
                    seen.add(item)
                    merged.append(item)
        out.append(merged)
    return out


# --------------------------------------------------------------------------- scoring


def common_prefix(seqs: list[list[int]]) -> list[int]:
    """The longest list of token ids every sequence starts with."""
    if not seqs:
        return []
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for s in seqs[1:]:
        k = 0
        while k < n and s[k] == first[k]:
            k += 1
        n = k
    return first[:n]


class LikelihoodScorer:
    """Sum of log-probabilities of candidate completions (token id lists) after a prompt.

    Three levels of sharing, none of which changes a score (tests compare with a full forward pass):
    - `shared_prefix`: the token ids every prompt of a run starts with (chat header, instruction,
      history preamble) run once per run; each example runs only the rest of its prompt.
    - the tokens every candidate of an example starts with (the opening quote) join the prompt pass.
    - the prompt's key/value cache is expanded over each batch of candidates (right padding, masked).
    """

    def __init__(
        self,
        model: Any,
        pad_token_id: int,
        batch_size: int = 32,
        shared_prefix: list[int] | None = None,
    ) -> None:
        self.model = model
        self.pad_token_id = pad_token_id
        self.batch_size = batch_size
        self.device = next(model.parameters()).device
        self.shared_prefix = list(shared_prefix or [])
        self._prefix_kv: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def _cache(self, kv: list[tuple[torch.Tensor, torch.Tensor]], batch: int = 1) -> Any:
        """A new cache holding `kv` (the model appends to a cache, so each pass gets its own),
        expanded over `batch` rows without copying until the model concatenates its own."""
        from transformers import DynamicCache

        return DynamicCache(
            ddp_cache_data=[
                (k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in kv
            ],
            config=self.model.config,
        )

    def _run_context(self, context: list[int], n_scored: int) -> tuple[torch.Tensor, Any]:
        """Run `context` (the prompt, then the candidates' common tokens): log-probabilities of the
        last `n_scored` positions' next tokens, float32 [n_scored, vocab], and the cache."""
        import torch

        prefix = self.shared_prefix
        start = (
            len(prefix)
            if 0 < len(prefix) < len(context) - n_scored + 1 and context[: len(prefix)] == prefix
            else 0
        )
        past = None
        if start:
            if self._prefix_kv is None:
                out = self.model(
                    input_ids=torch.tensor([prefix], device=self.device),
                    use_cache=True,
                    logits_to_keep=1,
                )
                self._prefix_kv = [(k, v) for k, v, *_ in out.past_key_values]
            past = self._cache(self._prefix_kv)
        out = self.model(
            input_ids=torch.tensor([context[start:]], device=self.device),
            past_key_values=past,
            use_cache=True,
            logits_to_keep=n_scored,  # the other positions' logits are never used
        )
        return torch.log_softmax(out.logits[0].float(), dim=-1), out.past_key_values

    def score(self, prompt_ids: list[int], completions: list[list[int]]) -> np.ndarray:
        """float64 [len(completions)]: log P(completion | prompt), summed over its tokens."""
        import torch

        with torch.inference_mode():
            return self._score(prompt_ids, completions)

    def _score(self, prompt_ids: list[int], completions: list[list[int]]) -> np.ndarray:
        import torch

        # Tokens all candidates start with (at least one token of each is left to batch).
        common = common_prefix(completions)[: min(len(c) for c in completions) - 1]
        context = list(prompt_ids) + common
        logp, prompt_cache = self._run_context(context, len(common) + 1)
        shared = float(
            logp[
                torch.arange(len(common), device=self.device),
                torch.tensor(common, dtype=torch.long, device=self.device),
            ]
            .double()
            .sum()
        )
        first = logp[-1]  # predicts every candidate's first token after the common ones
        kv = [(k, v) for k, v, *_ in prompt_cache]
        n_context = len(context)
        rests = [c[len(common) :] for c in completions]
        sums = np.full(len(completions), shared, dtype=np.float64)
        # Shortest first: a batch holds titles of similar length (little padding).
        order = sorted(range(len(rests)), key=lambda i: len(rests[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            seqs = [rests[i] for i in idx]
            width = max(len(s) for s in seqs)
            head = first[torch.tensor([s[0] for s in seqs], device=self.device)].double()
            if width == 1:
                sums[idx] += head.cpu().numpy()
                continue
            n = len(seqs)
            # Feed all but each sequence's last token: token j+1 is predicted at position j.
            ids = torch.full((n, width), self.pad_token_id, dtype=torch.long)
            for r, s in enumerate(seqs):
                ids[r, : len(s)] = torch.tensor(s)
            ids = ids.to(self.device)
            lengths = torch.tensor([len(s) for s in seqs], device=self.device)
            steps = torch.arange(width - 1, device=self.device)
            real = steps[None, :] < (lengths[:, None] - 1)  # position j feeds a real token
            attention = torch.cat(
                [torch.ones((n, n_context), dtype=torch.long, device=self.device), real.long()],
                dim=1,
            )
            logits = self.model(
                input_ids=ids[:, :-1],
                attention_mask=attention,
                past_key_values=self._cache(kv, n),
                use_cache=True,
            ).logits.float()  # [n, width-1, vocab]
            token_logp = logits.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1) - torch.logsumexp(
                logits, dim=-1
            )
            sums[idx] += (head + (token_logp.double() * real).sum(dim=1)).cpu().numpy()
        return sums


def full_forward_loglik(model: Any, prompt_ids: list[int], completion: list[int]) -> float:
    """The reference: one full forward pass over prompt + completion, no cache, no padding."""
    import torch

    with torch.inference_mode():
        return _full_forward_loglik(model, prompt_ids, completion)


def _full_forward_loglik(model: Any, prompt_ids: list[int], completion: list[int]) -> float:
    import torch

    device = next(model.parameters()).device
    ids = torch.tensor([prompt_ids + completion], device=device)
    logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
    n = len(prompt_ids)
    positions = torch.arange(n - 1, n - 1 + len(completion), device=device)
    return float(logp[positions, torch.tensor(completion, device=device)].double().sum())


# --------------------------------------------------------------------------- command


def _clear_outputs(out: Path) -> None:
    """The previous run's files go first, so an interrupted run leaves no score file behind
    (stale or half-written); each new file is written through a temporary file."""
    for name in (META_FILE, SCORES_FILE, LIKELIHOODS_FILE, "manifest.json"):
        (out / name).unlink(missing_ok=True)


def title_priors(
    scorer: LikelihoodScorer, prompt_ids: list[int], completions: list[tuple[int, ...]]
) -> dict[tuple[int, ...], float]:
    """log P(completion | prompt) for each distinct completion, scored in chunks: the prior of each
    title after a prompt without history (one prompt pass per chunk)."""
    chunk = 1024  # bounds the per-call lists, not the batch (scorer.batch_size)
    out: dict[tuple[int, ...], float] = {}
    distinct = list(dict.fromkeys(completions))
    for start in range(0, len(distinct), chunk):
        part = distinct[start : start + chunk]
        values = scorer.score(prompt_ids, [list(c) for c in part])
        out.update(zip(part, values.tolist(), strict=True))
    return out


def _write_likelihoods(
    path: Path,
    example_ids: list[str],
    candidates: list[list[int]],
    sums,
    n_tokens,
    priors=None,
) -> None:
    import os
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    counts = [len(c) for c in candidates]
    total = np.concatenate(sums) if sums else np.zeros(0)
    tokens = np.concatenate(n_tokens).astype(np.int64) if n_tokens else np.zeros(0, np.int64)
    table = pa.table(
        {
            "example_id": pa.array(
                np.repeat(np.array(example_ids, dtype=object), counts), pa.string()
            ),
            "item_id": pa.array(np.concatenate(candidates).astype(np.int64), pa.int64()),
            "logp_sum": pa.array(total, pa.float64()),
            "logp_mean": pa.array(total / np.maximum(tokens, 1), pa.float64()),
            "n_tokens": pa.array(tokens, pa.int64()),
        }
    )
    if priors is not None:
        prior = np.concatenate(priors) if priors else np.zeros(0)
        table = table.append_column("logp_prior", pa.array(prior, pa.float64()))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.chmod(tmp, default_file_mode())  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def rank(config: RankConfig) -> Path:
    """Run `llmrec-train rank`; returns the output folder."""
    from llmrec_train.generate import Generator

    started = time.time()
    check_writable(config.out, "--out")
    catalogue = read_catalogue(config.items)
    titles = read_item_titles(config.items)
    examples = read_examples(config.examples, catalogue.n_items, need_target=False)
    prompts = read_prompts(config.examples, require_output=False)
    items_sha256 = sha256_file(config.items)
    sources = [
        read_candidate_source(path, n, examples, catalogue.n_items, items_sha256)
        for path, n in config.candidate_sources()
    ]
    candidates = union_candidates(sources, examples.histories, config.exclude_history)
    empty = [i for i, c in enumerate(candidates) if not c]
    if empty:
        raise UsageError(
            f"example {examples.example_ids[empty[0]]!r} has no candidate left "
            f"({len(empty)} example(s)): every candidate is in its history; take more per source",
            file=config.examples,
        )
    gen = Generator(
        config.model,
        adapter=config.adapter,
        template=config.template,
        prompt_format=config.prompt_format,
        quantization=config.quantization,
        bf16=config.bf16,
    )
    prompt_ids = [gen.builder.encode_prompt(ex.instruction, ex.input) for ex in prompts]
    scorer = LikelihoodScorer(
        gen.model,
        gen.tokenizer.pad_token_id,
        config.batch_size,
        # What every prompt starts with (chat header, instruction, history preamble) runs once.
        shared_prefix=common_prefix(prompt_ids)[: min(len(p) for p in prompt_ids) - 1],
    )
    _clear_outputs(config.out)

    title_ids: dict[int, list[int]] = {}  # item -> completion token ids, tokenized once per run
    for items in candidates:
        for item in items:
            if item not in title_ids:
                title_ids[item] = gen.builder.encode_completion(f'"{titles[item]}"')
    sums: list[np.ndarray] = []
    n_tokens: list[np.ndarray] = []
    t0 = time.perf_counter()
    # The prior of each title: after each distinct instruction with an empty input (no history).
    priors: dict[tuple[str, tuple[int, ...]], float] = {}
    if config.prior_weight:
        instructions = sorted({p.instruction for p in prompts})
        for instruction in tqdm(instructions, desc="title priors", unit="instruction"):
            used = [
                tuple(title_ids[item])
                for p, items in zip(prompts, candidates, strict=True)
                if p.instruction == instruction
                for item in items
            ]
            empty_prompt = gen.builder.encode_prompt(instruction, "")
            for ids, value in title_priors(scorer, empty_prompt, used).items():
                priors[(instruction, ids)] = value
    example_priors: list[np.ndarray] = []
    bar = tqdm(prompt_ids, desc="ranking", unit="example")
    for prompt, items, example in zip(bar, candidates, prompts, strict=True):
        # Items sharing a title share a score: each distinct completion is scored once.
        distinct: dict[tuple[int, ...], int] = {}
        for item in items:
            distinct.setdefault(tuple(title_ids[item]), len(distinct))
        seqs = [list(s) for s in distinct]
        values = scorer.score(prompt, seqs)
        pick = [distinct[tuple(title_ids[item])] for item in items]
        sums.append(values[pick])
        n_tokens.append(np.array([len(title_ids[item]) for item in items]))
        if priors:
            example_priors.append(
                np.array([priors[(example.instruction, tuple(title_ids[i]))] for i in items])
            )
    seconds = time.perf_counter() - t0

    per_example = []
    for r, (s, t) in enumerate(zip(sums, n_tokens, strict=True)):
        summed = s - config.prior_weight * example_priors[r] if priors else s
        per_example.append(summed / t if config.length_normalize else summed)

    written = 0

    def score_block(histories: list[list[int]]) -> np.ndarray:
        # write_scores asks for consecutive blocks of examples: dense rows, -inf = not a candidate.
        nonlocal written
        block = np.full((len(histories), catalogue.n_items), -np.inf)
        for r in range(len(histories)):
            block[r, candidates[written + r]] = per_example[written + r]
        written += len(histories)
        return block

    split = config.examples.stem
    llm = {
        "model": gen.model_name,
        "model_path": gen.model_path,
        "adapter": str(config.adapter) if config.adapter is not None else None,
        "lora": config.adapter is not None,
        "lora_merged": gen.merged_lora,  # LoRA folded into the weights (same scores, faster)
        "template": gen.template,
        "prompt_format": gen.builder.resolved_format,
        "dtype": str(gen.dtype).removeprefix("torch."),
        "quantization": config.quantization,
    }
    sizes = [len(c) for c in candidates]
    candidate_info = {
        "sources": [{"path": str(s.path), "top_n": s.top_n, "model": s.model} for s in sources],
        "exclude_history": config.exclude_history,
        "per_example": {
            "min": min(sizes),
            "mean": round(float(np.mean(sizes)), 2),
            "max": max(sizes),
        },
    }
    score_info = {
        "score": ("mean" if config.length_normalize else "sum")
        + (f" minus {config.prior_weight:g} x prior" if config.prior_weight else ""),
        "length_normalize": config.length_normalize,
        "prior_weight": config.prior_weight,
        "prior": "log P(title | the instruction with an empty input)" if priors else None,
        "completion": "the quoted title then the end-of-turn token, as training and generation use",
    }
    config.out.mkdir(parents=True, exist_ok=True)
    _write_likelihoods(
        config.out / LIKELIHOODS_FILE,
        examples.example_ids,
        candidates,
        sums,
        n_tokens,
        example_priors if priors else None,
    )
    versions = package_versions()
    write_scores(
        config.out,
        examples,
        score_block,
        items=config.items,
        model=MODEL_NAME,
        top_n=max(sizes),
        exclude_history=config.exclude_history,
        config=config.to_dict(),
        seed=0,
        versions=versions,
        extra={
            "split": split,
            "llm": llm,
            "candidates": candidate_info,
            **score_info,
            "examples_per_s": round(len(examples) / seconds, 3) if seconds > 0 else None,
            "wall_time_s": round(time.time() - started, 2),  # the whole run, not only the writing
        },
    )
    atomic_write_json(
        config.out / "manifest.json",
        {
            "stage": "llmrec-train rank",
            "config": config.to_dict(),
            "split": split,
            "llm": llm,
            "candidates": candidate_info,
            **score_info,
            "inputs_sha256": {
                str(p): sha256_file(p)
                for p in [config.examples, config.items, *(s.path for s in sources)]
            },
            "n_examples": len(examples),
            "n_candidates": int(sum(sizes)),
            "scoring_s": round(seconds, 2),
            "examples_per_s": round(len(examples) / seconds, 3) if seconds > 0 else None,
            "versions": versions,
            "wall_time_s": round(time.time() - started, 2),
        },
    )
    log.info(
        "ranked %d candidates for %d examples (%.2f examples/s); wrote %s",
        sum(sizes),
        len(examples),
        len(examples) / seconds if seconds > 0 else math.inf,
        config.out,
    )
    return config.out
