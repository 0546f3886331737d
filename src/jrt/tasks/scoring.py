"""The paper's `contains` metric (the paper, docs/DESIGN.md)."""
from __future__ import annotations

import math
import re
from collections.abc import Iterable

__all__ = ["contains_score", "cut_generation", "wilson_interval"]


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


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a proportion ``successes / n``; (nan, nan) if n == 0."""
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
