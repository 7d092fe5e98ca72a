"""LoRA SFT with TRL's SFTTrainer on contract JSONL examples."""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from llmrec_train._io import (
    atomic_write_json,
    check_writable,
    default_dir_mode,
    default_file_mode,
    package_versions,
    sha256_file,
)
from llmrec_train.config import TrainConfig, check_lr_scheduler
from llmrec_train.data import Example, read_examples, sample_examples
from llmrec_train.errors import UsageError
from llmrec_train.models import (
    bf16_supported,
    default_device,
    load_model,
    load_tokenizer,
    lora_config,
    resolve_model,
)
from llmrec_train.templates import PromptBuilder

# torch, datasets, transformers, peft and trl are imported inside the functions that use them: bad input
# (a missing or empty file, an unwritable folder) fails in a second, not after 30 s of imports.
if TYPE_CHECKING:
    import torch
    from datasets import Dataset
    from peft import PeftModel

log = logging.getLogger(__name__)

ADAPTER_META = "llmrec_train.json"
"""Written beside the adapter: the resolved training config that generation reads (template, format)."""

EPOCHS_DIR = "epochs"
"""output_dir/epochs/epoch-N: the adapter at the end of epoch N (--keep-epoch-adapters)."""

RESUME_KEY = "llmrec_training_key.json"
"""Written into output_dir/checkpoints: the settings and data the checkpoints were trained with."""

# Settings that change how training runs or what is kept, never what is learned.
_NOT_LEARNED = (
    "output_dir",
    "resume",
    "logging_steps",
    "dataloader_workers",
    "save_total_limit",
    "save_steps",
    "keep_epoch_adapters",
    "eval_batch_size",
    "train_file",  # the file's content counts (its sha256), not its path
    "valid_file",
    "lm_head_on_labels_only",  # the same loss and gradients, computed with less work
)


def tokenize_examples(
    examples: list[Example],
    builder: PromptBuilder,
    *,
    loss_on: str = "completion",
    max_length: int | None = None,
    source: Path | None = None,
) -> Dataset:
    """Pre-tokenized rows for TRL: `input_ids` and `labels`, -100 on the tokens the loss is not on.

    TRL's SFTTrainer uses a `labels` column as is (its documented mechanism for pre-tokenized data), so
    one column says where the loss is, whatever `loss_on` chose:
    - `completion`: the answer (the quoted title and the end-of-turn token);
    - `titles`: the answer plus every token overlapping one of the history's titles in the prompt
      (`Example.history_titles`), not the instruction and template text around them;
    - `all`: every token (BIGRec's `train_on_inputs`).
    With `max_length`, every prompt must leave room for its completion (else nothing is learned).
    `source` names the examples' file in error messages.
    """
    from datasets import Dataset

    rows, prompt_lengths = [], []
    for ex in examples:
        completion = builder.encode_completion(ex.output)
        if loss_on == "titles":
            if ex.history_titles is None:
                raise UsageError(
                    f"example_id {ex.example_id!r}: missing; --loss-on titles expects the history's "
                    "titles, as llmrec-data prepare writes them",
                    file=source,
                    line=ex.line,
                    field="history_titles",
                )
            try:
                prompt, marked = builder.encode_prompt_marking(
                    ex.instruction, ex.input, ex.history_titles, ex.system
                )
            except ValueError as e:
                raise UsageError(
                    f"example_id {ex.example_id!r}: {e}",
                    file=source,
                    line=ex.line,
                    field="history_titles",
                ) from None
            prompt_labels = [t if m else -100 for t, m in zip(prompt, marked, strict=True)]
        else:
            prompt = builder.encode_prompt(ex.instruction, ex.input, ex.system)
            prompt_labels = list(prompt) if loss_on == "all" else [-100] * len(prompt)
        rows.append({"input_ids": prompt + completion, "labels": prompt_labels + completion})
        prompt_lengths.append(len(prompt))
    if max_length is not None:
        longest = max((len(r["input_ids"]) for r in rows), default=0)
        for ex, n_prompt in zip(examples, prompt_lengths, strict=True):
            if n_prompt >= max_length:
                raise UsageError(
                    f"example_id {ex.example_id!r}: its prompt is {n_prompt} tokens, so "
                    f"--max-length {max_length} leaves no room for the completion; expected "
                    f"--max-length {longest} or more (the longest example)",
                    file=source,
                    line=ex.line,
                )
    return Dataset.from_list(rows)


