"""Generation throughput on this machine: prompts/s for greedy, beam 4 and constrained beam 4.

MovieLens prompts (BIGRec wording, 10 titles of history, ~200 tokens), SmolLM2-135M-Instruct (bf16 where
supported), batch 16; constrained decoding over the whole ml-latest-small catalogue (9,742 titles).
Without --adapter the base model answers (LoRA off), which generates longer free text than a trained one.

    uv run python packages/llmrec-train/benchmarks/bench_generate.py --n 32
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300, help="prompts")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--adapter", type=Path, default=None, help="a trained adapter folder (LoRA on)"
    )
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--modes", default="greedy,beam4,constrained-beam4")
    args = parser.parse_args()

    from llmrec_train.constrained import TitleTrie
    from llmrec_train.data import Example
    from llmrec_train.generate import Generator
    from llmrec_train.testing import build_movielens_examples

    rows, items = build_movielens_examples(args.n, max_users=max(60, args.n // 3))
    examples = [
        Example(r["example_id"], r["instruction"], r["input"], r["output"], r) for r in rows
    ]
    gen = Generator("smollm2-135m-instruct", adapter=args.adapter)
    lengths = [len(gen.builder.encode_prompt(e.instruction, e.input)) for e in examples]
    print(
        f"{len(examples)} prompts, {sum(lengths) / len(lengths):.0f} tokens on average, dtype {gen.dtype}, batch {args.batch_size}"
    )
    t0 = time.perf_counter()
    trie = TitleTrie.from_titles([r["title"] for r in items], gen.builder)
    print(
        f"trie: {trie.n_sequences} titles, longest {trie.max_depth} tokens, built in {time.perf_counter() - t0:.2f} s"
    )

    titles = {f'"{r["title"]}"' for r in items}
    results = []
    for mode in args.modes.split(","):
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
            examples, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens, **kwargs
        )
        seconds = time.perf_counter() - start
        valid = sum(t in titles for texts, _ in outputs for t in texts) / sum(
            len(t) for t, _ in outputs
        )
        results.append((mode, seconds, len(examples) / seconds, valid))

    print("\n| decoding | seconds | prompts/s | outputs that are catalogue titles |")
    print("|---|---|---|---|")
    for mode, seconds, rate, valid in results:
        print(f"| {mode} | {seconds:.1f} | {rate:.2f} | {valid:.0%} |")


if __name__ == "__main__":
    main()
