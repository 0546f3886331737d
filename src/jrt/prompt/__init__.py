"""JRT-Prompt: show a causal LM its context more than once before the question.

Pure string functions, no model and no tokenizer (JRT-Prompt works for any causal LM).

    jrt_prompt(context, cue, question=None, passes=2)
      == (question + " " if question else "") + "\\n".join([context] * passes) + " " + cue

The per-task builders reproduce the prompts of the paper's lm-eval fork (its task files)
character for character:

    SWDE/FDA  default  "{doc}. {Key}:"
              twice    "Information about {Key}. {doc}.\\n{doc}. {Key}:"
    QA        default  "{ctx}. {cue}"
              twice    "{question} {ctx}.\\n{ctx}. {cue}"

where ``{doc}.`` / ``{ctx}.`` is the context after :func:`clean_context` (which ends it with
exactly one ".").
"""
from __future__ import annotations

__all__ = [
    "jrt_prompt",
    "clean_context",
    "capitalize_key",
    "kv_prompt",
    "qa_prompt",
    "qa_cue",
]


def jrt_prompt(context: str, cue: str, question: str | None = None, passes: int = 2) -> str:
    """The JRT prompt: optional question, then ``passes`` copies of ``context`` joined by "\\n",
    a space, then the cue.

    ``passes=1`` with no question is the default (read-once) prompt ``"{context} {cue}"``.
    """
    if not isinstance(passes, int) or isinstance(passes, bool) or passes < 1:
        raise ValueError(f"passes must be an integer >= 1, got {passes!r}")
    if not isinstance(context, str) or not isinstance(cue, str):
        raise ValueError(
            f"context and cue must be str, got {type(context).__name__} and {type(cue).__name__}"
        )
    head = question + " " if question else ""
    return head + "\n".join([context] * passes) + " " + cue


def _strip_trailing(text: str, suffix: str) -> str:
    """Remove every trailing copy of ``suffix`` (case-insensitive), as the paper's tasks do."""
    if not suffix:
        return text
    low_suffix = suffix.lower()
    while text.lower().endswith(low_suffix):
        text = text[: -len(suffix)]
    return text


def clean_context(context: str, strip_suffixes: tuple[str, ...] | list[str] | str = ()) -> str:
    r"""Normalise a context as the paper's task files do: first strip every trailing copy of the question/cue
    (case-insensitive, repeatedly, as the paper's ``while text.lower().endswith(q.lower())``), then
    strip whitespace/newlines and "." at both ends, then end with exactly one ".".

    (The paper's default and twice tasks strip in slightly different orders, which disagree only
    on contexts ending in interleaved spaces and dots such as "x . "; here both variants use
    the one normalisation above so they hold the identical context.)

    >>> clean_context("Some page.\nauthor: ", ["author:"])
    'Some page.\nauthor:.'
    >>> clean_context("Some page.\nauthor:", ["author:"])
    'Some page.'
    """
    if isinstance(strip_suffixes, str):
        strip_suffixes = (strip_suffixes,)
    text = context
    for suffix in strip_suffixes:
        text = _strip_trailing(text, suffix)
    while True:
        stripped = text.strip().strip(".")
        if stripped == text:
            break
        text = stripped
    return text + "."


def capitalize_key(key: str) -> str:
    """The paper's ``{Key}``: the attribute name with its first letter capitalised (rest kept)."""
    return key[:1].upper() + key[1:]


def kv_prompt(doc: str, key: str, passes: int = 1, clean: bool = True) -> str:
    """SWDE/FDA prompt for attribute ``key`` of document ``doc``.

    passes=1: ``"{doc}. {Key}:"``; passes=2: ``"Information about {Key}. {doc}.\\n{doc}. {Key}:"``;
    more passes repeat the document further. ``clean=False`` takes ``doc`` as already cleaned.
    """
    upper = capitalize_key(key)
    context = clean_context(doc, [key + ":"]) if clean else doc
    question = f"Information about {upper}." if passes > 1 else None
    return jrt_prompt(context, upper + ":", question=question, passes=passes)


def qa_cue(question: str) -> str:
    """The cue of this project's QA tasks (the paper used LLM-rewritten cloze statements instead)."""
    return f"Question: {question.strip()}\nAnswer:"


def qa_prompt(ctx: str, cue: str, question: str | None = None, passes: int = 1,
              clean: bool = True) -> str:
    """QA prompt: passes=1 ``"{ctx}. {cue}"``; passes>=2 ``"{question} {ctx}.\\n{ctx}. {cue}"``.

    ``question`` (the natural-language question) is only used when passes > 1, as in the paper.
    """
    context = clean_context(ctx, [cue]) if clean else ctx
    return jrt_prompt(context, cue, question=question if passes > 1 else None, passes=passes)
