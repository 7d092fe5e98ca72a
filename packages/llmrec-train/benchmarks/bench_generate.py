"""Generation throughput on this machine: prompts/s for greedy, beam 4 and constrained beam 4 (base model),
then the pipeline's setting (a trained LoRA adapter, constrained beam 4, batch 16) with and without each
speed lever, and where the time goes.

MovieLens prompts (BIGRec wording, 10 titles of history, ~200 tokens), SmolLM2-135M-Instruct (bf16 where
supported), batch 16; constrained decoding over the whole ml-latest-small catalogue (9,742 titles), or over
`--items` with `--examples` (e.g. a pipeline run's data folder). Without `--adapter`, the lever section
trains a small adapter first (a few real steps on the benchmark's own examples).

Levers, each measured in the same run against "today" (transformers' own prompt handling, LoRA unmerged):
- merged LoRA: W + BA folded into the weights (one matmul per adapted layer instead of three);
- prefill once: each prompt runs through the model once and its key/value cache is copied to the 4 beams
  (transformers runs every prompt once per beam);
- shared prefix: the tokens every prompt starts with (system prompt, instruction) run once per run;
- length-sorted batches (prompts of similar length together; output order restored), and bf16 vs fp32.
"identical" is the share of examples whose ranked titles equal today's.

    uv run python packages/llmrec-train/benchmarks/bench_generate.py --n 32
    uv run python packages/llmrec-train/benchmarks/bench_generate.py --n 96 --modes levers \\
        --adapter runs/movie-small/cpu/adapter --examples runs/movie-small/cpu/data/test.jsonl \\
        --items runs/movie-small/cpu/data/items.parquet
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from llmrec_cli.machine import cpu_model, machine_line

BASE_MODES = ("greedy", "beam4", "constrained-beam4")
# name -> (Generator options, generate() options); "today" is the reference of the speed-ups.
LEVERS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "today (LoRA unmerged, HF prefill)": ({"merge_lora": False}, {"prefill": "hf"}),
    "+ prefill once": ({"merge_lora": False}, {"prefill": "once"}),
    "+ prefill once + shared prefix": ({"merge_lora": False}, {"prefill": "shared"}),
    "+ merged LoRA": ({"merge_lora": True}, {"prefill": "hf"}),
    "all levers (new default)": ({"merge_lora": True}, {"prefill": "shared"}),
    "all levers, unsorted batches": (
        {"merge_lora": True},
        {"prefill": "shared", "sort_by_length": False},
    ),
    "all levers, batch 32": ({"merge_lora": True}, {"prefill": "shared", "batch_size": 32}),
    "all levers, other dtype": ({"merge_lora": True, "other_dtype": True}, {"prefill": "shared"}),
}


class Profile:
    """Wall time split into: model forward over prompts, per-token forward, trie mask, beam-search cache
    reordering, and the rest (beam bookkeeping, padding, decoding). Hooks, not a sampling profiler."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._started: float = 0.0
        self._undo: list[Any] = []

    def attach(self, model: Any) -> None:
        import transformers.cache_utils as cache_utils
        from llmrec_train.constrained import TrieLogitsProcessor

        # Hooks on the transformer body and the LM head (both called as modules by every path, merged
        # or not; peft's wrapper calls the causal LM's forward directly, which hooks would miss).
        core = model.get_base_model() if hasattr(model, "get_base_model") else model
        phase = ["forward, prompt"]

        def body_pre(_module: Any, args: tuple, kwargs: dict) -> None:
            ids = kwargs.get("input_ids", args[0] if args else None)
            long = ids is not None and ids.shape[1] > 1
            phase[0] = "forward, prompt" if long else "forward, per token"
            self._started = time.perf_counter()

        def head_pre(_module: Any, args: tuple) -> None:
            self._started = time.perf_counter()

        def post(*_: Any) -> None:
            self.seconds[phase[0]] += time.perf_counter() - self._started

        self._undo += [
            core.model.register_forward_pre_hook(body_pre, with_kwargs=True),
            core.model.register_forward_hook(post),
            core.lm_head.register_forward_pre_hook(head_pre),
            core.lm_head.register_forward_hook(post),
        ]
        for owner, name, label in (
            (TrieLogitsProcessor, "__call__", "trie mask"),
            (cache_utils.Cache, "reorder_cache", "cache reorder"),
        ):
            original = getattr(owner, name)
            timed = self._timed(original, label)
            setattr(owner, name, timed)
            self._undo.append((owner, name, original))

    def _timed(self, original: Any, label: str) -> Any:
        # functools.wraps keeps the signature: transformers checks a logits processor's parameters.
        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t0

        return timed

    def detach(self) -> None:
        for item in self._undo:
            if isinstance(item, tuple):
                setattr(item[0], item[1], item[2])
            else:
                item.remove()
        self._undo.clear()