@contextmanager
def lm_head_on_labels_only(enabled: bool = True) -> Iterator[None]:
    """While active, TRL's fused LM head projects only the labelled positions, on a CPU too.

    TRL 1.x's SFTTrainer replaces the model's LM head with a chunked one that returns the log-probability
    of each label. On CUDA/XPU it first keeps only the positions whose label is not -100; elsewhere it
    scores every position (so that Neuron compiles one shape) and zeroes the unlabelled ones afterwards.
    With completion-only loss over 90% of a BIGRec example's tokens are prompt: on a CPU that is
    nearly all of the LM head's work (a 49k-wide projection, forward and backward, in fp32) thrown away.
    The choice is the module-level `_use_triton` that `add_fused_lm_head` calls; we answer "compact" for
    CPUs too, for the duration of training only. The selected rows are scored exactly as before, so the
    loss and gradients are the same (tests/test_train_speed.py checks both). If a TRL release moves that
    hook, training still runs, at TRL's speed, with a warning.
    """
    from trl.trainer import utils as trl_utils

    original = getattr(trl_utils, "_use_triton", None)
    if not enabled or original is None:
        if enabled:
            log.warning(
                "this TRL has no fused-head hook to patch: the LM head scores every position"
            )
        yield
        return

    def compact_on_cpu_too(device: torch.device) -> bool:
        return device.type == "cpu" or original(device)

    trl_utils._use_triton = compact_on_cpu_too
    try:
        yield
    finally:
        trl_utils._use_triton = original


