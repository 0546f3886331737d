"""The paper's `contains` metric (PAPER.md 1.2)."""
from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["contains_score", "cut_generation"]


def cut_generation(prediction: str, stop: str = "\n") -> str:
    """The continuation up to the first stop sequence (generation is `until ["\\n"]`)."""
    index = prediction.find(stop)
    return prediction if index < 0 else prediction[:index]


def contains_score(prediction: str, answers: str | Iterable[str], cut_at_newline: bool = True) -> int:
    """1 if any gold answer occurs in ``prediction`` (case-insensitive substring, regex characters
    taken literally), else 0.

    ``contains_score(pred, labels) = max_l 1[re.search(re.escape(l), pred, IGNORECASE)]``; the
    prediction is first cut at the first "\\n" (what `until: ["\\n"]` leaves of a generation).
    """
    if isinstance(answers, str):
        answers = [answers]
    answers = [a for a in answers if a is not None]
    if not answers:
        raise ValueError("contains_score needs at least one gold answer, got none")
    if prediction is None:
        prediction = ""
    if cut_at_newline:
        prediction = cut_generation(prediction)
    return max(
        int(re.search(re.escape(answer), prediction, re.IGNORECASE) is not None) for answer in answers
    )
