"""`llmrec-train embed`: catalogue titles and generated texts embedded by the LLM itself.

BIGRec grounds a generated text by the L2 distance between LLM hidden states: the last layer's state
at the last token of the text, and the same for every catalogue title, from the same model. This
writes those vectors in the files llmrec-eval reads (docs/contracts.md): `item_embeddings.npy` (the
item embeddings contract, row i = item_id i) and `text_embeddings.npy` (one row per distinct
generated text), each with a `.json` naming the encoder (model, adapter, layer, pooling), which
llmrec-eval requires to be the same for both.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from llmrec_train._io import (
    atomic_write_json,
    atomic_write_npy,
    check_writable,
    package_versions,
    sha256_file,
)
from llmrec_train.config import EmbedConfig
from llmrec_train.data import read_item_titles, read_prediction_texts
from llmrec_train.errors import UsageError

if TYPE_CHECKING:
    from llmrec_train.generate import Generator

log = logging.getLogger(__name__)

ENCODER = "llm-hidden-state"
"""The metadata's `encoder`: how llmrec-eval tells these vectors from sentence-transformers ones."""
ITEMS_FILE = "item_embeddings.npy"
TEXTS_FILE = "text_embeddings.npy"
TEXT_RULE = "generated text with surrounding whitespace and double quotes stripped"


def adapter_sha256(adapter: Path | None) -> str | None:
    """sha256 of the adapter's weights file: what makes two embedding runs' adapters the same."""
    if adapter is None:
        return None
    for name in ("adapter_model.safetensors", "adapter_model.bin"):
        if (adapter / name).is_file():
            return sha256_file(adapter / name)
    raise UsageError("no adapter_model.safetensors in the adapter folder", file=adapter)


def embed_texts(
    gen: Generator,
    texts: list[str],
    *,
    layer: int,
    pooling: str,
    batch_size: int,
    desc: str,
) -> np.ndarray:
    """float32 [len(texts), hidden] states of `texts`, each tokenized alone as the tokenizer does by
    default (BIGRec: special tokens included), batched by length with left padding."""
    import torch

    tokenizer, model = gen.tokenizer, gen.model
    # A string of no tokens (the empty text, with a tokenizer that adds no BOS) has no last token:
    # it is embedded as the end-of-sequence token alone.
    ids = [row or [tokenizer.eos_token_id] for row in tokenizer(texts)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))  # little padding per batch
    out = np.empty((len(texts), model.config.hidden_size), dtype=np.float32)
    device = next(model.parameters()).device
    with (
        torch.inference_mode(),
        tqdm(total=len(texts), desc=desc, unit="text", disable=None) as bar,
    ):
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(ids[i]) for i in rows)
            input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):  # left padding: every text's last token is the last column
                input_ids[r, width - len(ids[i]) :] = torch.tensor(ids[i])
                mask[r, width - len(ids[i]) :] = 1
            # Positions count from each text's first real token, so a text's vector does not
            # depend on the batch it shares (models with absolute positions included).
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            hidden = model(
                input_ids=input_ids.to(device),
                attention_mask=mask.to(device),
                position_ids=positions.to(device),
                output_hidden_states=True,
                logits_to_keep=1,  # the LM head is not needed: project one position, not all
            ).hidden_states[layer]
            if pooling == "last":
                vectors = hidden[:, -1]
            else:
                weights = mask.to(device=device, dtype=hidden.dtype).unsqueeze(-1)
                vectors = (hidden * weights).sum(1) / weights.sum(1)
            out[rows] = vectors.float().cpu().numpy()
            bar.update(len(rows))
    return out


def _item_titles(path: Path) -> list[str]:
    """The catalogue's titles by item_id; ids must be 0..n_items-1 (row i of the output = item i)."""
    titles = read_item_titles(path)
    if sorted(titles) != list(range(len(titles))):
        missing = next(i for i in range(len(titles)) if i not in titles)
        raise UsageError(
            f"item ids must be 0..{len(titles) - 1} (docs/contracts.md); {missing} is missing",
            file=path,
            field="item_id",
        )
    return [titles[i] for i in range(len(titles))]


def _write(path: Path, vectors: np.ndarray, meta: dict[str, Any]) -> None:
    """The .npy then its .json; an old .json goes first, so a crash leaves no mismatched pair."""
    meta_path = path.with_suffix(".json")
    meta_path.unlink(missing_ok=True)
    atomic_write_npy(path, vectors)
    atomic_write_json(meta_path, meta)


def embed(config: EmbedConfig) -> Path:
    """Run `llmrec-train embed`; returns the output folder."""
    from llmrec_train.generate import Generator

    check_writable(config.out, "--out")
    # Every input is read and checked before the model loads (seconds, not a minute).
    titles = _item_titles(config.items) if config.items is not None else None
    texts: dict[str, None] = {}  # distinct texts over every --predictions file, first seen first
    for path in config.predictions:
        texts.update(dict.fromkeys(read_prediction_texts(path)))
    adapter_hash = adapter_sha256(config.adapter)
    gen = Generator(
        config.model, adapter=config.adapter, quantization=config.quantization, bf16=config.bf16
    )
    n_states = gen.model.config.num_hidden_layers + 1  # the embeddings, then each layer's output
    if not -n_states <= config.layer < n_states:
        raise UsageError(
            f"--layer {config.layer}: {gen.model_name} has hidden states 0..{n_states - 1} "
            f"(or -{n_states}..-1)"
        )
    encoder = {
        # contract: llmrec-eval grounds only with text and item vectors of the same encoder
        "encoder": ENCODER,
        "model": gen.model_name,
        "adapter": str(config.adapter) if config.adapter is not None else None,
        "adapter_sha256": adapter_hash,
        "layer": config.layer,
        "pooling": config.pooling,
        "normalized": False,  # BIGRec's raw states, compared by L2 distance
        "dim": int(gen.model.config.hidden_size),
    }
    informative = {
        "config": config.to_dict(),
        "model_path": gen.model_path,
        "dtype": str(gen.dtype).removeprefix("torch."),
        "batch_size": config.batch_size,
        "versions": package_versions(),
    }

    def embed_and_write(strings: list[str], path: Path, contract: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        vectors = embed_texts(
            gen,
            strings,
            layer=config.layer,
            pooling=config.pooling,
            batch_size=config.batch_size,
            desc=path.stem,
        )
        seconds = time.perf_counter() - t0
        speed = {"texts_per_s": round(len(strings) / seconds, 2), "wall_time_s": round(seconds, 2)}
        _write(path, vectors, encoder | contract | informative | speed)
        log.info("embedded %d strings in %.1f s into %s", len(strings), seconds, path)

    if titles is not None:
        assert config.items is not None
        embed_and_write(
            titles,
            config.out / ITEMS_FILE,
            {
                "n_items": len(titles),
                "text_field": "title",
                "items_sha256": sha256_file(config.items),
            },
        )
    if texts:
        embed_and_write(
            list(texts),
            config.out / TEXTS_FILE,
            {
                "n_texts": len(texts),
                "text_rule": TEXT_RULE,
                "texts": list(texts),
                "predictions": {str(p): sha256_file(p) for p in config.predictions},
            },
        )
    return config.out
