"""Shared fixtures: the real SmolLM2 converted once per session, and a tiny real MovieLens dataset.

Inputs are the repository's golden fixtures (`fixtures/` at the root: what the real `llmrec-data
prepare` writes on a slice of ml-latest-small, see fixtures/make_fixtures.py); this package's tests
read files only and never import another llmrec package.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Third-party warnings we cannot avoid (root pytest config turns warnings into errors):
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"

THIRD_PARTY_WARNINGS = [
    # peft 0.21's PeftModel.__init__ reads the deprecated `is_gradient_checkpointing` of transformers 5.
    "ignore:`is_gradient_checkpointing` is deprecated:FutureWarning",
    # bitsandbytes' int8 matmul on CPU casts its inputs, and says so.
    "ignore:MatMul8bitLt.*cast.*:UserWarning",
]


def pytest_configure(config: pytest.Config) -> None:
    for line in THIRD_PARTY_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


# Fixtures that load SmolLM2: a test using one (directly or through another fixture) is in the slow
# tier, and must say so, so that `invoke test --fast` never loads the model.
SLOW_FIXTURES = {"model_path", "trained"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        used = SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if here in item.path.parents and used and item.get_closest_marker("slow") is None:
            raise pytest.UsageError(
                f"{item.nodeid} uses {', '.join(sorted(used))} (loads SmolLM2): mark it @pytest.mark.slow"
            )


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session cache folder: the GGUF -> HF conversion runs for real, once, into it."""
    folder = tmp_path_factory.mktemp("llmrec-cache")
    os.environ["LLMREC_CACHE_HOME"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def model_path(model_cache: Path) -> str:
    from llmrec_train.models import DEFAULT_MODEL, resolve_model

    return resolve_model(DEFAULT_MODEL)


def first_lines(source: Path, target: Path, n: int) -> Path:
    """The first `n` lines of a fixture JSONL file (still a contract file: ids are line numbers)."""
    with source.open(encoding="utf-8") as f:
        lines = [line for _, line in zip(range(n), f, strict=False)]
    target.write_text("".join(lines), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train (24), valid (8), test (8) examples: the first lines of fixtures/movie's files, and its
    whole catalogue (1,357 movies, one duplicate title)."""
    folder = tmp_path_factory.mktemp("data")
    for split, n in (("train", 24), ("valid", 8), ("test", 8)):
        first_lines(FIXTURES / "movie" / f"{split}.jsonl", folder / f"{split}.jsonl", n)
    shutil.copyfile(FIXTURES / "movie" / "items.parquet", folder / "items.parquet")
    return folder


@pytest.fixture(scope="session")
def trained(model_path: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A LoRA adapter trained for a few real steps (2 epochs of 3 steps), with validation each epoch."""
    from llmrec_train.config import TrainConfig
    from llmrec_train.train import train

    config = TrainConfig(
        train_file=data_dir / "train.jsonl",
        valid_file=data_dir / "valid.jsonl",
        output_dir=tmp_path_factory.mktemp("adapter"),
        epochs=2,
        batch_size=8,
        eval_batch_size=8,
        learning_rate=1e-3,
        warmup_ratio=0.0,
        lr_scheduler="constant",
        early_stopping_patience=0,
    )
    return train(config), config
