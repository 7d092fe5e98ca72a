"""Prompt templates: how an example becomes token ids, the same way for training, generation and the
constrained-decoding trie.

Two wordings (`template`):
- `basic`: BIGRec's Alpaca-style prompt (Instruction / Input / Response).
- `enhanced`: Bi-Step-Rec's, which adds an explicit line on the output format (only the quoted title).

Two formats (`prompt_format`):
- `chat`: the model's own chat template (instruct models): the instruction and input are the user turn,
  the output is the assistant turn, closed by the template's end-of-turn token.
- `plain`: plain text (base models): the Alpaca text, then the output and the EOS token.
- `auto`: `chat` when the tokenizer has a chat template, else `plain`.

Prompt and completion are tokenized separately and concatenated, so the completion tokens the model
is trained on are exactly the ones generation produces and the trie is built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

if TYPE_CHECKING:  # the CLI imports this module for --help: no transformers import at run time
    from collections.abc import Sequence

    from transformers import PreTrainedTokenizerBase

from llmrec_train.errors import UsageError

TEMPLATES = ("basic", "enhanced")
PROMPT_FORMATS = ("auto", "chat", "plain")

_ALPACA_HEADER = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request."
)
_ALPACA_HEADER_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately completes "
    "the request."
)
# Bi-Step-Rec's format instructions (train-sft.py): one for plain prompts, one for chat prompts.
_ENHANCED_PLAIN = "Only output the name of the recommended thing. Do not include any explanations or extra information."
_ENHANCED_CHAT = 'Only output in the following format:\n"<name of the recommended thing>"'


def _plain_prompt(instruction: str, input_text: str, template: str) -> str:
    if template == "basic":
        if input_text:
            return (
                f"{_ALPACA_HEADER}\n\n### Instruction:\n{instruction}\n\n"
                f"### Input:\n{input_text}\n\n### Response:\n"
            )
        return f"{_ALPACA_HEADER_NO_INPUT}\n\n### Instruction:\n{instruction}\n\n### Response:\n"
    if input_text:
        return (
            f"{_ALPACA_HEADER}\n\n### Instruction:\n{instruction}\n{_ENHANCED_PLAIN}\n"
            f"### Input:\n{input_text}\n\n### Response:\n"
        )
    return (
        f"{_ALPACA_HEADER_NO_INPUT}\n\n### Instruction:\n{instruction}\n{_ENHANCED_PLAIN}\n"
        "### Response:\n"
    )


def _chat_user_turn(instruction: str, input_text: str, template: str) -> str:
    head = instruction if template == "basic" else f"{instruction}\n{_ENHANCED_CHAT}"
    return f"{head}\n\n{input_text}" if input_text else head


@dataclass
class PromptBuilder:
    """Turns (instruction, input, output) into prompt and completion token ids for one tokenizer."""

    tokenizer: PreTrainedTokenizerBase
    template: str = "basic"
    prompt_format: str = "auto"
    resolved_format: Literal["chat", "plain"] = field(init=False)
    _end_text: str = field(init=False)

    def __post_init__(self) -> None:
        if self.template not in TEMPLATES:
            raise UsageError(f"unknown template {self.template!r}; expected one of {TEMPLATES}")
        if self.prompt_format not in PROMPT_FORMATS:
            raise UsageError(
                f"unknown prompt format {self.prompt_format!r}; expected one of {PROMPT_FORMATS}"
            )
        has_chat = bool(getattr(self.tokenizer, "chat_template", None))
        if self.prompt_format == "chat" and not has_chat:
            raise UsageError("prompt_format='chat' but the tokenizer has no chat template")
        self.resolved_format = (
            "chat"
            if self.prompt_format == "chat" or (self.prompt_format == "auto" and has_chat)
            else "plain"
        )
        if self.tokenizer.eos_token is None:
            raise UsageError("the tokenizer has no EOS token; set one before training")
        self._end_text = self._find_end_text()

    def _find_end_text(self) -> str:
        """What closes a completion: the chat template's end of the assistant turn, or the EOS token."""
        if self.resolved_format == "plain":
            return self.tokenizer.eos_token
        marker = "\x00OUTPUT\x00"
        messages = [{"role": "user", "content": "x"}]
        prompt = self._chat_text(messages, add_generation_prompt=True)
        full = self._chat_text([*messages, {"role": "assistant", "content": marker}])
        if not full.startswith(prompt) or marker not in full:
            raise UsageError(
                "the chat template does not render the prompt as a prefix of the conversation; "
                "use --prompt-format plain"
            )
        end = full[full.index(marker) + len(marker) :].strip()
        return end or self.tokenizer.eos_token

    def prompt_text(self, instruction: str, input_text: str, system: str | None = None) -> str:
        """The prompt; `system` (an example's optional system prompt) replaces the chat template's
        default system turn, or comes first in a plain prompt."""
        if self.resolved_format == "plain":
            text = _plain_prompt(instruction, input_text, self.template)
            return f"{system}\n\n{text}" if system else text
        messages = [
            {"role": "user", "content": _chat_user_turn(instruction, input_text, self.template)}
        ]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        return self._chat_text(messages, add_generation_prompt=True)

    def _chat_text(
        self, messages: list[dict[str, str]], *, add_generation_prompt: bool = False
    ) -> str:
        """The chat template rendered as text (transformers types the result of every mode as one union)."""
        return cast(
            str,
            self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=add_generation_prompt, tokenize=False
            ),
        )

    def completion_text(self, output: str) -> str:
        return output + self._end_text

    def encode_prompt(
        self, instruction: str, input_text: str, system: str | None = None
    ) -> list[int]:
        # Chat templates render their own BOS; plain text gets the tokenizer's special tokens (e.g. BOS).
        add_special = self.resolved_format == "plain"
        return self.tokenizer(
            self.prompt_text(instruction, input_text, system), add_special_tokens=add_special
        )["input_ids"]

    def encode_prompt_marking(
        self,
        instruction: str,
        input_text: str,
        phrases: Sequence[str],
        system: str | None = None,
    ) -> tuple[list[int], list[int]]:
        """The prompt's token ids (exactly `encode_prompt`'s) and a 0/1 mask that is 1 on every token
        overlapping one of `phrases`, found in order in the prompt text (e.g. the history's titles).

        Token boundaries need not match the phrase's: a token such as `)",` that ends a title and
        starts the punctuation after it is marked. Raises ValueError naming a phrase that is missing.
        """
        if not self.tokenizer.is_fast:
            raise UsageError(
                "marking titles in the prompt needs a fast tokenizer (character offsets); "
                "this model's tokenizer is a slow one"
            )
        text = self.prompt_text(instruction, input_text, system)
        # Search from where the input starts, so a title that also occurs in the instruction is found
        # in the history (chat templates may trim the input, so fall back to the start of the text).
        start = max(text.find(input_text.strip()), 0) if input_text.strip() else 0
        spans = []
        for phrase in phrases:
            at = text.find(phrase, start)
            if at < 0:
                raise ValueError(
                    f"{phrase!r} does not occur in the prompt (after position {start})"
                )
            spans.append((at, at + len(phrase)))
            start = at + len(phrase)
        encoded = self.tokenizer(
            text, add_special_tokens=self.resolved_format == "plain", return_offsets_mapping=True
        )
        mask = [0] * len(encoded["input_ids"])
        i = 0
        for k, (lo, hi) in enumerate(encoded["offset_mapping"]):
            while i < len(spans) and spans[i][1] <= lo:
                i += 1
            if i < len(spans) and lo < spans[i][1] and hi > spans[i][0] and hi > lo:
                mask[k] = 1
        return list(encoded["input_ids"]), mask

    def encode_completion(self, output: str) -> list[int]:
        return self.encode_text(self.completion_text(output))

    def encode_text(self, text: str) -> list[int]:
        """A piece of completion text as it is tokenized inside a completion (no special tokens)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    @property
    def stop_token_ids(self) -> list[int]:
        """Token ids that end a completion: EOS, and the end-of-turn token when it is a single token."""
        ids = [self.tokenizer.eos_token_id]
        end_ids = self.tokenizer(self._end_text, add_special_tokens=False)["input_ids"]
        if len(end_ids) == 1 and end_ids[0] not in ids:
            ids.append(end_ids[0])
        return ids

    def decode_completion(self, token_ids: list[int]) -> str:
        """Generated ids -> text, cut at the first stop token, without special tokens."""
        stops = set(self.stop_token_ids)
        kept: list[int] = []
        for t in token_ids:
            if t in stops:
                break
            kept.append(t)
        # One sequence of ids decodes to one string (transformers types it `str | list[str]`).
        text = cast(str, self.tokenizer.decode(kept, skip_special_tokens=True))
        return text.strip()
