"""`llmrec-data interests ...` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from llmrec_data._cli_config import fail
from llmrec_data.errors import DataError

app = typer.Typer(help="Interest summaries from watched-video topic labels.", no_args_is_help=True)


@app.command()
def prepare(
    out: Annotated[Path, typer.Option(help="Output folder for train/valid/test.jsonl.")],
    youtube8m_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder with vocabulary.csv and video_labels.tsv [$LLMREC_DATA_HOME/youtube8m]."
        ),
    ] = None,
    n_train: Annotated[int, typer.Option(help="Training users (one example each).")] = 2000,
    n_valid: Annotated[int, typer.Option(help="Validation users.")] = 100,
    n_test: Annotated[int, typer.Option(help="Held-out test users.")] = 50,
    n_unseen: Annotated[
        int,
        typer.Option(
            help="Users of unseen.jsonl: test-pool users asked with prompt wordings and layouts "
            "never used in training, 8 to 12 videos each."
        ),
    ] = 50,
    min_videos: Annotated[int, typer.Option(help="Fewest videos in a history.")] = 4,
    max_videos: Annotated[int, typer.Option(help="Most videos in a history.")] = 8,
    coherent_share: Annotated[
        float, typer.Option(help="Share of coherent users (drawn around 1-3 interests).")
    ] = 0.7,
    seed: Annotated[int, typer.Option(help="Seed of pools, users and prompt wordings.")] = 0,
) -> None:
    """Draw users from the real YouTube-8M videos and write the instruction examples.

    Writes train/valid/test.jsonl, unseen.jsonl (held-out prompts), showcase.jsonl (the four
    showcase prompts, no targets) and manifest.json."""
    from llmrec_data.interests.build import InterestsConfig, prepare_interests
    from llmrec_data.interests.users import UserConfig

    config = InterestsConfig(
        n_train=n_train,
        n_valid=n_valid,
        n_test=n_test,
        n_unseen=n_unseen,
        seed=seed,
        users=UserConfig(
            min_videos=min_videos, max_videos=max_videos, coherent_share=coherent_share
        ),
    )
    try:
        paths = prepare_interests(out, config, youtube8m_dir)
    except DataError as err:
        fail(err)
        return
    for split, path in paths.items():
        typer.echo(f"{split}: {path}")
