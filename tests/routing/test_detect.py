"""routing.detect: the prompt-to-task heuristic and the task types' requirements. No database."""

from __future__ import annotations


import pytest

from routing.config import STRENGTH_NAMES
from routing.detect import (
    HEAD,
    TAIL,
    TASK_TYPE_REQUIREMENTS,
    TASK_TYPES,
    detect_task_type,
    task_scores,
)

TRACEBACK = """Traceback (most recent call last):
  File "app.py", line 12, in <module>
    main()
KeyError: 'user_id'"""

ARTICLE = "The council met on Tuesday to discuss the new bus routes. " * 40

PROMPTS = [
    # code
    ("How do I reverse a list in Python?", "code"),
    (f"Why does this fail?\n{TRACEBACK}", "code"),
    ("My React app throws TypeError: cannot read properties of undefined", "code"),
    ("Write a function that checks whether a string is a palindrome", "code"),
    ("```js\nconst x = [1, 2, 3].map(n => n * 2)\n```\nwhat does this print?", "code"),
    ("Can you refactor this class to use dependency injection?", "code"),
    ("Write a SQL query that returns the ten newest orders per customer", "code"),
    ("why does my code crash when the list is empty", "code"),  # tie 2:2 with reasoning
    ("Translate this Python function to Rust", "code"),  # the languages are programming ones
    ("Write a Python script that parses a JSON file", "code"),
    ("Segfault in my C++ program when I call free() twice", "code"),
    # math
    ("What is 17 * 23?", "math"),
    ("Solve for x: 3x + 5 = 20", "math"),
    ("A train leaves at 3pm going 60 mph. How many miles has it covered by 5:30pm?", "math"),
    ("What is the derivative of sin(x) * x^2?", "math"),
    ("Calculate the probability of rolling two sixes", "math"),
    # extraction
    ("Extract the name, email and phone number from this signature as JSON", "extraction"),
    ("Return the invoice fields as a JSON object with keys total and due_date", "extraction"),
    ("Pull the dates out of this text into a table", "extraction"),
    (f"{ARTICLE}\nSummarize this article and extract the key dates as JSON.", "extraction"),
    # translation
    ("Translate 'good morning, how are you?' into French", "translation"),
    ("How do you say 'thank you very much' in Japanese?", "translation"),
    ("Please translate the following paragraph to German: Der Hund schläft.", "translation"),
    ("TRANSLATE THIS INTO SPANISH: where is the station", "translation"),
    # summarization
    (f"Summarize this article:\n{ARTICLE}", "summarization"),
    (f"{ARTICLE}\nTL;DR?", "summarization"),  # the instruction at the end of a long prompt
    ("Give me the key points of the meeting notes below in three bullet points", "summarization"),
    ("Summarize this short story in two sentences", "summarization"),  # summarize 3 > story 2
    ("sUmMaRiZe ThE fOlLoWiNg EmAiL", "summarization"),
    # creative
    ("Write a poem about autumn leaves", "creative"),
    ("Write a haiku about a cat who hates Mondays", "creative"),
    ("Tell me a story about a dragon who is afraid of heights", "creative"),
    ("Brainstorm a slogan for a bakery that only sells croissants", "creative"),
    ("Write a short story about a robot, then summarize it", "creative"),  # 4 > 3
    ("Write a poem in French about the sea", "creative"),  # write a poem 4 > in French 2
    # analysis
    ("Compare PostgreSQL and MongoDB for an analytics workload", "analysis"),
    ("Analyze the pros and cons of remote work for small teams", "analysis"),
    ("Evaluate this business plan and critique its assumptions", "analysis"),
    # reasoning
    ("Why is the sky blue?", "reasoning"),
    ("If all bloops are razzies and all razzies are lazzies, then are all bloops lazzies?",
     "reasoning"),
    ("Think through this riddle step by step: what has keys but can't open locks?", "reasoning"),
    ("Explain why interest rates affect house prices", "reasoning"),
    # chat
    ("Hi! How are you today?", "chat"),
    ("thanks, that was helpful", "chat"),
    ("What's your favourite colour?", "chat"),
    ("", "chat"),
    ("   \n\t  ", "chat"),
    ("😀🎉", "chat"),
    ("Bonjour, ça va ?", "chat"),
    ("The meeting is on 2024-05-01 at 10:30.", "chat"),  # a date is not arithmetic
]