def sft_config(
    config: TrainConfig, *, use_bf16: bool, has_valid: bool, use_cpu: bool, n_train: int
):
    """Our tuned SFTConfig. Differences from TRL's defaults, and why (measured on a 2-core CPU):
    gradient checkpointing off (it recomputes the forward: ~30% slower, pointless for small models);
    a LoRA learning rate; batches grouped by length (less padding); evaluation only once per epoch.
    """
    from trl import SFTConfig

    evaluate = has_valid
    return SFTConfig(
        output_dir=str(config.output_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        # transformers stops after the first step on max_steps=0; ours means no cap, as -1 does.
        max_steps=config.max_steps if config.max_steps > 0 else -1,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.grad_accum,
        # transformers 5 renamed gradient_checkpointing; TRL's default for the old name is True.
        gradient_checkpointing=None,  # type: ignore[arg-type]  # TRL types it bool; None is accepted
        activation_checkpointing=config.gradient_checkpointing,
        bf16=use_bf16,
        use_cpu=use_cpu,
        max_length=config.max_length,
        train_sampling_strategy="group_by_length"
        if config.group_by_length and n_train > config.batch_size
        else "random",
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        eval_strategy="epoch" if evaluate else "no",
        save_strategy="epoch",
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=evaluate,
        metric_for_best_model="eval_loss" if evaluate else None,
        greater_is_better=False if evaluate else None,
        save_only_model=False,
        report_to="none",
        dataloader_num_workers=config.dataloader_workers,
        dataloader_pin_memory=not use_cpu,
        disable_tqdm=False,
    )


@dataclass
class TrainResult:
    """What `train` produced: the output folder and the trained (best) PEFT model, still in memory."""

    output_dir: Path
    model: torch.nn.Module
    metrics: dict[str, Any]

    def __str__(self) -> str:
        return str(self.output_dir)


def train(config: TrainConfig) -> TrainResult:
    """Train a LoRA adapter into `config.output_dir` (a PEFT adapter plus config, logs and manifest)."""
    check_lr_scheduler(config.lr_scheduler)
    started = time.time()
    # Everything that can be checked without the model is checked first: bad input fails in seconds and
    # leaves nothing behind.
    check_writable(config.output_dir, "--output-dir")
    train_all = read_examples(config.train_file)
    if not train_all:
        raise UsageError("the training set is empty (no examples)", file=config.train_file)
    valid_all: list[Example] = []
    if config.valid_file is not None:
        valid_all = read_examples(config.valid_file)
        if not valid_all:
            raise UsageError("the validation set is empty (no examples)", file=config.valid_file)
    train_examples = sample_examples(train_all, config.n_train, config.seed)
    valid_examples = sample_examples(valid_all, config.n_valid, config.seed) if valid_all else []
    model_path = resolve_model(config.model)

    import torch
    from peft import get_peft_model, prepare_model_for_kbit_training
    from transformers import EarlyStoppingCallback, set_seed
    from trl import SFTTrainer

    from llmrec_train.callbacks import SaveEpochAdapters, SaveEveryNSteps
    from llmrec_train.training_log import LossRecorder

    tokenizer = load_tokenizer(model_path)
    builder = PromptBuilder(tokenizer, config.template, config.prompt_format)
    train_ds = tokenize_examples(
        train_examples,
        builder,
        loss_on=config.loss_on,
        max_length=config.max_length,
        source=config.train_file,
    )
    valid_ds = (
        tokenize_examples(
            valid_examples,
            builder,
            loss_on=config.loss_on,
            max_length=config.max_length,
            source=config.valid_file,
        )
        if valid_examples
        else None
    )
    device = default_device()
    use_bf16 = bf16_supported(device) if config.bf16 is None else config.bf16
    key = training_key(config, use_bf16)
    ckpt_dir = config.output_dir / "checkpoints"
    resume_from = _choose_checkpoint(config.resume, ckpt_dir, key)
    # Frozen base weights stored in bf16 when training in bf16: autocast would otherwise cast every fp32 weight
    # to bf16 at every step. LoRA weights stay fp32 (peft upcasts adapters).
    dtype = torch.bfloat16 if use_bf16 else torch.float32

    set_seed(config.seed)  # LoRA init is random: seed before creating the adapter
    model = load_model(model_path, dtype=dtype, quantization=config.quantization, device=device)
    model.config.use_cache = False
    peft_config = lora_config(
        model,
        r=config.lora_r,
        alpha=config.lora_alpha,
        dropout=config.lora_dropout,
        target_modules=config.target_modules,
    )
    if config.quantization != "none":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing
        )
    peft_model = get_peft_model(model, peft_config)

    n_too_long = sum(len(ids) > config.max_length for ids in train_ds["input_ids"])
    if n_too_long:
        log.warning(
            "%d of %d training examples exceed max_length=%d and are truncated",
            n_too_long,
            len(train_ds),
            config.max_length,
        )

    args = sft_config(
        config,
        use_bf16=use_bf16,
        has_valid=valid_ds is not None,
        use_cpu=device.type == "cpu",
        n_train=len(train_ds),
    )
    recorder = LossRecorder()
    callbacks: list[Any] = [recorder, SaveEveryNSteps(config.save_steps)]
    if valid_ds is not None and config.early_stopping_patience > 0:
        callbacks.append(
            EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience)
        )
    trainer = SFTTrainer(
        model=peft_model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=valid_ds,
        processing_class=tokenizer,
        callbacks=callbacks,
    )

    resolved = {
        **config.to_dict(),
        "model_path": model_path,
        "prompt_format_resolved": builder.resolved_format,
        "bf16": use_bf16,
        "n_train_examples": len(train_ds),
        "n_valid_examples": len(valid_ds) if valid_ds is not None else 0,
        "effective_batch_size": config.batch_size * config.grad_accum * trainer.args.world_size,
    }
    epochs_dir = config.output_dir / EPOCHS_DIR
    if config.keep_epoch_adapters:
        trainer.add_callback(SaveEpochAdapters(epochs_dir, resolved))

    if trainer.is_world_process_zero():
        if resume_from is None:
            # A fresh start: checkpoints and epoch adapters of an earlier run are not this run's.
            shutil.rmtree(ckpt_dir, ignore_errors=True)
            shutil.rmtree(epochs_dir, ignore_errors=True)
        created = not ckpt_dir.exists()
        atomic_write_json(ckpt_dir / RESUME_KEY, key)
    else:
        created = False
    try:
        with lm_head_on_labels_only(config.lm_head_on_labels_only):
            result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    except BaseException:
        # Nothing half-done stays behind: a fresh run that saved no checkpoint leaves no folder.
        if created and last_checkpoint(ckpt_dir) is None:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
            shutil.rmtree(epochs_dir, ignore_errors=True)
        raise

    # transformers types Trainer.model Optional (None with model_init, not used here): it is the
    # PEFT model given above (with validation, load_best_model_at_end has put the best adapter back).
    trained = cast("PeftModel", trainer.model)
    if not trainer.is_world_process_zero():
        return TrainResult(config.output_dir, trained, dict(result.metrics))
    out = config.output_dir
    out.mkdir(parents=True, exist_ok=True)
    _save_adapter_atomically(trained, out)
    best_ckpt = trainer.state.best_model_checkpoint
    atomic_write_json(out / ADAPTER_META, resolved)
    atomic_write_json(out / "config.json", resolved)
    recorder.write(out)
    inputs = {str(config.train_file): sha256_file(config.train_file)}
    if config.valid_file is not None:
        inputs[str(config.valid_file)] = sha256_file(config.valid_file)
    atomic_write_json(
        out / "manifest.json",
        {
            "stage": "llmrec-train train",
            "config": resolved,
            "versions": package_versions(),
            "seed": config.seed,
            "inputs_sha256": inputs,
            "device": str(device),
            "global_steps": trainer.state.global_step,
            "epochs_run": trainer.state.epoch,
            "best_checkpoint": best_ckpt,
            "best_eval_loss": trainer.state.best_metric,
            "epoch_adapters": epoch_adapters(out, trainer.state.log_history),
            "train_runtime_s": result.metrics.get("train_runtime"),
            "wall_time_s": round(time.time() - started, 2),
        },
    )
    return TrainResult(out, trained, dict(result.metrics))


