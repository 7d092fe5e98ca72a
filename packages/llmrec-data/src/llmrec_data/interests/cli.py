"""`llmrec-data interests ...` commands (flags and `--config FILE` from the config dataclass)."""

from __future__ import annotations

import typer
from llmrec_cli import command_from_config

from llmrec_data.config import InterestsPrepareConfig
from llmrec_data.errors import DataError

app = typer.Typer(help="Interest summaries from watched-video topic labels.", no_args_is_help=True)


def _run_prepare(options: InterestsPrepareConfig) -> None:
    from llmrec_data.interests.build import InterestsConfig, prepare_interests
    from llmrec_data.interests.users import UserConfig

    config = InterestsConfig(
        n_train=options.n_train,
        n_valid=options.n_valid,
        n_test=options.n_test,
        n_unseen=options.n_unseen,
        seed=options.seed,
        users=UserConfig(
            min_videos=options.min_videos,
            max_videos=options.max_videos,
            coherent_share=options.coherent_share,
        ),
    )
    paths = prepare_interests(options.out, config, options.youtube8m_dir)
    for split, path in paths.items():
        typer.echo(f"{split}: {path}")


app.command(
    "prepare",
    help="Draw users from the real YouTube-8M videos and write the instruction examples: "
    "train/valid/test.jsonl, unseen.jsonl (held-out prompts), showcase.jsonl (the four showcase "
    "prompts, no targets) and manifest.json.",
)(command_from_config(InterestsPrepareConfig, _run_prepare, error=DataError))
