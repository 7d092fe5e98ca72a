"""Prompt templates and the title trie, with the real SmolLM2 tokenizer."""

from __future__ import annotations

import pytest
import torch
from llmrec_train.constrained import TitleTrie, TrieLogitsProcessor
from llmrec_train.models import load_tokenizer
from llmrec_train.templates import PromptBuilder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tokenizer(model_path):
    return load_tokenizer(model_path)


def test_chat_and_plain_prompts(tokenizer):
    chat = PromptBuilder(tokenizer, "basic", "auto")
    assert chat.resolved_format == "chat"
    prompt = chat.prompt_text("Recommend a movie.", 'Watched: "Heat (1995)"')
    assert prompt.endswith("<|im_start|>assistant\n") and 'Watched: "Heat (1995)"' in prompt
    assert chat.completion_text('"Fargo (1996)"') == '"Fargo (1996)"<|im_end|>'
    assert chat.stop_token_ids == [tokenizer.convert_tokens_to_ids("<|im_end|>")]

    plain = PromptBuilder(tokenizer, "basic", "plain")
    text = plain.prompt_text("Recommend a movie.", "Watched: A")
    assert (
        "### Instruction:\nRecommend a movie.\n\n### Input:\nWatched: A\n\n### Response:\n" in text
    )
    assert plain.completion_text('"X"') == '"X"' + tokenizer.eos_token

    enhanced = PromptBuilder(tokenizer, "enhanced", "plain").prompt_text(
        "Recommend a movie.", "Watched: A"
    )
    assert "Only output the name of the recommended thing." in enhanced
    assert '"<name of the recommended thing>"' in PromptBuilder(
        tokenizer, "enhanced", "chat"
    ).prompt_text("R", "W")


def test_bad_template_names(tokenizer):
    with pytest.raises(ValueError, match="unknown template"):
        PromptBuilder(tokenizer, "fancy", "auto")
    with pytest.raises(ValueError, match="unknown prompt format"):
        PromptBuilder(tokenizer, "basic", "markdown")


def test_trie_masks_everything_but_title_continuations(tokenizer):
    builder = PromptBuilder(tokenizer, "basic", "auto")
    titles = ["Heat (1995)", "Heat (1995)", "Heathers (1989)", "Casino (1995)"]
    trie = TitleTrie.from_titles(titles, builder)
    assert trie.n_sequences == 3  # duplicate titles share one path
    end = builder.stop_token_ids
    proc = TrieLogitsProcessor(trie, prompt_length=2, end_token_ids=[*end, tokenizer.pad_token_id])
    heat = builder.encode_completion('"Heat (1995)"')
    vocab = len(tokenizer)
    prompt = [5, 6]
    for seq, expect in (
        (prompt + heat[:-1], {heat[-1]}),
        (prompt + heat, set(end) | {tokenizer.pad_token_id}),
        (prompt + [heat[0], 12345], set(end) | {tokenizer.pad_token_id}),
    ):
        scores = proc(torch.tensor([seq]), torch.zeros((1, vocab)))
        allowed = {int(i) for i in torch.nonzero(torch.isfinite(scores[0])).flatten()}
        assert allowed == expect
    # After the first token every title continuation is allowed, and nothing else.
    scores = proc(torch.tensor([prompt + heat[:1]]), torch.zeros((1, vocab)))
    allowed = {int(i) for i in torch.nonzero(torch.isfinite(scores[0])).flatten()}
    seconds = {
        builder.encode_completion(f'"{t}"')[1]
        for t in titles
        if builder.encode_completion(f'"{t}"')[0] == heat[0]
    }
    assert allowed == seconds and heat[1] in allowed