@pytest.mark.parametrize(("prompt", "expected"), PROMPTS, ids=[p[:40] for p, _ in PROMPTS])
def test_it_detects_the_task_type(prompt, expected):
    assert detect_task_type(prompt) == expected


@pytest.mark.parametrize(
    ("prompt", "tied", "winner"),
    [
        ("why does my code crash when the list is empty", {"code", "reasoning"}, "code"),
        ("Review this function", {"code", "analysis"}, "code"),
        ("Summarize this and return a JSON list", {"extraction", "summarization"}, "extraction"),
        ("Why are fairy tales so dark?", {"creative", "reasoning"}, "creative"),
    ],
)
def test_a_tie_goes_to_the_type_listed_first(prompt, tied, winner):
    scores = task_scores(prompt)
    assert set(scores) == tied and len(set(scores.values())) == 1
    assert detect_task_type(prompt) == winner == min(tied, key=TASK_TYPES.index)


def test_the_table_is_large_and_covers_every_type():
    assert len(PROMPTS) >= 36
    assert {expected for _, expected in PROMPTS} == set(TASK_TYPES)


def test_every_type_has_requirements_and_only_those():
    assert set(TASK_TYPE_REQUIREMENTS) == set(TASK_TYPES)
    assert TASK_TYPE_REQUIREMENTS["chat"] == {}


@pytest.mark.parametrize("task", TASK_TYPES)
def test_requirement_strengths_are_valid(task):
    for name, strength in TASK_TYPE_REQUIREMENTS[task].items():
        assert isinstance(name, str) and name
        assert type(strength) is int and 0 <= strength < len(STRENGTH_NAMES)


def test_requirements_name_capabilities_of_the_demo():
    demo = {"inexpensive", "efficient", "premium", "code", "reasoning", "creative",
            "structured_output", "long_context", "translation", "science", "finance", "legal"}
    used = {name for needs in TASK_TYPE_REQUIREMENTS.values() for name in needs}
    assert used <= demo


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        " ",
        "\x00\x01\x02",
        "日本語に翻訳してください",
        "🤖" * 1000,
        "a" * 100_000,
        "why " * 25_000,
        "(" * 50_000 + ")" * 50_000,
        "if " * 30_000,  # the bounded if ... then pattern must not backtrack badly
        "\u200b\ufeff\u202e",
    ],
    ids=["empty", "space", "control", "cjk", "emoji", "100k-a", "100k-why", "parens", "ifs",
         "bidi"],
)
def test_odd_input_never_raises(prompt):
    assert detect_task_type(prompt) in TASK_TYPES


def test_none_is_refused_clearly():
    with pytest.raises(TypeError, match="prompt must be a string"):
        detect_task_type(None)  # type: ignore[arg-type]


def test_the_middle_of_a_long_prompt_is_not_read():
    filler = "lorem ipsum dolor sit amet " * ((HEAD + TAIL) // 10)
    assert detect_task_type(filler[:HEAD] + " translate into French " + filler) == "chat"
    assert detect_task_type("Translate into French: " + filler) == "translation"
    assert detect_task_type(filler + " Translate the above into French.") == "translation"


def test_it_is_case_insensitive():
    prompt = "Summarize this article in one sentence"
    assert detect_task_type(prompt.upper()) == detect_task_type(prompt.lower()) == "summarization"


@pytest.mark.parametrize(
    "prompt",
    ["Decode this base64 string", "I encoded my feelings in a letter", "The unrelated outcome"],
)
def test_words_inside_other_words_do_not_fire(prompt):
    # "code" in decode/encoded, "relate"/"translat" and "tale" inside longer words
    assert detect_task_type(prompt) == "chat"
