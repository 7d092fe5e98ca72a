"""Batched generation over contract examples: greedy, sampling or beam search, optionally constrained to
catalogue titles or to interest profiles over the example's own labels; writes predictions.jsonl and
predictions.meta.json (docs/contracts.md)."""

from __future__ import annotations

import copy
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tqdm.auto import tqdm

from llmrec_train._io import (
    atomic_write_json,
    atomic_write_jsonl,
    check_writable,
    package_versions,
    sha256_file,
)
from llmrec_train.config import DEFAULT_MODEL, GenerateConfig
from llmrec_train.data import Example, read_examples, read_item_titles
from llmrec_train.errors import UsageError
from llmrec_train.models import (
    bf16_supported,
    default_device,
    load_model,
    load_tokenizer,
    resolve_model,
)
from llmrec_train.templates import PromptBuilder
from llmrec_train.train import ADAPTER_META

# torch and the logits processors (transformers) are imported where a model runs: bad input to
# `generate` (a missing file, an empty one) fails in a second, not after 30 s of imports.
if TYPE_CHECKING:
    import torch
    from transformers import LogitsProcessor, PreTrainedModel

    from llmrec_train.constrained import TitleTrie

log = logging.getLogger(__name__)


def adapter_settings(adapter: Path | None) -> dict[str, Any]:
    """The training settings recorded beside a LoRA adapter (llmrec_train.json: its base `model`,
    `template`, `prompt_format`, ...); {} without an adapter or without that record."""
    if adapter is None:
        return {}
    if not (Path(adapter) / "adapter_config.json").is_file():
        raise UsageError(
            "not a PEFT adapter folder; expected adapter_config.json in it", file=adapter
        )
    meta = Path(adapter) / ADAPTER_META
    return json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}


