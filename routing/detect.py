"""Guess a prompt's task type, and the capabilities that type needs (source document 002:
`detect_task_type_from_prompt`, `TASK_CAPABILITY_REQUIREMENTS`). Pure: stdlib only.

The rule. Each task type has a few weighted, case-insensitive regex patterns; a pattern adds
its weight once if it occurs anywhere in the prompt (how often it occurs does not matter, so
a long pasted document cannot outvote the instruction). The type with the highest total wins;
a tie goes to the type listed first in `TASK_TYPES` (the more specific capability first); no
match at all, or an empty prompt, gives "chat". Instructions ("summarize", "translate into
French", "write a poem") weigh more than topic words ("story", "JSON"), so "summarize this
story" is summarization and "write a story" is creative. Only the first `HEAD` and the last
`TAIL` characters are scanned: the instruction sits before or after a pasted text.
"""

from __future__ import annotations

import re

CHAT = "chat"
# Tie order: the more specific need first, the generic reasoning types last, chat the fallback.
TASK_TYPES = (
    "code", "math", "extraction", "translation", "summarization",
    "creative", "analysis", "reasoning", CHAT,
)  # fmt: skip

# Minimum strengths (0 none .. 4 exceptional) over the capabilities of personas/demo.yaml.
TASK_TYPE_REQUIREMENTS: dict[str, dict[str, int]] = {
    "code": {"code": 3},
    "math": {"reasoning": 3, "science": 2},
    "extraction": {"structured_output": 3},
    "translation": {"translation": 3},
    "summarization": {"long_context": 2},
    "creative": {"creative": 3},
    "analysis": {"reasoning": 2},
    "reasoning": {"reasoning": 3},
    CHAT: {},
}

HEAD, TAIL = 4000, 1000  # characters scanned at the start and at the end of a long prompt

LANGUAGES = (
    r"english|french|spanish|german|italian|portuguese|dutch|russian|chinese|mandarin"
    r"|japanese|korean|arabic|hindi|turkish|polish|swedish|greek|hebrew|ukrainian|latin"
)

PATTERNS: dict[str, list[tuple[str, int]]] = {
    "code": [
        (r"```|traceback \(most recent call last\)|\bstack ?trace\b|\bsegfault\b", 4),
        (r"(?-i:\b[A-Z]\w*(?:Error|Exception)\b)", 3),  # TypeError, NullPointerException
        (r"\b(?:debug\w*|refactor\w*|compiler?|compiles?|regex|unit tests?|pull request)\b", 3),
        (r"\b(?:python|javascript|typescript|java|rust|golang|kotlin|php|sql|bash|html|css)\b"
         r"|\bc\+\+|\bc#", 2),
        (r"\b(?:code|coding|function|method|variable|bug|crash\w*|script|api|endpoint|git)\b", 2),
        (r"\b\w+\(\)|\b(?:def|fn|func)\s+\w+\s*\(", 2),  # foo(), def foo(
    ],
    "math": [
        (r"\b(?:solve|calculate|integral|derivative|equation|probability|theorem)\b", 3),
        (r"\d\s*[+*/^×÷=]\s*\d|\d\s+-\s+\d", 2),  # 12 * 7, 3 - 1 (not 2024-05-01)
        (r"\b(?:how many|percent(?:age)?|average|square root|fraction|algebra"
         r"|geometry|matrix|factorial|prime numbers?)\b", 2),
    ],
    "extraction": [
        (r"\bextract\w*\b", 3),
        (r"\b(?:json|yaml|csv|xml)\b", 3),
        (r"\b(?:structured|schema|key-value|fields?)\b|\b(?:as|into) a table\b", 2),
    ],
    "translation": [
        (r"\btranslat\w*\b|\bhow (?:do|would) (?:you|i) say\b", 2),
        (rf"\b(?:in|into|to) (?:{LANGUAGES})\b", 2),
    ],
    "summarization": [
        (r"\bsummar\w*\b|\btl;?dr\b", 3),
        (r"\b(?:condense|recap|key points|main points|gist|in a nutshell|shorten)\b", 2),
        (r"\bin (?:one|two|three|\d+) (?:sentences?|bullet points|words|paragraphs?)\b", 2),
    ],
    "creative": [
        (r"\b(?:write|compose|create|tell|make up)\b.{0,40}?\b(?:poem|story|stories|haiku"
         r"|limerick|sonnet|song|lyrics|tale|fiction|joke)\b", 2),
        (r"\b(?:poems?|poetry|stor(?:y|ies)|haikus?|limericks?|sonnets?|lyrics|tales?|fiction"
         r"|novels?|screenplays?)\b", 2),
        (r"\b(?:jokes?|imagine|brainstorm|slogan|tagline|jingle|rhym\w*|plot twist)\b", 2),
    ],
    "analysis": [
        (r"\b(?:analy[sz]\w*|compare|comparison|contrast|pros and cons)\b", 3),
        (r"\b(?:evaluate|assess\w*|critique|review|implications|trade-?offs?|swot)\b", 2),
    ],
    "reasoning": [
        (r"\b(?:step by step|logic puzzle|riddle|deduce|infer|prove|think through)\b", 3),
        (r"\bwhy\b|\bexplain\b|\bif\b.{0,200}?\bthen\b", 2),
    ],
}

COMPILED = {
    task: [(re.compile(pattern, re.IGNORECASE | re.DOTALL), weight) for pattern, weight in rules]
    for task, rules in PATTERNS.items()
}


def scanned(prompt: str) -> str:
    """The part of the prompt read: all of it, or its head and tail when it is long."""
    if len(prompt) <= HEAD + TAIL:
        return prompt
    return f"{prompt[:HEAD]}\n{prompt[-TAIL:]}"


def task_scores(prompt: str) -> dict[str, int]:
    """Each type's total weight for `prompt` (types that score nothing are left out)."""
    text = scanned(prompt)
    scores = {
        task: sum(weight for regex, weight in rules if regex.search(text))
        for task, rules in COMPILED.items()
    }
    return {task: score for task, score in scores.items() if score}


def detect_task_type(prompt: str) -> str:
    """The task type of `prompt`, one of `TASK_TYPES` (module docstring: the rule)."""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, not {type(prompt).__name__}")
    scores = task_scores(prompt)
    if not scores:
        return CHAT
    return max(TASK_TYPES, key=lambda task: (scores.get(task, 0), -TASK_TYPES.index(task)))
