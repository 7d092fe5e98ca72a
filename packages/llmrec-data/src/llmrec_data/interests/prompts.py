"""Prompt wordings. Real traffic words the request in many ways, so each example draws one.

The instruction never spells out the output format: the format is what LoRA teaches (the reference
run's prompt does not give it either). The input is the numbered list of the videos' labels.
"""

from __future__ import annotations

from collections.abc import Sequence

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
