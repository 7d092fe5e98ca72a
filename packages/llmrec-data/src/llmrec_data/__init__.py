"""llmrec-data: raw recommendation datasets -> BIGRec-style instruction examples and item embeddings.

Public API (the CLI is a thin layer over it):

    from llmrec_data import PrepareConfig, prepare, EmbedConfig, embed_items
    result = prepare(PrepareConfig(out="runs/movie-small/data", dataset="movie-small"))
    embed_items(EmbedConfig(data=result.out))

File formats: docs/contracts.md of the llmrec repository.
"""

from llmrec_data._catalogue import clean_title, normalise_title
from llmrec_data._examples import PROMPTS, Prompt
from llmrec_data._presets import PRESETS, Preset
from llmrec_data._sources import SOURCES, data_home, ensure_source
from llmrec_data.config import EmbedConfig, PrepareConfig
from llmrec_data.embed import embed_items, read_items
from llmrec_data.errors import DataError, MissingRawDataError
from llmrec_data.prepare import PrepareResult, prepare, read_raw

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "PROMPTS",
    "SOURCES",
    "DataError",
    "EmbedConfig",
    "MissingRawDataError",
    "PrepareConfig",
    "PrepareResult",
    "Preset",
    "Prompt",
    "__version__",
    "clean_title",
    "data_home",
    "embed_items",
    "ensure_source",
    "normalise_title",
    "prepare",
    "read_items",
    "read_raw",
]
