"""The output parser and the metrics, on hand-written outputs (good and malformed)."""

from __future__ import annotations

import pytest
from llmrec_eval.interests import aggregate, parse_output, score_text

GOOD = (
    "Primary interests: Ford Focus, Renault, Airplane.\n"
    "Secondary interests: Inuyasha, Recreational fishing.\n"
    "Recommendation direction: more videos about Ford Focus and Renault; occasional videos about "
    "Inuyasha and Recreational fishing."
)
LABELS = [
    "Vehicle", "Car", "Renault", "Ford Focus", "Aircraft", "Airplane", "Airline",
    "Cartoon", "Inuyasha", "Fishing", "Recreational fishing",
]  # fmt: skip
TARGET = ["Ford Focus", "Renault", "Airplane"]


def test_good_output_parses_exactly() -> None:
    parsed = parse_output(GOOD + "\n")  # a trailing newline is fine
    assert parsed.compliant and parsed.error is None and not parsed.run_on
    assert parsed.primary == TARGET
    assert parsed.secondary == ["Inuyasha", "Recreational fishing"]
    assert parsed.direction is not None and parsed.direction.startswith("more videos about Ford")


def test_no_secondary_and_labels_with_periods() -> None:
    parsed = parse_output(
        "Primary interests: Super Smash Bros..\nSecondary interests: none.\n"
        "Recommendation direction: more videos about Super Smash Bros.."
    )
    assert parsed.compliant
    assert parsed.primary == ["Super Smash Bros."]
    assert parsed.secondary == []


@pytest.mark.parametrize(
    ("text", "error", "run_on"),
    [
        (GOOD + "\nTo maintain engagement, occasional videos", "text after the third line", True),
        (GOOD[:-1] + ". To maintain engagement, add more.", "more than one sentence", True),
        (GOOD.replace("Airplane.\n", "Airplane\n"), "line 1 should end with a period", False),
        (GOOD.replace("Secondary interests:", "Secondary:"), "line 2 should start", False),
        ("\n".join(GOOD.split("\n")[:2]), "expected 3 lines, got 2", False),
        (GOOD.replace("Renault, Airplane", "Renault, , Airplane"), "an empty item", False),
        (GOOD.replace("Ford Focus, Renault, Airplane", "none"), "no primary interest", False),
        (
            "The user shows interest in vehicles, including cars and aircraft, and fishing.",
            "expected 3 lines, got 1",
            False,
        ),
    ],
)
def test_malformed_outputs(text: str, error: str, run_on: bool) -> None:
    parsed = parse_output(text)
    assert not parsed.compliant
    assert parsed.error is not None and error in parsed.error
    assert parsed.run_on is run_on


def test_a_repeated_interest_complies_but_is_counted_as_a_repeat() -> None:
    text = GOOD.replace("Inuyasha, Recreational", "Inuyasha, renault, Recreational")
    parsed = parse_output(text)
    assert parsed.compliant and parsed.repeats
    assert not parse_output(GOOD).repeats
    score = score_text(text, LABELS, TARGET)
    assert score.repeats and score.compliant


def test_near_miss_is_read_leniently_but_does_not_comply() -> None:
    text = "Sure! Here is the profile:\n\n**Primary interests:** Car, Renault\n- Secondary interests: Inuyasha"
    parsed = parse_output(text)
    assert not parsed.compliant
    assert parsed.primary == ["Car", "Renault"]
    assert parsed.secondary == ["Inuyasha"]
    score = score_text(text, LABELS, TARGET)
    assert score.primary_precision == 0.5  # Renault of {Car, Renault}
    assert score.primary_recall == pytest.approx(1 / 3)


def test_faithfulness_counts_invented_labels() -> None:
    text = GOOD.replace("Inuyasha, Recreational fishing", "Anime, Recreational Fishing")
    score = score_text(text, LABELS, TARGET)
    assert score.named == 5
    assert score.invented == ["Anime"]  # case does not matter: "Recreational Fishing" is faithful
    assert score.primary_f1 == 1.0


def test_a_repeated_name_counts_once_for_faithfulness() -> None:
    text = GOOD.replace("Inuyasha, Recreational fishing", "Goku, Goku, goku")
    score = score_text(text, LABELS, TARGET)
    assert score.repeats
    assert (score.named, score.invented) == (4, ["Goku"])


def test_primary_precision_recall_f1() -> None:
    text = GOOD.replace("Ford Focus, Renault, Airplane", "Car, Renault")
    score = score_text(text, LABELS, TARGET)
    assert (score.primary_precision, score.primary_recall) == (0.5, pytest.approx(1 / 3))
    assert score.primary_f1 == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    free_text = score_text("The user likes cars.", LABELS, TARGET)
    assert (free_text.primary_precision, free_text.primary_recall, free_text.primary_f1) == (
        0,
        0,
        0,
    )


