"""Prompt wordings. Real traffic words the request in many ways, so each example draws one.

The instruction never spells out the output format: the format is what LoRA teaches (the reference
run's prompt does not give it either). The input is the numbered list of the videos' labels.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

INSTRUCTIONS = (
    "Here are recent watched video topics (labels). Summarize the user's interests.",
    "Summarize this user's interests from the topic labels of the videos they watched recently.",
    "The user recently watched videos with the topic labels below. What are their interests?",
    "Based on the labels of recently watched videos, describe the user's interests.",
    "Write a short interest profile of the viewer from these watched-video topics.",
    "Recently watched videos and their topics are listed below. Summarize what this viewer likes.",
    "From the topic labels of the user's watch history, summarize their interests.",
    "Give the user's interest profile based on the topics of the videos they watched.",
)


def format_history(videos: Sequence[Sequence[str]]) -> str:
    """`1) Vehicle, Car, Renault` one line a video, in history order."""
    return "\n".join(f"{i}) {', '.join(names)}" for i, names in enumerate(videos, start=1))


# --------------------------------------------------------------------------------------------
# Held-out prompts: wordings and layouts that never occur in training, for the `unseen` test set.

HELD_OUT_INSTRUCTIONS = (
    "What topics does this person enjoy? Base your answer on the videos below.",
    "Describe this viewer's tastes using the labels of the videos they have watched.",
    "Which interests does this watch history reveal?",
    "Profile the interests of someone who watched the following videos.",
    "Tell me what this user is into, judging by the topics of their recent videos.",
    "Summarise the viewer's main and side interests from their viewing history.",
)
HELD_OUT_HEADERS = (
    "Watch history (most recent last):",
    "Videos watched this week:",
    "Topic labels of the last videos:",
)
HELD_OUT_SYSTEM = "You are a helpful assistant."
"""The showcase's system prompt (training prompts use the chat template's own default)."""
NUMBERINGS = ("1)", "1.", "-")
"""`1)` is the training layout's; `1.` and `-` bullets are held out."""
SEPARATORS = (", ", "; ")


@dataclass(frozen=True)
class PromptLayout:
    """How a held-out prompt lays out the history; the training layout is `PromptLayout()`."""

    numbering: str = "1)"
    labels_prefix: bool = False  # "Labels: " before each video's labels
    separator: str = ", "
    header: str | None = None  # a line before the list
    instruction_after: bool = False  # the request after the list instead of before it
    system: str | None = None  # a system prompt instead of the chat template's default

    @property
    def is_training_layout(self) -> bool:
        """Whether the list looks like a training one (wording and system prompt aside)."""
        return (self.numbering, self.labels_prefix, self.separator, self.header) == (
            "1)",
            False,
            ", ",
            None,
        )

    def history(self, videos: Sequence[Sequence[str]]) -> str:
        lines = [self.header] if self.header else []
        for i, names in enumerate(videos, start=1):
            number = "-" if self.numbering == "-" else self.numbering.replace("1", str(i))
            labels = ("Labels: " if self.labels_prefix else "") + self.separator.join(names)
            lines.append(f"{number} {labels}")
        return "\n".join(lines)


def draw_held_out_layout(rng: random.Random) -> PromptLayout:
    """A random layout that differs from training's in its list (numbering, prefix, separator or
    header), and may also move the request after the list or add a system prompt."""
    while True:
        layout = PromptLayout(
            numbering=rng.choice(NUMBERINGS),
            labels_prefix=rng.random() < 0.5,
            separator=rng.choice(SEPARATORS),
            header=rng.choice(HELD_OUT_HEADERS) if rng.random() < 0.5 else None,
            instruction_after=rng.random() < 0.5,
            system=HELD_OUT_SYSTEM if rng.random() < 0.5 else None,
        )
        if not layout.is_training_layout:
            return layout


# --------------------------------------------------------------------------------------------
# The showcase: the original interest-LoRA project's four prompts, verbatim (system prompt and user turn).

SHOWCASE_PROMPTS = (
    "Here are recent watched video topics (labels). Summarize the user's interests.\n"
    "1) Vehicle, Car, Renault, Ford Focus\n"
    "2) Vehicle, Aircraft, Airplane, Airline\n"
    "3) Cartoon, Inuyasha\n"
    "4) Fishing, Recreational fishing",
    "User recently watched videos with these topics. What are their interests?\n"
    "1) Basketball, NBA, Golden State Warriors\n"
    "2) Concert, Musician, Drum, Drummer\n"
    "3) Game, Association football, Premier League\n"
    "4) Cooking, Recipe, Vegetable",
    "Recent watched topics:\n"
    "1) Origami, Felt\n"
    "2) Toy, Lego, Kinder Surprise, Playground\n"
    "3) Running, Marathon\n"
    "4) Dance, Performance art\n"
    "Summarize the user's interests.",
    "Topics watched:\n"
    "1) Makeup, Cosmetics, Lipstick\n"
    "2) Hairstyle, Wig\n"
    "3) Fashion, Streetwear\n"
    "4) Skincare\n"
    "Summarize the user's interests.",
)


def showcase_videos(prompt: str) -> list[list[str]]:
    """The label lists of a showcase prompt's `1) A, B` lines."""
    return [
        match.group(1).split(", ")
        for match in re.finditer(r"^\d+\) (.+)$", prompt, flags=re.MULTILINE)
    ]