class Generator:
    """A loaded model (with or without a LoRA adapter) and its prompt builder, ready to answer examples."""

    def __init__(
        self,
        model: str | None,
        *,
        adapter: Path | None = None,
        template: str | None = None,
        prompt_format: str | None = None,
        quantization: str = "none",
        bf16: bool | None = None,
        merge_lora: bool = True,
    ) -> None:
        import torch

        # What is not given comes from the adapter's training record, else the defaults.
        trained = adapter_settings(adapter)
        self.model_name: str = model or trained.get("model") or DEFAULT_MODEL
        self.template = template or trained.get("template", "basic")
        self.prompt_format = prompt_format or trained.get("prompt_format", "auto")
        self.model_path = resolve_model(self.model_name)
        self.tokenizer = load_tokenizer(self.model_path)
        self.tokenizer.padding_side = "left"
        self.builder = PromptBuilder(self.tokenizer, self.template, self.prompt_format)
        self.device = default_device()
        use_bf16 = bf16_supported(self.device) if bf16 is None else bf16
        self.dtype = torch.bfloat16 if use_bf16 else torch.float32
        net = load_model(
            self.model_path, dtype=self.dtype, quantization=quantization, device=self.device
        )
        if adapter is not None:
            from peft import PeftModel

            peft_net = PeftModel.from_pretrained(net, str(adapter))
            if merge_lora and quantization == "none":
                # W + B A folded into the weights: one matmul per layer instead of three. `net` is this
                # process's own copy of the base model; the adapter folder is untouched.
                net = peft_net.merge_and_unload(safe_merge=True)
            else:
                # PeftModel forwards what it lacks (generate, config) to the model it wraps.
                net = cast("PreTrainedModel", peft_net)
        self.merged_lora = adapter is not None and merge_lora and quantization == "none"
        self.model = net.eval()
        self.end_ids = sorted({*self.builder.stop_token_ids, self.tokenizer.pad_token_id})

    def generate(
        self,
        examples: list[Example],
        *,
        decoding: str = "beam",
        num_beams: int = 4,
        num_return_sequences: int = 4,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        top_p: float = 1.0,
        top_k: int = 50,
        repetition_penalty: float = 1.0,
        length_penalty: float = 1.0,
        trie: TitleTrie | None = None,
        profile_labels: list[list[str]] | None = None,
        batch_size: int = 16,
        seed: int = 0,
        prefill: str = "shared",
        sort_by_length: bool = True,
        progress: bool = True,
    ) -> list[tuple[list[str], list[float]]]:
        """Per example: (texts best first, their scores), in input order. Beam search scores are summed
        token log-probabilities / generated length ** length_penalty; greedy and sampling scores are mean
        token log-probabilities (see _sequence_scores).

        `profile_labels` (one list per example): constrain each output to an interest profile naming
        only those labels, each at most once (profile_constraint.py).
        """
        import torch
        from transformers import GenerationConfig, set_seed

        from llmrec_train.constrained import TrieLogitsProcessor
        from llmrec_train.profile_constraint import ProfileGrammar, ProfileLogitsProcessor

        set_seed(seed)
        if trie is not None:
            # Every title must be able to finish: room for the longest one.
            max_new_tokens = trie.max_depth
        gen_config = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=decoding == "sample",
            num_beams=num_beams if decoding == "beam" else 1,
            num_return_sequences=num_return_sequences,
            temperature=temperature if decoding == "sample" else None,
            top_p=top_p if decoding == "sample" else None,
            top_k=(top_k or None) if decoding == "sample" else None,
            repetition_penalty=repetition_penalty if repetition_penalty != 1.0 else None,
            # HF's default stop heuristic: `early_stopping=True` can end a batch with fewer than num_beams
            # finished hypotheses when constraints leave few continuations (placeholders get returned).
            early_stopping=False if decoding == "beam" else None,
            length_penalty=length_penalty if decoding == "beam" else None,
            eos_token_id=self.builder.stop_token_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            return_dict_in_generate=True,
            output_scores=decoding == "beam",
            output_logits=decoding != "beam",
            use_cache=True,
        )
        grammars = None
        if profile_labels is not None:
            encode = self.builder.encode_text
            grammars = []
            for ex, labels in zip(examples, profile_labels, strict=True):
                try:
                    grammars.append(ProfileGrammar(labels, encode))
                except ValueError as err:
                    raise UsageError(f"example {ex.example_id!r}: {err}") from err
        prompts = [
            self.builder.encode_prompt(ex.instruction, ex.input, ex.system) for ex in examples
        ]
        # Rows per prompt inside generate: transformers copies each prompt num_beams (or
        # num_return_sequences) times before its first forward pass.
        copies = max(gen_config.num_beams, num_return_sequences)
        prefix = _common_prefix(prompts) if prefill == "shared" else []
        prefix_cache = self._forward_prefix(prefix) if prefix else None
        # Longest first, so each batch holds prompts of similar length (little padding); order restored after.
        order = list(range(len(prompts)))
        if sort_by_length:
            order.sort(key=lambda i: -len(prompts[i]))
        results: list[tuple[list[str], list[float]] | None] = [None] * len(prompts)
        bar = tqdm(total=len(prompts), desc="generating", unit="prompt", disable=not progress)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            suffixes = [prompts[i][len(prefix) :] for i in idx]
            batch = self.tokenizer.pad({"input_ids": suffixes}, return_tensors="pt")
            input_ids = batch["input_ids"].to(self.device)
            attention_mask = batch["attention_mask"].to(self.device)
            if prefix:
                # [common prefix][left padding][rest of the prompt]: padding sits between the two, masked
                # out; positions come from the mask, so the prompt keeps positions 0..len-1.
                head = torch.tensor([prefix], device=self.device).expand(len(idx), -1)
                input_ids = torch.cat([head, input_ids], dim=1)
                attention_mask = torch.cat([torch.ones_like(head), attention_mask], dim=1)
            processors: list[LogitsProcessor] = []
            batch_config = gen_config
            if trie is not None:
                processors.append(TrieLogitsProcessor(trie, input_ids.shape[1], self.end_ids))
            if grammars is not None:
                rows = [grammars[i] for i in idx]
                stops = self.builder.stop_token_ids
                processors.append(
                    ProfileLogitsProcessor(rows, input_ids.shape[1], stops, self.end_ids)
                )
                # Every profile must be able to finish: room for the longest one of the batch.
                batch_config = copy.deepcopy(gen_config)
                batch_config.max_new_tokens = max(g.max_tokens() for g in rows)
            with torch.inference_mode():
                extra: dict[str, Any] = {}
                if (prefill != "hf" and copies > 1) or prefix:
                    extra["past_key_values"] = self._prefill(
                        input_ids, attention_mask, prefix_cache, copies
                    )
                out = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    generation_config=batch_config,
                    logits_processor=processors or None,
                    **extra,
                )
            new_tokens = out.sequences[:, input_ids.shape[1] :]
            scores = self._sequence_scores(out, new_tokens, decoding)
            texts = [self.builder.decode_completion(row) for row in new_tokens.tolist()]
            for j, i in enumerate(idx):
                sl = slice(j * num_return_sequences, (j + 1) * num_return_sequences)
                results[i] = _drop_unfinished(texts[sl], scores[sl], examples[i].example_id)
            bar.update(len(idx))
        bar.close()
        return [r for r in results if r is not None]

    def _forward_prefix(self, prefix: list[int]) -> Any:
        """The key/value cache of the token prefix common to every prompt (batch of one)."""
        import torch
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        ids = torch.tensor([prefix], device=self.device)
        with torch.inference_mode():
            self.model(
                input_ids=ids,
                position_ids=torch.arange(len(prefix), device=self.device)[None],
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        return cache

    def _prefill(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        prefix_cache: Any,
        copies: int,
    ) -> Any:
        """Run every prompt but its last token through the model once and return the key/value cache,
        each row repeated `copies` times (one per beam), so generate() computes only the last token.

        transformers' generate() would instead copy each prompt `copies` times and run every copy: with 4
        beams, 4x the prompt work. Positions follow generate()'s rule (cumsum of the mask - 1), so the
        cached keys are the ones it would compute itself."""
        from transformers import DynamicCache

        start = 0
        if prefix_cache is not None:
            cache = copy.deepcopy(prefix_cache)
            cache.batch_repeat_interleave(input_ids.shape[0])
            start = prefix_cache.get_seq_length()
        else:
            cache = DynamicCache(config=self.model.config)
        stop = input_ids.shape[1] - 1
        if stop > start:
            positions = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)
            self.model(
                input_ids=input_ids[:, start:stop],
                attention_mask=attention_mask[:, :stop],
                position_ids=positions[:, start:stop],
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        if copies > 1:
            cache.batch_repeat_interleave(copies)
        return cache

    def _sequence_scores(self, out: Any, new_tokens: torch.Tensor, decoding: str) -> list[float]:
        import torch

        if decoding == "beam":
            # HF beam search: sum of the token log-probs (EOS included) / generated length ** length_penalty
            # (1.0: the mean log-prob; 0: the sum), the score the beams were ranked by.
            return [float(s) for s in out.sequences_scores]
        # Greedy / sampling: mean log-probability of the generated tokens under the model, up to the stop token.
        logits = torch.stack(out.logits, dim=1).float()  # [rows, steps, vocab]
        logp = torch.log_softmax(logits, dim=-1).gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
        is_end = torch.isin(
            new_tokens, torch.tensor(self.builder.stop_token_ids, device=new_tokens.device)
        )
        # keep tokens up to and including the first stop token
        keep = (is_end.cumsum(dim=1) - is_end.long()) == 0
        lengths = keep.sum(dim=1).clamp(min=1)
        return [float(x) for x in (logp * keep).sum(dim=1) / lengths]


def _common_prefix(prompts: list[list[int]]) -> list[int]:
    """The token ids every prompt starts with, leaving at least one token of each prompt after it."""
    if not prompts:
        return []
    first, limit = prompts[0], min(len(p) for p in prompts) - 1
    n = 0
    while n < limit and all(p[n] == first[n] for p in prompts):
        n += 1
    return first[:n]


def _drop_unfinished(
    texts: list[str], scores: list[float], example_id: str
) -> tuple[list[str], list[float]]:
    """Beam search pads its result with placeholder hypotheses (score about -1e9) when fewer than
    num_return_sequences sequences finished; they are not answers, so they are dropped (never returned)."""
    kept = [(t, s) for t, s in zip(texts, scores, strict=True) if s > -1.0e6]
    if len(kept) < len(texts):
        log.warning("%s: only %d of %d sequences finished", example_id, len(kept), len(texts))
    # Rank order, best first (beam search already is; samples are ranked by their mean log-probability).
    kept.sort(key=lambda ts: -ts[1])
    return [t for t, _ in kept], [s for _, s in kept]


def generate(config: GenerateConfig) -> Path:
    """Run `llmrec-train generate`; returns the predictions path."""
    started = time.time()
    check_writable(config.out.parent, "--out")
    examples = read_examples(
        config.examples, require_output=False, require_videos=config.constrained_interests
    )
    if not examples:
        raise UsageError("no examples to generate for", file=config.examples)
    if config.n >= 0:
        examples = examples[: config.n]
    titles = read_item_titles(config.items) if config.constrained and config.items else None
    gen = Generator(
        config.model,
        adapter=config.adapter,
        template=config.template,
        prompt_format=config.prompt_format,
        quantization=config.quantization,
        bf16=config.bf16,
        merge_lora=config.merge_lora,
    )
    trie = None
    if titles is not None:
        from llmrec_train.constrained import TitleTrie

        trie = TitleTrie.from_titles(titles.values(), gen.builder)
        if trie.n_sequences < (config.num_return_sequences or 1):
            raise UsageError(
                f"{trie.n_sequences} distinct titles, fewer than "
                f"num_return_sequences={config.num_return_sequences}",
                file=config.items,
            )
    decoding = config.decoding_settings()
    t0 = time.perf_counter()
    outputs = gen.generate(
        examples,
        decoding=decoding.decoding,
        num_beams=decoding.num_beams,
        num_return_sequences=decoding.num_return_sequences or 1,
        max_new_tokens=decoding.max_new_tokens,
        temperature=decoding.temperature,
        top_p=decoding.top_p,
        top_k=decoding.top_k,
        repetition_penalty=config.repetition_penalty,
        length_penalty=decoding.length_penalty,
        trie=trie,
        profile_labels=(
            [[name for video in ex.raw["videos"] for name in video] for ex in examples]
            if config.constrained_interests
            else None
        ),
        batch_size=config.batch_size,
        seed=decoding.seed,
        prefill=config.prefill,
    )
    seconds = time.perf_counter() - t0
    rows = [
        {
            "example_id": ex.example_id,
            "target_item_id": ex.raw.get("target_item_id"),
            "target_title": ex.raw.get("target_title"),
            "predictions": texts,
            "scores": scores,
        }
        for ex, (texts, scores) in zip(examples, outputs, strict=True)
    ]
    atomic_write_jsonl(config.out, rows)
    beam = config.decoding == "beam"
    meta = {
        "model": gen.model_name,
        "adapter": str(config.adapter) if config.adapter is not None else None,
        "preset": config.preset,
        "decoding": config.decoding,
        "num_beams": config.num_beams,
        "num_return_sequences": config.num_return_sequences,
        "constrained": config.constrained,
        "constrained_interests": config.constrained_interests,
        "max_new_tokens": trie.max_depth if trie is not None else config.max_new_tokens,
        "temperature": config.temperature if config.decoding == "sample" else None,
        "top_p": config.top_p if config.decoding == "sample" else None,
        "top_k": config.top_k if config.decoding == "sample" else None,
        "repetition_penalty": config.repetition_penalty,
        # the beam scores written are sum of log-probs / length ** length_penalty
        "length_penalty": config.length_penalty if beam else None,
        "seed": config.seed,
        "prompt_template": gen.template,
        "prompt_format": gen.builder.resolved_format,
        "n_examples": len(rows),
        # informative, not part of the contract:
        "model_path": gen.model_path,
        "dtype": str(gen.dtype).removeprefix("torch."),
        "merged_lora": gen.merged_lora,
        "prefill": config.prefill,
        "items": str(config.items) if config.constrained else None,
        "items_sha256": sha256_file(config.items) if config.constrained and config.items else None,
        "examples_sha256": sha256_file(config.examples),
        "prompts_per_s": round(len(rows) / seconds, 3) if seconds > 0 else None,
        "wall_time_s": round(time.time() - started, 2),
        "versions": package_versions(),
    }
    atomic_write_json(config.out.with_name(config.out.stem + ".meta.json"), meta)
    return config.out