def test_aggregate() -> None:
    scores = [
        score_text(GOOD, LABELS, TARGET),
        score_text(GOOD.replace("Inuyasha", "Anime"), LABELS, TARGET),
        score_text("The user likes cars.", LABELS, TARGET),
        score_text(GOOD + "\nMore text.", LABELS, TARGET),
    ]
    m = aggregate(scores)
    assert m.n == 4
    assert m.format_compliance == 0.5
    assert m.run_on_rate == 0.25
    assert m.named_interests == 15 and m.invented_interests == 1
    assert m.faithfulness == pytest.approx(14 / 15)
    assert m.primary_f1 == pytest.approx(3 / 4)
    assert aggregate([scores[2]]).faithfulness is None  # nothing named
    with pytest.raises(ValueError, match="no outputs"):
        aggregate([])


# Real training targets written by `llmrec-data interests prepare` (seeds 0-2) that the first parser
# judged non-compliant and run-on: a label with ". " on the direction line read as a second sentence.
REAL_TARGETS_WITH_PERIODS = [
    (
        "Primary interests: Super Smash Bros. Melee, Super Smash Bros..\n"
        "Secondary interests: Home improvement, Wall, Paint.\n"
        "Recommendation direction: more videos about Super Smash Bros. Melee and Super Smash Bros.; "
        "occasional videos about Home improvement and Wall.",
        ["Super Smash Bros. Melee", "Super Smash Bros."],
        ["Home improvement", "Wall", "Paint"],
    ),
    (
        "Primary interests: Trailer (promotion), Autobot, Optimus Prime.\n"
        "Secondary interests: Pluto, G.I. Joe, Vampire.\n"
        "Recommendation direction: more videos about Trailer (promotion) and Autobot; "
        "occasional videos about Pluto and G.I. Joe.",
        ["Trailer (promotion)", "Autobot", "Optimus Prime"],
        ["Pluto", "G.I. Joe", "Vampire"],
    ),
    (
        "Primary interests: Super Smash Bros. for Nintendo 3DS and Wii U, Super Smash Bros..\n"
        "Secondary interests: Wii U, Bowser Jr., Toast.\n"
        "Recommendation direction: more videos about Super Smash Bros. for Nintendo 3DS and Wii U "
        "and Super Smash Bros.; occasional videos about Wii U and Bowser Jr..",
        ["Super Smash Bros. for Nintendo 3DS and Wii U", "Super Smash Bros."],
        ["Wii U", "Bowser Jr.", "Toast"],
    ),
    (
        "Primary interests: Sketch (drawing), Drawing, Art.\n"
        "Secondary interests: Marvel vs. Capcom 3: Fate of Two Worlds, Ice, Weather.\n"
        "Recommendation direction: more videos about Sketch (drawing) and Drawing; "
        "occasional videos about Marvel vs. Capcom 3: Fate of Two Worlds and Ice.",
        ["Sketch (drawing)", "Drawing", "Art"],
        ["Marvel vs. Capcom 3: Fate of Two Worlds", "Ice", "Weather"],
    ),
]


@pytest.mark.parametrize(("text", "primary", "secondary"), REAL_TARGETS_WITH_PERIODS)
def test_real_targets_with_periods_in_labels_comply(
    text: str, primary: list[str], secondary: list[str]
) -> None:
    parsed = parse_output(text)
    assert parsed.error is None and parsed.compliant
    assert not parsed.run_on and not parsed.repeats
    assert (parsed.primary, parsed.secondary) == (primary, secondary)
    direction = text.split("\n")[2].removeprefix("Recommendation direction: ")
    assert parsed.direction == direction[:-1]  # only the line's final period is dropped


def test_a_second_sentence_after_a_label_with_periods_still_runs_on() -> None:
    text = REAL_TARGETS_WITH_PERIODS[1][0] + " Also try G.I. Joe. More cartoons."
    parsed = parse_output(text)
    assert not parsed.compliant and parsed.run_on
    assert parsed.error is not None and "more than one sentence" in parsed.error
    # a period-label the lists do not name is read as a sentence end (the documented false positive)
    assert parse_output(GOOD[:-1] + " and G.I. Joe.").run_on


@pytest.mark.parametrize(
    "label",
    [
        "Space Marines (Warhammer 40,000)",  # a comma inside parentheses, between digits
        "Warhammer 40,000: Dawn of War II",  # a comma between digits
        "Hunter \u00d7 Hunter",  # a non-ASCII sign
        'Toys "R" Us',
        "Plants vs. Zombies 2: It's About Time",
        "Drum and bugle corps (modern)",
    ],
)
def test_labels_with_digits_parentheses_and_punctuation_are_read_whole(label: str) -> None:
    text = (
        f"Primary interests: {label}, Car.\nSecondary interests: Paint, {label} 2.\n"
        f"Recommendation direction: more videos about {label} and Car; "
        f"occasional videos about Paint and {label} 2."
    )
    parsed = parse_output(text)
    assert parsed.compliant and not parsed.run_on and not parsed.repeats
    assert (parsed.primary, parsed.secondary) == ([label, "Car"], ["Paint", f"{label} 2"])


def test_commas_still_separate_outside_parentheses_and_numbers() -> None:
    parsed = parse_output("Primary interests: Car,Renault, Tap (valve, 2), Top 10, 20 Questions.")
    assert parsed.primary == ["Car", "Renault", "Tap (valve, 2)", "Top 10", "20 Questions"]
    # an unclosed parenthesis does not swallow the rest of the list
    assert parse_output("Primary interests: Tap (valve, Car.").primary == ["Tap (valve", "Car"]
