"""Constrained decoding of interest profiles: only the example's own labels, each at most once, inside
the fixed three-line format (docs/contracts.md, "Interest-summary examples"):

    Primary interests: A, B.
    Secondary interests: C.                  (or "Secondary interests: none.")
    Recommendation direction: more videos about A and B; occasional videos about C.

The output is a sequence of *units*, each a fixed text or an input label with the punctuation that
follows it (" Ford Focus," / " Ford Focus." / " Ford Focus and" / " Ford Focus;"). A grammar state says
which units may come next: 1 to `max_primary` distinct labels, then 0 (" none.") to `max_secondary`
other labels, then a direction that names one or two of the primary interests and, when there are
secondary ones, one or two of those. Every unit is tokenized on its own; a unit starts at a space or a
line break and ends at punctuation, which are pre-token boundaries for byte-level BPE, so the units
concatenate to the same tokens as the whole profile (checked by the tests; all 2,000 training
targets of seed 0 match).

`ProfileLogitsProcessor` keeps, per row, the set of (state, token-trie node) hypotheses its generated
tokens lead to (a set, because one unit can be a token prefix of another: " Tom and" and
" Tom and Jerry."), allows only the tokens that continue one of them, and after the final period only
the stop tokens. The grammar is finite, so every row finishes within `max_tokens`: outputs are always
format-compliant, name only input labels, and never name one twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import torch
from transformers import LogitsProcessor

PRIMARY_HEADER = "Primary interests:"
SECONDARY_HEADER = "\nSecondary interests:"
DIRECTION_HEADER = "\nRecommendation direction: more videos about"
OCCASIONAL = " occasional videos about"
NONE_UNIT = " none."
MAX_PRIMARY = 3
"""The contract's 1-3 primary interests."""
MAX_SECONDARY = 3
"""The contract's 0-3 secondary interests."""
DIRECTION_NAMES = 2
"""The direction names at most two interests of each list."""

END = ("end",)
"""The state after the final period: only stop tokens follow."""

State = tuple
_EMPTY_WORDS = {"none", "n/a", "-"}  # an interest list of just this reads as no interest
Encode = Callable[[str], list[int]]


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    ends: list[State] = field(default_factory=list)  # next states of the units that end here


def writable_labels(labels: Sequence[str]) -> list[str]:
    """The labels a profile can name: stripped, non-empty, once each as the evaluation compares names
    (case-insensitively, one trailing period ignored: "Super Smash Bros." is "Super Smash Bros"), not
    a word that reads as an empty list ("none"), and without a comma that would split the name when
    read back (a comma is allowed inside parentheses or between digits: "Space Marines (Warhammer
    40,000)")."""
    seen: set[str] = set()
    kept = []
    for label in labels:
        name = label.strip()
        key = name.removesuffix(".").strip().casefold()
        if not key or key in seen or key in _EMPTY_WORDS or not _commas_readable(name):
            continue
        seen.add(key)
        kept.append(name)
    return kept


def _commas_readable(name: str) -> bool:
    depth = 0
    for i, char in enumerate(name):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ",":
            between_digits = (
                0 < i < len(name) - 1 and name[i - 1].isdigit() and name[i + 1].isdigit()
            )
            if depth <= 0 and not between_digits:
                return False
    return True


