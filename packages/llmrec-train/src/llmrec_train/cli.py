"""The `llmrec-train` command line: one command per config dataclass, one flag per field (TRL style)."""

from __future__ import annotations

import dataclasses
import errno
import inspect
import logging
import sys
import types
import typing
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from llmrec_train.config import GenerateConfig, ParamsConfig, RankConfig, TrainConfig
from llmrec_train.errors import UsageError
from llmrec_train.recommenders.config import RecommendConfig

app = typer.Typer(
    help="llmrec-train: LoRA SFT with TRL (QLoRA, multi-GPU via accelerate), generation with "
    "constrained decoding, collaborative recommenders (SASRec, transitions) and the LLM as a ranker. Files follow docs/contracts.md.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _unwrap_optional(tp: Any) -> Any:
    """`X | None` -> X (typer reads a missing option as None from the default)."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def command_from_dataclass(cls: type, run: Callable[[Any], Any]) -> Callable[..., None]:
    """A function whose signature has one typer option per dataclass field (required fields included)."""
    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        tp = _unwrap_optional(hints[f.name])
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = ... if required else f.default
        flag = "--" + f.name.replace("_", "-")
        # `aliases`: the name the other CLIs use for the same concept (e.g. --out for a folder)
        decls = (
            [flag, *f.metadata.get("aliases", ())]
            if tp is not bool
            else [f"{flag}/--no-{flag[2:]}"]
        )
        option = typer.Option(
            default,
            *decls,
            help=f.metadata.get("help", ""),
            show_default=not required,
            metavar=f.metadata.get("metavar"),
        )
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=option,
                annotation=tp if tp is not Path else Path,
            )
        )

    def command(**kwargs: Any) -> None:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        quiet_third_party()
        try:
            config = cls(**kwargs)
            result = run(config)
        except (UsageError, FileNotFoundError) as e:
            typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=2) from None
        except OSError as e:
            if e.errno not in _ENVIRONMENT_ERRNOS:
                raise
            typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1) from None
        except KeyboardInterrupt:
            _close_progress_bars()  # else they redraw after our message, at exit
            typer.secho(f"interrupted: {_interrupt_hint(kwargs)}", fg=typer.colors.YELLOW, err=True)
            raise typer.Exit(code=130) from None
        typer.echo(str(result))

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = cls.__doc__
    return command


# Failures of the machine rather than of our code: one line, exit 1.
_ENVIRONMENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


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


def _close_progress_bars() -> None:
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()
    sys.stderr.write("\n")


def _interrupt_hint(kwargs: dict[str, Any]) -> str:
    """One line: what stopped, and how to continue."""
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


def _train(config: TrainConfig) -> Path:
    from llmrec_train.train import train

    return train(config)


def _generate(config: GenerateConfig) -> Path:
    from llmrec_train.generate import generate

    return generate(config)


def _rank(config: RankConfig) -> Path:
    from llmrec_train.rank import rank

    return rank(config)


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
app.command("params", help=ParamsConfig.__doc__)(command_from_dataclass(ParamsConfig, _params))


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
    sys.exit(main())