def _save_adapter_atomically(model: PeftModel, out: Path) -> None:
    """Save the PEFT adapter into a temporary folder, then move each file into `out`."""
    tmp = Path(tempfile.mkdtemp(prefix=".adapter-", dir=out))
    try:
        model.save_pretrained(str(tmp))
        for f in tmp.iterdir():
            f.chmod(default_file_mode())  # safetensors writes private (0600) files
            f.replace(out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_adapter_folder(model: PeftModel, target: Path, meta: dict[str, Any]) -> None:
    """Write a complete adapter folder (PEFT files + ADAPTER_META) at `target`, replacing any old one.

    Written into a temporary folder beside it and renamed into place: the folder is complete or absent.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(str(tmp))
        atomic_write_json(tmp / ADAPTER_META, meta)
        for f in tmp.iterdir():
            f.chmod(default_file_mode())  # safetensors writes private (0600) files
        tmp.chmod(default_dir_mode())
        if target.exists():
            old = target.with_name(f".{target.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            shutil.rmtree(old)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def epoch_adapters(out: Path, log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The kept epoch adapters for the manifest: epoch, folder (relative to `out`), step, eval loss."""
    eval_loss = {
        round(e["epoch"]): e["eval_loss"]
        for e in log_history
        if "eval_loss" in e and abs(e["epoch"] - round(e["epoch"])) < 1e-6
    }
    rows = []
    for d in (out / EPOCHS_DIR).glob("epoch-*") if (out / EPOCHS_DIR).is_dir() else ():
        m = re.fullmatch(r"epoch-(\d+)", d.name)
        if m and (d / ADAPTER_META).is_file():
            meta = json.loads((d / ADAPTER_META).read_text(encoding="utf-8"))
            epoch = int(m.group(1))
            rows.append(
                {
                    "epoch": epoch,
                    "adapter": str(d.relative_to(out)),
                    "global_step": meta.get("global_step"),
                    "eval_loss": eval_loss.get(epoch),
                }
            )
    return sorted(rows, key=lambda r: r["epoch"])


def training_key(config: TrainConfig, use_bf16: bool) -> dict[str, Any]:
    """Everything that changes what is learned: settings, the data files' content, the precision."""
    key = {k: v for k, v in config.to_dict().items() if k not in _NOT_LEARNED}
    key["train_file_sha256"] = sha256_file(config.train_file)
    key["valid_file_sha256"] = sha256_file(config.valid_file) if config.valid_file else None
    key["bf16"] = use_bf16
    return key


def last_checkpoint(ckpt_dir: Path) -> Path | None:
    """The highest-numbered complete checkpoint (the Trainer writes trainer_state.json last)."""
    steps = []
    if ckpt_dir.is_dir():
        for d in ckpt_dir.iterdir():
            m = re.fullmatch(r"checkpoint-(\d+)", d.name)
            if m and (d / "trainer_state.json").is_file():
                steps.append((int(m.group(1)), d))
    return max(steps)[1] if steps else None


def _choose_checkpoint(mode: str, ckpt_dir: Path, key: dict[str, Any]) -> Path | None:
    """The checkpoint to resume, or None to start fresh (the caller then clears `ckpt_dir`)."""
    last = last_checkpoint(ckpt_dir)
    if mode == "no":
        if ckpt_dir.exists():
            log.info("--resume no: starting fresh; removing the old checkpoints in %s", ckpt_dir)
        return None
    key_file = ckpt_dir / RESUME_KEY
    recorded = json.loads(key_file.read_text(encoding="utf-8")) if key_file.is_file() else None
    if last is None or recorded is None:
        why = "no checkpoint" if last is None else f"no record of the settings ({RESUME_KEY})"
        if mode == "yes":
            raise UsageError(f"--resume yes: {why} in {ckpt_dir}")
        if ckpt_dir.exists():
            log.warning("--resume auto: %s in %s; starting fresh", why, ckpt_dir)
        return None
    changed = sorted(k for k in key.keys() | recorded.keys() if key.get(k) != recorded.get(k))
    if changed:
        diff = ", ".join(f"{k} {recorded.get(k)!r} -> {key.get(k)!r}" for k in changed[:4])
        diff += ", ..." if len(changed) > 4 else ""
        if mode == "yes":
            raise UsageError(f"--resume yes: {last} was trained with other settings ({diff})")
        log.warning(
            "--resume auto: checkpoints were trained with other settings (%s); starting fresh", diff
        )
        return None
    log.info("--resume %s: resuming from %s (same settings and data)", mode, last)
    # A half-written later checkpoint (interrupted while saving) would confuse the Trainer's rotation.
    for d in ckpt_dir.glob("checkpoint-*"):
        m = re.fullmatch(r"checkpoint-(\d+)", d.name)
        if m and int(m.group(1)) > int(last.name.split("-")[1]):
            shutil.rmtree(d)
    return last
