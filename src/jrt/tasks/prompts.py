"""Prompts as the paper's lm-eval task files build them, per task and per variant.

The official tasks do not share one cleanup: SWDE strips whitespace and "." in a different order
in its default and twice prompts, FDA strips only "\\n" and "." from the window's edges (edge tabs
and spaces stay), the QA tasks strip whitespace then ".". :func:`build_prompt` follows each task's
own rule, for its default (``passes=1``) and twice (``passes=2``) prompt; more passes repeat the
same cleaned context. Records come from :mod:`jrt.tasks.sources` (``style`` picks the rule).

    swde, fda     default "{doc}. {Key}:"          twice "Information about {Key}. {doc}.\\n{doc}. {Key}:"
    QA (hub)      default "{ctx}. {cloze}"         twice "{orig_question} {ctx}.\\n{ctx}. {cloze}"
    squad (hub)   default "{text}"                 twice "{question} {context before 'Question:'}\\n{text}"
    QA (local)    default "{ctx}. Question: {q}\\nAnswer:"   twice "{q} {ctx}.\\n{ctx}. Question: ..."
"""
from __future__ import annotations

from jrt.prompt import capitalize_key, clean_context, jrt_prompt, qa_cue
from jrt.tasks.sources import SWDE_SUMMARY, clean_triviaqa

__all__ = ["build_prompt", "strip_trailing", "STYLES"]

STYLES = ("swde", "swde_hub", "fda", "qa_local", "squad_hub", "nq_hub", "triviaqa", "drop")


def strip_trailing(text: str, suffix: str) -> str:
    """Remove every trailing copy of ``suffix``, case-insensitively (the official while loop)."""
    if not suffix:
        return text
    while text.lower().endswith(suffix.lower()):
        text = text[: -len(suffix)]
    return text


def _ensure_dot(text: str) -> str:
    return text if text.endswith(".") else text + "."


def _kv(style: str, window: str, key: str, passes: int) -> tuple[str, str]:
    text = window
    if style == "swde_hub":
        while text.find(SWDE_SUMMARY) >= 0:
            text = text.split(SWDE_SUMMARY)[0]
    text = strip_trailing(text, key + ":")
    upper = capitalize_key(key)
    if style == "fda":
        context = _ensure_dot(text.strip("\n").strip("."))
    elif passes == 1:
        context = text.strip("\n").strip().strip("\n").strip().strip(".") + "."
    else:
        context = _ensure_dot(text.strip("\n").strip(".").strip().strip("\n").strip())
    question = f"Information about {upper}." if passes > 1 else None
    return context, jrt_prompt(context, upper + ":", question=question, passes=passes)


def _qa_hub(style: str, window: str, rec: dict, passes: int) -> tuple[str, str]:
    context = window.strip()
    if style == "triviaqa":
        context = clean_triviaqa(context)
    cue = rec["question"].strip()
    if style == "nq_hub" and passes == 1:  # the official NQ default strips one exact copy only
        if context.endswith(cue):
            context = context[: -len(cue)]
    else:
        context = strip_trailing(context, cue)
    if passes == 1:
        cleaned = context.strip().strip(".") + "."
        return cleaned, cleaned + " " + cue
    cleaned = context.strip().strip(".").strip() + "."
    intro = rec.get("orig_question") or ""
    intro = intro if style == "triviaqa" else intro.strip(":")
    return cleaned, jrt_prompt(cleaned, cue, question=intro or None, passes=passes)


def build_prompt(rec: dict, window: str, passes: int) -> tuple[str, str]:
    """``(context, prompt)`` for record ``rec`` whose truncated text is ``window``."""
    style = rec["style"]
    if style in ("swde", "swde_hub", "fda"):
        return _kv(style, window, rec["question"], passes)
    if style == "qa_local":
        cue = qa_cue(rec["question"])
        context = clean_context(window, [cue])
        return context, jrt_prompt(context, cue, question=rec["question"] if passes > 1 else None, passes=passes)
    if style == "squad_hub":
        text = window.strip()
        if passes == 1:
            return text, text
        before = rec["context_full"].split("Question:")[0]
        return text, rec["question"] + " " + "\n".join([before] * (passes - 1) + [text])
    if style in ("nq_hub", "triviaqa", "drop"):
        return _qa_hub(style, window, rec, passes)
    raise ValueError(f"unknown prompt style {style!r} (known: {', '.join(STYLES)})")