class ProfileGrammar:
    """The profiles one example may produce, as token-trie states built lazily."""

    def __init__(
        self,
        labels: Sequence[str],
        encode: Encode,
        *,
        max_primary: int = MAX_PRIMARY,
        max_secondary: int = MAX_SECONDARY,
    ) -> None:
        self.labels = writable_labels(labels)
        if not self.labels:
            raise ValueError(f"no label a profile can name among {list(labels)!r}")
        self.encode = encode
        self.max_primary = max_primary
        self.max_secondary = max_secondary
        self._units: dict[str, list[int]] = {}
        self._tries: dict[State, _Node] = {}
        self._hyps: dict[tuple[int, ...], list[tuple[State, _Node]]] = {
            (): [(("start",), self.trie(("start",)))]
        }

    # ---------------------------------------------------------------- the grammar, unit by unit

    def _tokens(self, text: str) -> list[int]:
        if text not in self._units:
            self._units[text] = self.encode(text)
        return self._units[text]

    def units(self, state: State) -> list[tuple[str, State]]:
        """(unit text, next state) pairs allowed in `state`."""
        kind = state[0]
        if kind == "start":
            return [(PRIMARY_HEADER, ("primary", ()))]
        if kind == "primary":
            used = state[1]
            free = [x for x in self.labels if x not in used]
            out: list[tuple[str, State]] = [
                (f" {x}.", ("secondary-header", (*used, x))) for x in free
            ]
            if len(used) + 1 < self.max_primary and len(free) > 1:
                out += [(f" {x},", ("primary", (*used, x))) for x in free]
            return out
        if kind == "secondary-header":
            return [(SECONDARY_HEADER, ("secondary", state[1], ()))]
        if kind == "secondary":
            primary, used = state[1], state[2]
            free = [x for x in self.labels if x not in primary and x not in used]
            out = [(NONE_UNIT, ("direction-header", primary, ()))] if not used else []
            out += [(f" {x}.", ("direction-header", primary, (*used, x))) for x in free]
            if len(used) + 1 < self.max_secondary and len(free) > 1:
                out += [(f" {x},", ("secondary", primary, (*used, x))) for x in free]
            return out
        if kind == "direction-header":
            return [(DIRECTION_HEADER, ("direction", state[1], state[2], ()))]
        if kind == "direction":
            primary, secondary, used = state[1], state[2], state[3]
            out = []
            for x in (p for p in primary if p not in used):
                named = (*used, x)
                out.append((f" {x}.", END))
                if secondary:
                    out.append((f" {x};", ("occasional-header", secondary)))
                if len(named) < min(DIRECTION_NAMES, len(primary)):
                    out.append((f" {x} and", ("direction", primary, secondary, named)))
            return out
        if kind == "occasional-header":
            return [(OCCASIONAL, ("occasional", state[1], ()))]
        if kind == "occasional":
            secondary, used = state[1], state[2]
            out = []
            for x in (s for s in secondary if s not in used):
                named = (*used, x)
                out.append((f" {x}.", END))
                if len(named) < min(DIRECTION_NAMES, len(secondary)):
                    out.append((f" {x} and", ("occasional", secondary, named)))
            return out
        raise ValueError(f"unknown grammar state {state!r}")

    def trie(self, state: State) -> _Node:
        """The token trie of the units allowed in `state` (cached)."""
        if state not in self._tries:
            root = _Node()
            for text, next_state in self.units(state):
                node = root
                for token in self._tokens(text):
                    node = node.children.setdefault(token, _Node())
                node.ends.append(next_state)
            self._tries[state] = root
        return self._tries[state]

    # ---------------------------------------------------------------- tokens

    def hypotheses(self, prefix: tuple[int, ...]) -> list[tuple[State, _Node]]:
        """Where the generated tokens `prefix` can be in the grammar (empty: off the grammar)."""
        if prefix not in self._hyps:
            before = self.hypotheses(prefix[:-1])
            token = prefix[-1]
            after: list[tuple[State, _Node]] = []
            for state, node in before:
                if token in node.children:
                    after.append((state, node.children[token]))
                for next_state in node.ends:
                    if next_state != END:
                        root = self.trie(next_state)
                        if token in root.children:
                            after.append((next_state, root.children[token]))
            self._hyps[prefix] = after
        return self._hyps[prefix]

    def allowed(self, prefix: tuple[int, ...]) -> tuple[set[int], bool]:
        """The tokens that may follow `prefix`, and whether a stop token may (the profile is done)."""
        tokens: set[int] = set()
        done = False
        for _, node in self.hypotheses(prefix):
            tokens.update(node.children)
            for next_state in node.ends:
                if next_state == END:
                    done = True
                else:
                    tokens.update(self.trie(next_state).children)
        return tokens, done

    def max_tokens(self) -> int:
        """An upper bound on the tokens of any profile, stop token included (the generation budget)."""

        def longest(suffix: str, names: Sequence[str], k: int) -> int:
            sizes = sorted((len(self._tokens(f" {x}{suffix}")) for x in names), reverse=True)
            return sum(sizes[:k])

        labels = self.labels
        fixed = sum(
            len(self._tokens(t))
            for t in (PRIMARY_HEADER, SECONDARY_HEADER, DIRECTION_HEADER, OCCASIONAL, NONE_UNIT)
        )
        lists = longest(",", labels, self.max_primary) + longest(",", labels, self.max_secondary)
        longest_unit = max(
            (len(self._tokens(f" {x}{s}")) for x in labels for s in (".", ",", ";", " and")),
            default=0,
        )
        direction = 2 * DIRECTION_NAMES * longest_unit
        return fixed + lists + direction + 1


class ProfileLogitsProcessor(LogitsProcessor):
    """Masks every token that leaves the profile grammar of the row's example.

    Rows map to examples in order, `rows // len(grammars)` rows each (beam search lays out an example's
    beams next to each other). A row that has emitted a stop token may only continue with `end_ids`
    (padding); a row whose profile is complete may only stop.
    """

    def __init__(
        self,
        grammars: Sequence[ProfileGrammar],
        prompt_length: int,
        stop_ids: Sequence[int],
        end_ids: Sequence[int],
    ) -> None:
        self.grammars = list(grammars)
        self.prompt_length = prompt_length
        self.stop_ids = sorted(set(stop_ids))
        self.end_ids = torch.tensor(sorted(set(end_ids)), dtype=torch.long)
        self.end_set = set(end_ids)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        per_example = max(1, input_ids.shape[0] // len(self.grammars))
        mask = torch.full_like(scores, float("-inf"))
        for row, tokens in enumerate(input_ids[:, self.prompt_length :].tolist()):
            if any(t in self.end_set for t in tokens):
                allowed = self.end_ids
            else:
                grammar = self.grammars[row // per_example]
                ids, done = grammar.allowed(tuple(tokens))
                if done:
                    ids = ids | set(self.stop_ids)
                # Off the grammar cannot happen (only allowed tokens are ever chosen); stop if it does.
                allowed = torch.tensor(sorted(ids) or self.stop_ids, dtype=torch.long)
            mask[row, allowed.to(scores.device)] = 0.0
        # torch types arithmetic as Tensor; LogitsProcessor's signature says FloatTensor.
        return cast("torch.FloatTensor", scores + mask)
