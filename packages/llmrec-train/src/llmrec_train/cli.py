"""The `llmrec-train` command line: one command per config dataclass, one flag per field (TRL style)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from llmrec_cli import check_config_command, close_progress_bars, command_from_config

from llmrec_train.config import EmbedConfig, GenerateConfig, ParamsConfig, RankConfig, TrainConfig
from llmrec_train.errors import UsageError
from llmrec_train.recommenders.config import RecommendConfig

if TYPE_CHECKING:
    from llmrec_train.train import TrainResult

app = typer.Typer(
    help="llmrec-train: LoRA SFT with TRL (QLoRA, multi-GPU via accelerate), generation with "
    "constrained decoding, collaborative recommenders (SASRec, transitions), the LLM as a ranker and as an embedder (BIGRec grounding). Files follow docs/contracts.md.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def command_from_dataclass(cls: type, run: Callable[[Any], Any]) -> Callable[..., None]:
    """The llmrec-cli adapter with this package's settings: one option per dataclass field plus
    `--config FILE`; UsageError (a missing input file included) is bad input (exit 2), Ctrl-C
    says how to continue (exit 130), anything else is a bug (traceback)."""
    return command_from_config(
        cls,
        run,
        error=UsageError,
        setup=_setup,
        interrupted=_interrupt_hint,
    )


def _setup() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    quiet_third_party()


def quiet_third_party() -> None:
    """Silence notices that libraries print on every run and that need no action from the user."""
    # peft reads transformers 5's deprecated `is_gradient_checkpointing` (once per model load).
    warnings.filterwarnings(
        "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
    )
    # bitsandbytes: optional CPU 4-bit kernels (the `kernels` package) are missing; the built-in path works.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    # the hub client repeats the same retry warning per file; our own check reports an unreachable hub.
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


def _interrupt_hint(kwargs: dict[str, Any]) -> str:
    """One line: what stopped, and how to continue."""
    close_progress_bars()  # else they redraw after our message, at exit
    if "pooling" in kwargs:  # embed
        return "embed stopped; no new embedding file was written (run the same command again)"
    if "candidates" in kwargs:  # rank
        return "rank stopped; no score file was written (run the same command again)"
    if "top_n" in kwargs and "model" in kwargs:  # recommend
        return "recommend stopped; no score file was written (run the same command again)"
    if "lora_r" in kwargs and "train_file" not in kwargs:  # params
        return "params stopped; nothing was written (run the same command again)"
    if "train_file" not in kwargs:
        return "generation stopped; nothing was written (run the same command again)"
    from llmrec_train.train import last_checkpoint

    ckpt = last_checkpoint(Path(kwargs["output_dir"]) / "checkpoints")
    if ckpt is None:
        return "training stopped before its first checkpoint; run the command again to start over"
    return (
        f"training stopped; the same command with --resume auto continues from {ckpt} "
        "(--save-steps sets how often checkpoints are saved)"
    )


def _train(config: TrainConfig) -> TrainResult:
    from llmrec_train.train import train

    return train(config)


def _generate(config: GenerateConfig) -> Path:
    from llmrec_train.generate import generate

    return generate(config)


def _rank(config: RankConfig) -> Path:
    from llmrec_train.rank import rank

    return rank(config)


def _embed(config: EmbedConfig) -> Path:
    from llmrec_train.embed import embed

    return embed(config)


def _params(config: ParamsConfig) -> str:
    from llmrec_train.params import params

    return params(config)


def _recommend(config: RecommendConfig) -> Path:
    from llmrec_train.recommenders.run import recommend

    return recommend(config)


app.command("train", help=TrainConfig.__doc__)(command_from_dataclass(TrainConfig, _train))
app.command("generate", help=GenerateConfig.__doc__)(
    command_from_dataclass(GenerateConfig, _generate)
)
app.command("recommend", help=RecommendConfig.__doc__)(
    command_from_dataclass(RecommendConfig, _recommend)
)
app.command("rank", help=RankConfig.__doc__)(command_from_dataclass(RankConfig, _rank))
app.command("embed", help=EmbedConfig.__doc__)(command_from_dataclass(EmbedConfig, _embed))
app.command("params", help=ParamsConfig.__doc__)(command_from_dataclass(ParamsConfig, _params))
app.command("check-config")(check_config_command(app, "llmrec-train"))


@app.command()
def version() -> None:
    """Print the package version."""
    from llmrec_train import __version__

    typer.echo(__version__)


def _print_version(value: bool) -> None:
    if value:
        from llmrec_train import __version__

        typer.echo(f"llmrec-train {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """llmrec-train: LoRA SFT with TRL and generation with constrained decoding."""


def main() -> None:  # `python -m llmrec_train` (used by `accelerate launch -m`)
    app(prog_name="llmrec-train")


if __name__ == "__main__":
    main()