def load_examples(args: argparse.Namespace) -> tuple[list[Any], list[str]]:
    from _fixtures import load_examples as fixture_examples
    from llmrec_train.data import read_examples, read_item_titles

    if args.examples is not None:
        examples = read_examples(args.examples, require_output=False)[: args.n]
        if args.items is None:
            raise SystemExit("--examples needs --items (the catalogue to constrain to)")
        return examples, list(read_item_titles(args.items).values())
    examples, items = fixture_examples(args.n)
    return examples, list(read_item_titles(items).values())


def train_small_adapter(examples: list[Any], folder: Path) -> Path:
    """A real LoRA adapter, 4 optimizer steps on the benchmark's examples (when no --adapter is given)."""
    from llmrec_train.config import TrainConfig
    from llmrec_train.train import train

    path = folder / "train.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps(ex.raw) + "\n")
    config = TrainConfig(
        train_file=path, output_dir=folder / "adapter", max_steps=4, batch_size=8, n_train=-1
    )
    return train(config).output_dir


def run_base_modes(
    args: argparse.Namespace, gen: Any, examples: list[Any], titles: list[str]
) -> None:
    from llmrec_train.constrained import TitleTrie

    t0 = time.perf_counter()
    trie = TitleTrie.from_titles(titles, gen.builder)
    print(
        f"trie: {trie.n_sequences} titles, longest {trie.max_depth} tokens, built in {time.perf_counter() - t0:.2f} s"
    )
    quoted = {f'"{t}"' for t in titles}
    results = []
    for mode in [m for m in args.modes.split(",") if m in BASE_MODES]:
        kwargs = {
            "greedy": {"decoding": "greedy", "num_beams": 1, "num_return_sequences": 1},
            "beam4": {"decoding": "beam", "num_beams": 4, "num_return_sequences": 4},
            "constrained-beam4": {
                "decoding": "beam",
                "num_beams": 4,
                "num_return_sequences": 4,
                "trie": trie,
            },
        }[mode]
        start = time.perf_counter()
        outputs = gen.generate(
            examples,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            progress=False,
            **kwargs,
        )
        seconds = time.perf_counter() - start
        valid = sum(t in quoted for texts, _ in outputs for t in texts) / sum(
            len(t) for t, _ in outputs
        )
        results.append((mode, seconds, len(examples) / seconds, valid))

    print("\nbase model (LoRA off), default levers:\n")
    print("| decoding | seconds | prompts/s | outputs that are catalogue titles |")
    print("|---|---|---|---|")
    for mode, seconds, rate, valid in results:
        print(f"| {mode} | {seconds:.1f} | {rate:.2f} | {valid:.0%} |")


