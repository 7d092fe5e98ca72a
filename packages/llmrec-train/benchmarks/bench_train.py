"""SFT throughput on this machine: TRL's default SFTConfig vs llmrec-train's tuned default, same data, same run.

Both train the same LoRA (r=8, alpha=16, q_proj/v_proj) on SmolLM2-135M-Instruct for one epoch over the same
N MovieLens examples (BIGRec prompts, ~200 tokens; the repository's fixtures/movie, or --examples),
completion-only loss. Prints the CPU model and a Markdown table of examples/s, tokens/s (prompt +
completion tokens processed per second) and the mean training loss of each variant:

- trl-default: TRL's SFTConfig defaults, only what a run must set is set;
- llmrec-trl-head: llmrec-train's defaults with --no-lm-head-on-labels-only (TRL's LM head, which on a
  CPU scores every position): the same learning as llmrec-default, so the two losses must agree;
- llmrec-default: llmrec-train's defaults.

    uv run python packages/llmrec-train/benchmarks/bench_train.py --n 128
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import torch
from llmrec_cli.machine import machine_line


def cpu_model() -> str:
    """The CPU's model name as lscpu prints it (figures differ between machines: AMX, AMD, ...)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    names = [
        line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")
    ]
    return names[0] if names else platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=256, help="training examples (one epoch each)")
    parser.add_argument(
        "--variants",
        default="trl-default,llmrec-trl-head,llmrec-default",
        help="comma-separated variants to run (the first is the reference of the speed-ups)",
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
    from llmrec_train.train import lm_head_on_labels_only, sft_config, tokenize_examples
    from peft import get_peft_model
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    examples, _ = load_examples(args.n, args.examples)
    model_path = resolve_model("smollm2-135m-instruct")
    tokenizer = load_tokenizer(model_path)
    builder = PromptBuilder(tokenizer, "basic", "auto")
    dataset = tokenize_examples(examples, builder)
    n_tokens = sum(len(x) for x in dataset["input_ids"])
    print(f"CPU: {cpu_model()}, {torch.get_num_threads()} torch threads")
    print(f"{len(dataset)} examples, {n_tokens / len(dataset):.0f} tokens each on average")

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants.split(","):
            set_seed(0)
            labelled_only = variant == "llmrec-default"
            cfg = TrainConfig(
                train_file=Path("unused"),
                output_dir=Path(tmp) / variant,
                epochs=1,
                n_train=len(dataset),
                lm_head_on_labels_only=labelled_only,
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
            elif variant in ("llmrec-default", "llmrec-trl-head"):
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
            with lm_head_on_labels_only(labelled_only):
                out = trainer.train()
            seconds = time.perf_counter() - start
            results.append(
                {
                    "variant": variant,
                    "head": "labelled" if labelled_only else "all",
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
        "\n| variant | micro-batch | bf16 | grad. checkpointing | LM head scores | seconds | examples/s | tokens/s | mean loss |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['variant']} | {r['batch']} | {r['bf16']} | {r['ckpt']} | {r['head']} positions | {r['seconds']:.1f} | "
            f"{r['examples/s']:.2f} | {r['tokens/s']:.0f} | {r['loss']:.3f} |"
        )
    print()
    for r in results[1:]:
        ratio = r["examples/s"] / results[0]["examples/s"]
        print(f"speed-up of {r['variant']} over {results[0]['variant']}: {ratio:.2f}x")
    ours = next((r for r in results if r["variant"] == "llmrec-default"), results[-1])
    ratio = ours["examples/s"] / results[0]["examples/s"]
    print(
        f"target: {ours['variant']} >= 2x {results[0]['variant']} in examples/s "
        f"-> {'met' if ratio >= 2 else 'NOT met'} ({ratio:.2f}x; mean loss {ours['loss']:.3f} vs "
        f"{results[0]['loss']:.3f})"
    )


if __name__ == "__main__":
    main()
