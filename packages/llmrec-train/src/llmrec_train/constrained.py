"""Constrained decoding: generation restricted to catalogue titles through a prefix trie of token ids.

Each title is tokenized exactly as a training completion: the quoted title followed by the template's end
of turn (`"Heat (1995)"<|im_end|>` for ChatML, `"Heat (1995)"</s>` for plain prompts). At every step the
`TrieLogitsProcessor` leaves a row's scores unchanged for the tokens that continue a title from what the
row has generated so far, and sets every other token to -inf.

No silent fallback to free generation: where the trie allows no continuation (a row that has finished its
title, or one that somehow left the trie), only the stop/pad tokens are allowed, so that row ends. Every
returned sequence is therefore a complete catalogue title, and the beams of one prompt are distinct token
sequences, hence distinct titles (items sharing a title share one path: they are one answer).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import torch
from transformers import LogitsProcessor

from llmrec_train.templates import PromptBuilder

Node = dict[int, "Node"]


class TitleTrie:
    """A prefix trie over token-id sequences; nodes are dicts `token id -> child node`."""

    def __init__(self, sequences: Iterable[list[int]]) -> None:
        self.root: Node = {}
        self.max_depth = 0
        self.n_sequences = 0
        for seq in sequences:
            node = self.root
            for token in seq:
                node = node.setdefault(token, {})
            self.max_depth = max(self.max_depth, len(seq))
            self.n_sequences += 1
        # Allowed-token tensors, cached per node (by identity) and per generated prefix.
        self._allowed: dict[int, torch.Tensor] = {}
        self._node_of: dict[tuple[int, ...], Node | None] = {(): self.root}

    @classmethod
    def from_titles(cls, titles: Iterable[str], builder: PromptBuilder) -> TitleTrie:
        """Titles as the template's completions: `"title"` plus the end-of-turn text."""
        unique = sorted(set(titles))
        return cls(builder.encode_completion(f'"{t}"') for t in unique)

    def node(self, prefix: tuple[int, ...]) -> Node | None:
        """The trie node reached by `prefix`, or None when the prefix is not in the trie."""
        if prefix in self._node_of:
            return self._node_of[prefix]
        parent = self.node(prefix[:-1])
        child = None if parent is None else parent.get(prefix[-1])
        self._node_of[prefix] = child
        return child

    def allowed(self, node: Node) -> torch.Tensor:
        key = id(node)
        if key not in self._allowed:
            self._allowed[key] = torch.tensor(sorted(node), dtype=torch.long)
        return self._allowed[key]


class TrieLogitsProcessor(LogitsProcessor):
    """Masks every token that does not continue a catalogue title (vectorised: one gather/scatter per step)."""

    def __init__(self, trie: TitleTrie, prompt_length: int, end_token_ids: list[int]) -> None:
        self.trie = trie
        self.prompt_length = prompt_length
        self.end_ids = torch.tensor(sorted(set(end_token_ids)), dtype=torch.long)
        self.end_set = set(end_token_ids)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        allowed: list[torch.Tensor] = []
        for tokens in input_ids[:, self.prompt_length :].tolist():
            if self.end_set.intersection(tokens):
                allowed.append(self.end_ids)  # finished: only padding/stop can follow
                continue
            node = self.trie.node(tuple(tokens))
            # Off the trie, or at a leaf: end the row rather than generate freely.
            allowed.append(self.end_ids if not node else self.trie.allowed(node))
        counts = torch.tensor([a.numel() for a in allowed])
        rows = torch.repeat_interleave(torch.arange(len(allowed)), counts).to(scores.device)
        cols = torch.cat(allowed).to(scores.device)
        # Copy the allowed scores into a -inf row (no full-vocabulary mask to add).
        masked = torch.full_like(scores, float("-inf"))
        masked[rows, cols] = scores[rows, cols]
        # torch types full_like as Tensor; LogitsProcessor's signature says FloatTensor.
        return cast("torch.FloatTensor", masked)
