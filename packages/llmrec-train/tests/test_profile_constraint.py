"""Constrained interest profiles, with the real SmolLM2 tokenizer (and the real model for generation).

Whatever the scores, a constrained output is the three-line format of docs/contracts.md, names only
the example's labels, each at most once, and its direction names only listed interests. The format is
checked here by a reader written from the contract (this package does not import llmrec-eval; the
root tests check the same outputs with llmrec-eval's parser).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import torch
from llmrec_train.data import ContractError, read_examples
from llmrec_train.models import load_tokenizer
from llmrec_train.profile_constraint import ProfileGrammar, ProfileLogitsProcessor, writable_labels
from llmrec_train.templates import PromptBuilder

# Real YouTube-8M label names, chosen for what can go wrong: periods ("Super Smash Bros. Melee",
# "G.I. Joe"), a comma inside parentheses, a label that is a prefix of another ("Tom" / "Tom and
# Jerry", "Car" / "Cartoon"), digits, and a duplicate in another case.
LABEL_SETS = [
    ["Vehicle", "Car", "Renault", "Ford Focus", "Cartoon", "Inuyasha", "Fishing"],
    [
        "Game",
        "Super Smash Bros. Melee",
        "Super Smash Bros.",
        "G.I. Joe",
        "Nintendo 64",
        "Super Smash Bros",
    ],
    ["Tom", "Tom and Jerry", "Space Marines (Warhammer 40,000)", "Warhammer 40,000", "tom"],
    ["Skincare"],
    ["Basketball", "NBA", "Golden State Warriors", "Concert", "Drum", "Drummer", "Cooking"],
]
PREFIXES = ("Primary interests: ", "Secondary interests: ", "Recommendation direction: ")


@pytest.fixture(scope="module")
def builder(model_path):
    return PromptBuilder(load_tokenizer(model_path), "basic", "chat")


def read_profile(text: str, labels: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Primary, secondary and direction names of a profile; fails unless it is the contract format.

    Names are matched against `labels` (longest first), so labels with periods or commas read right.
    """
    lines = text.split("\n")
    assert len(lines) == 3, text
    for line, prefix in zip(lines, PREFIXES, strict=True):
        assert line.startswith(prefix) and line.endswith("."), text
    names = sorted(labels, key=len, reverse=True)
    pattern = "|".join(re.escape(n) for n in names)

    def items(content: str) -> list[str]:
        found = re.fullmatch(rf"((?:{pattern})(?:, (?:{pattern}))*)", content)
        assert found, f"not a list of input labels: {content!r}"
        return re.findall(rf"(?:^|(?<=, ))({pattern})(?=, |$)", content)

    primary = items(lines[0][len(PREFIXES[0]) : -1])
    secondary_text = lines[1][len(PREFIXES[1]) : -1]
    secondary = [] if secondary_text == "none" else items(secondary_text)
    direction = lines[2][len(PREFIXES[2]) : -1]
    listed = "|".join(re.escape(n) for n in sorted(primary + secondary, key=len, reverse=True))
    form = rf"more videos about ({listed})(?: and ({listed}))?(?:; occasional videos about ({listed})(?: and ({listed}))?)?"
    match = re.fullmatch(form, direction)
    assert match, f"direction does not name listed interests only: {direction!r}"
    return primary, secondary, [g for g in match.groups() if g]


def walk(grammar: ProfileGrammar, builder: PromptBuilder, rng: torch.Generator) -> list[int]:
    """Decode greedily from random scores through the processor, as generate() does."""
    stops = builder.stop_token_ids
    pad = builder.tokenizer.pad_token_id
    processor = ProfileLogitsProcessor([grammar], 2, stops, [*stops, pad])
    ids = [1, 2]  # a stand-in prompt: only the generated part is read
    vocab = len(builder.tokenizer)
    for _ in range(grammar.max_tokens()):
        scores = torch.randn(1, vocab, generator=rng)
        token = int(processor(torch.tensor([ids]), scores).argmax())
        ids.append(token)
        if token in stops:
            return ids[2:]
    raise AssertionError("the profile did not finish within max_tokens()")


@pytest.mark.parametrize("labels", LABEL_SETS)
@pytest.mark.slow
def test_any_scores_give_a_compliant_faithful_profile(labels, builder):
    grammar = ProfileGrammar(labels, builder.encode_text)
    rng = torch.Generator().manual_seed(0)
    writable = writable_labels(labels)
    for _ in range(40):
        tokens = walk(grammar, builder, rng)
        text = builder.decode_completion(tokens)
        primary, secondary, direction = read_profile(text, writable)
        named = primary + secondary
        assert 1 <= len(primary) <= 3 and len(secondary) <= 3
        assert len({n.removesuffix(".").casefold() for n in named}) == len(named), text
        assert set(named) <= set(labels)
        assert set(direction[:1]) <= set(primary) and set(direction) <= set(named)
        # The units' tokens are the tokenizer's own tokens of the whole profile (what training saw).
        assert tokens[:-1] == builder.encode_text(text), text


