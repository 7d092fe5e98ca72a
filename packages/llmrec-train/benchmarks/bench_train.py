"""SFT throughput on this machine: TRL's default SFTConfig vs llmrec-train's tuned default, same data, same run.

Both train the same LoRA (r=8, alpha=16, q_proj/v_proj) on SmolLM2-135M-Instruct for one epoch over the same
N MovieLens examples (BIGRec prompts, ~200 tokens; the repository's fixtures/movie, or --examples),
completion-only loss. Prints a Markdown table of
examples/s and tokens/s (prompt + completion tokens processed per second).

    uv run python packages/llmrec-train/benchmarks/bench_train.py --n 128
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from llmrec_cli.machine import machine_line


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=256, help="training examples (one epoch each)")
    parser.add_argument(
        "--variants", default="trl-default,llmrec-default", help="comma-separated variants to run"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument(
        "--examples", type=Path, default=None, help="contract JSONL (default: fixtures/movie)"
    )
    args = parser.parse_args()
    print(machine_line())
    if args.threads:
        torch.set_num_threads(args.threads)

    from _fixtures import load_examples
    from llmrec_train.config import TrainConfig
    from llmrec_train.models import (
        bf16_supported,
        load_model,
        load_tokenizer,
        lora_config,
        resolve_model,
    )
    from llmrec_train.templates import PromptBuilder
    from llmrec_train.train import sft_config, tokenize_examples
    from peft import get_peft_model
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    examples, _ = load_examples(args.n, args.examples)
    model_path = resolve_model("smollm2-135m-instruct")
    tokenizer = load_tokenizer(model_path)
    builder = PromptBuilder(tokenizer, "basic", "auto")
    dataset = tokenize_examples(examples, builder)
    n_tokens = sum(len(x) for x in dataset["input_ids"])
    print(
        f"{len(dataset)} examples, {n_tokens / len(dataset):.0f} tokens each on average, torch threads {torch.get_num_threads()}"
    )

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants.split(","):
            set_seed(0)
            cfg = TrainConfig(
                train_file=Path("unused"),
                output_dir=Path(tmp) / variant,
                epochs=1,
                n_train=len(dataset),
            )
            if variant == "trl-default":
                # TRL's defaults: fp32 weights (the checkpoint's dtype), bf16 autocast, gradient checkpointing,
                # batch 8, lr 2e-5; only what a run must set is set.
                model = load_model(model_path, dtype=torch.float32)
                args_ = SFTConfig(
                    output_dir=str(cfg.output_dir),
                    report_to="none",
                    num_train_epochs=1,
                    save_strategy="no",
                    use_cpu=True,
                )
            elif variant == "llmrec-default":
                use_bf16 = bf16_supported(torch.device("cpu"))
                model = load_model(model_path, dtype=torch.bfloat16 if use_bf16 else torch.float32)
                args_ = sft_config(
                    cfg, use_bf16=use_bf16, has_valid=False, use_cpu=True, n_train=len(dataset)
                )
                args_.save_strategy = "no"
            else:
                raise SystemExit(f"unknown variant {variant}")
            model.config.use_cache = False
            model = get_peft_model(
                model,
                lora_config(
                    model, r=8, alpha=16, dropout=0.05, target_modules=["q_proj", "v_proj"]
                ),
            )
            trainer = SFTTrainer(
                model=model, args=args_, train_dataset=dataset, processing_class=tokenizer
            )
            start = time.perf_counter()
            out = trainer.train()
            seconds = time.perf_counter() - start
            results.append(
                {
                    "variant": variant,
                    "batch": args_.per_device_train_batch_size,
                    "bf16": args_.bf16,
                    "ckpt": args_.activation_checkpointing,
                    "seconds": seconds,
                    "examples/s": len(dataset) / seconds,
                    "tokens/s": n_tokens / seconds,
                    "loss": out.training_loss,
                }
            )
            del trainer, model

    print(
        "\n| variant | micro-batch | bf16 | grad. checkpointing | seconds | examples/s | tokens/s | mean loss |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['variant']} | {r['batch']} | {r['bf16']} | {r['ckpt']} | {r['seconds']:.1f} | "
            f"{r['examples/s']:.2f} | {r['tokens/s']:.0f} | {r['loss']:.3f} |"
        )
    if len(results) >= 2:
        print(
            f"\nspeed-up of {results[-1]['variant']} over {results[0]['variant']}: {results[-1]['examples/s'] / results[0]['examples/s']:.2f}x"
        )


if __name__ == "__main__":
    main()