def run_levers(args: argparse.Namespace, examples: list[Any], titles: list[str]) -> None:
    import torch
    from llmrec_train.constrained import TitleTrie
    from llmrec_train.generate import Generator

    adapter = args.adapter
    if adapter is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench-generate-"))
        print("no --adapter: training a small one (4 steps) ...")
        adapter = train_small_adapter(examples, tmp)
    reference: list[Any] | None = None
    rows = []
    trie = None
    gen: Any = None
    loaded: tuple[bool, bool] | None = None
    default_dtype = None
    for name, (gen_options, run_options) in LEVERS.items():
        key = (gen_options["merge_lora"], gen_options.get("other_dtype", False))
        if key != loaded:
            gen = None  # one model in memory at a time
            bf16 = (default_dtype != torch.bfloat16) if key[1] else None
            gen = Generator("smollm2-135m-instruct", adapter=adapter, merge_lora=key[0], bf16=bf16)
            default_dtype = default_dtype or gen.dtype
            loaded = key
        if trie is None:
            trie = TitleTrie.from_titles(titles, gen.builder)
        profile = Profile()
        profile.attach(gen.model)
        start = time.perf_counter()
        try:
            outputs = gen.generate(
                examples,
                decoding="beam",
                num_beams=4,
                num_return_sequences=4,
                trie=trie,
                progress=False,
                **{"batch_size": args.batch_size, **run_options},
            )
        finally:
            profile.detach()
        seconds = time.perf_counter() - start
        if reference is None:
            reference = outputs
        same = sum(a[0] == b[0] for a, b in zip(outputs, reference, strict=True)) / len(outputs)
        top1 = sum(a[0][:1] == b[0][:1] for a, b in zip(outputs, reference, strict=True)) / len(
            outputs
        )
        dtype = str(gen.dtype).removeprefix("torch.")
        rows.append(
            (name, dtype, seconds, len(examples) / seconds, same, top1, dict(profile.seconds))
        )
        print(f"  {name}: {len(examples) / seconds:.2f} prompts/s", flush=True)

    base_rate = rows[0][3]
    print(
        "\npipeline setting: trained LoRA adapter, constrained beam 4 (4 returned), batch "
        f"{args.batch_size}; identical = same ranked titles as today\n"
    )
    print("| setting | dtype | seconds | prompts/s | speed-up | identical | same top-1 |")
    print("|---|---|---|---|---|---|---|")
    for name, dtype, seconds, rate, same, top1, _ in rows:
        print(
            f"| {name} | {dtype} | {seconds:.1f} | {rate:.2f} | {rate / base_rate:.2f}x | {same:.0%} | {top1:.0%} |"
        )
    default = next(r for r in rows if r[0] == "all levers (new default)")
    speedup = default[3] / base_rate
    print(
        f"\ntarget: the new default >= 2x today's pipeline throughput -> "
        f"{'met' if speedup >= 2 else 'NOT met'} ({speedup:.2f}x)"
    )
    parts = ("forward, prompt", "forward, per token", "trie mask", "cache reorder")
    print("\nwhere the time goes (seconds; other = beam bookkeeping, padding, decoding)\n")
    print("| setting | " + " | ".join(parts) + " | other |")
    print("|---|" + "---|" * (len(parts) + 1))
    for name, _, seconds, _, _, _, prof in rows:
        cells = [f"{prof.get(p, 0.0):.1f} ({prof.get(p, 0.0) / seconds:.0%})" for p in parts]
        other = seconds - sum(prof.get(p, 0.0) for p in parts)
        print(f"| {name} | " + " | ".join(cells) + f" | {other:.1f} ({other / seconds:.0%}) |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300, help="prompts")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--adapter",
        type=Path,
        default=None,
        help="a trained adapter folder for the lever section (default: train a small one)",
    )
    parser.add_argument("--examples", type=Path, default=None, help="contract JSONL examples")
    parser.add_argument("--items", type=Path, default=None, help="items.parquet (with --examples)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument(
        "--modes",
        default="greedy,beam4,constrained-beam4,levers",
        help=f"comma-separated: {', '.join(BASE_MODES)}, levers",
    )
    args = parser.parse_args()
    print(machine_line())

    import torch
    from llmrec_train.generate import Generator

    examples, titles = load_examples(args)
    print(
        f"CPU: {cpu_model()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"capability {torch.backends.cpu.get_cpu_capability()}"
    )
    gen = Generator("smollm2-135m-instruct")
    lengths = [len(gen.builder.encode_prompt(e.instruction, e.input)) for e in examples]
    print(
        f"{len(examples)} prompts, {sum(lengths) / len(lengths):.0f} tokens on average, "
        f"default dtype {gen.dtype}, batch {args.batch_size}, {len(set(titles))} titles"
    )
    modes = args.modes.split(",")
    if any(m in BASE_MODES for m in modes):
        run_base_modes(args, gen, examples, titles)
    del gen
    if "levers" in modes:
        run_levers(args, examples, titles)


if __name__ == "__main__":
    main()