@pytest.mark.slow
def test_units_tokenize_like_whole_profiles(builder):
    """A hand-written target profile (the contract's example) is a path of the grammar."""
    labels = LABEL_SETS[0]
    grammar = ProfileGrammar(labels, builder.encode_text)
    text = (
        "Primary interests: Ford Focus, Renault, Car.\n"
        "Secondary interests: Inuyasha, Fishing.\n"
        "Recommendation direction: more videos about Ford Focus and Renault; "
        "occasional videos about Inuyasha and Fishing."
    )
    tokens = tuple(builder.encode_text(text))
    for i in range(1, len(tokens) + 1):
        assert grammar.hypotheses(tokens[:i]), (
            f"left the grammar at {builder.tokenizer.decode(tokens[:i])!r}"
        )
    allowed, done = grammar.allowed(tokens)
    assert done and not allowed
    # A repeated or invented interest is off the grammar.
    for bad in ("Primary interests: Car, Car.", "Primary interests: Honda."):
        ids = tuple(builder.encode_text(bad))
        assert not all(grammar.hypotheses(ids[:i]) for i in range(1, len(ids) + 1)), bad


def test_writable_labels():
    labels = ["Car", " car ", "", "Nike, Inc.", "Warhammer 40,000", "none", "N/A", "Bros.", "bros"]
    assert writable_labels(labels) == ["Car", "Warhammer 40,000", "Bros."]
    with pytest.raises(ValueError, match="no label a profile can name"):
        ProfileGrammar(["Nike, Inc."], lambda text: [0])


def test_examples_without_videos_are_a_clear_error(tmp_path: Path):
    path = tmp_path / "test.jsonl"
    rows = [
        {"example_id": "a", "instruction": "i", "input": "x", "videos": [["Car"]]},
        {"example_id": "b", "instruction": "i", "input": "x", "videos": [["Car", 3]]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert len(read_examples(path, require_output=False)) == 2
    with pytest.raises(ContractError, match=r"test.jsonl, line 2, field 'videos': expected a list"):
        read_examples(path, require_output=False, require_videos=True)
    del rows[1]["videos"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ContractError, match=r"test.jsonl, line 2, field 'videos': missing"):
        read_examples(path, require_output=False, require_videos=True)


@pytest.mark.slow
def test_beam_rows_follow_their_own_example(builder):
    """Beam search lays an example's beams side by side: row r belongs to example r // beams."""
    grammars = [
        ProfileGrammar(["Car"], builder.encode_text),
        ProfileGrammar(["Drum"], builder.encode_text),
    ]
    stops = builder.stop_token_ids
    processor = ProfileLogitsProcessor(grammars, 1, stops, stops)
    header = builder.encode_text("Primary interests:")
    ids = torch.tensor([[0, *header]] * 4)
    masked = processor(ids, torch.zeros(4, len(builder.tokenizer)))
    allowed = [set(torch.nonzero(row > float("-inf")).flatten().tolist()) for row in masked]
    car, drum = builder.encode_text(" Car.")[0], builder.encode_text(" Drum.")[0]
    assert allowed[0] == allowed[1] == {car} and allowed[2] == allowed[3] == {drum}


@pytest.mark.slow
def test_random_label_sets(builder):
    """Many random draws of real-looking label lists (words of the fixed sets, shuffled)."""
    rng = random.Random(0)
    pool = sorted({label for labels in LABEL_SETS for label in labels})
    generator = torch.Generator().manual_seed(1)
    for _ in range(30):
        labels = rng.sample(pool, rng.randint(1, 10))
        grammar = ProfileGrammar(labels, builder.encode_text)
        text = builder.decode_completion(walk(grammar, builder, generator))
        primary, secondary, _ = read_profile(text, writable_labels(labels))
        named = primary + secondary
        assert len({n.removesuffix(".").casefold() for n in named}) == len(named), text


@pytest.mark.slow
def test_an_example_system_prompt_replaces_the_template_default(builder, tmp_path: Path):
    """The showcase prompts come with "You are a helpful assistant."; training rows have none."""
    user = "Topics watched:\n1) Skincare\nSummarize the user's interests."
    prompt = builder.prompt_text(user, "", "You are a helpful assistant.")
    assert prompt.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    assert f"<|im_start|>user\n{user}<|im_end|>" in prompt and "SmolLM" not in prompt
    assert "SmolLM" in builder.prompt_text(user, "")
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"example_id": "a", "instruction": "i", "input": "", "system": 3}))
    with pytest.raises(
        ContractError, match=r"x.jsonl, line 1, field 'system': expected a string or null"
    ):
        read_examples(path, require_output=False)
