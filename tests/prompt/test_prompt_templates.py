"""JRT-Prompt templates: character for character equal to the paper's lm-eval tasks (their task files)."""
import pytest

from jrt.prompt import capitalize_key, clean_context, jrt_prompt, kv_prompt, qa_cue, qa_prompt


# -- transcriptions of the paper's doc_to_text (lm-eval-harness/lm_eval/tasks/based_swde/task.py) --
def paper_swde_default(text: str, key: str) -> str:
    question = key + ":"
    while text.lower().endswith(question.lower()):
        text = text[: -len(question)]
    question = key[0].upper() + key[1:] + ":"
    out = text.strip("\n").strip().strip("\n").strip().strip(".") + "."
    return out + " " + question


def paper_swde_twice(text: str, key: str) -> str:
    question = key + ":"
    while text.lower().endswith(question.lower()):
        text = text[: -len(question)]
    upper_key = key[0].upper() + key[1:]
    question = upper_key + ":"
    out = text.strip("\n").strip(".").strip().strip("\n").strip()
    if not out.endswith("."):
        out += "."
    intro_q = question.strip(":")
    return f"Information about {intro_q}. " + out + "\n" + out + " " + question


KV_CASES = [
    ("Title: The Hobbit\nAuthor: J. R. R. Tolkien\nPublisher: Allen & Unwin\n", "author"),
    ("510(k) Number:\nK050002\nB. Purpose for Submission:\nnew software.", "510(k) number"),
    ("Some page text.\n\npublisher:publisher:", "publisher"),
    ("  \nISBN 13: 9780316125581.\n", "isbn 13"),
    ("Date June 2010\nPUBLICATION DATE:", "publication date"),
]


@pytest.mark.parametrize("text,key", KV_CASES)
def test_kv_prompts_match_paper_code(text, key):
    assert kv_prompt(text, key, passes=1) == paper_swde_default(text, key)
    assert kv_prompt(text, key, passes=2) == paper_swde_twice(text, key)


def test_kv_prompts_fixed_strings():
    doc = "Title: The Hobbit\nAuthor: J. R. R. Tolkien\n"
    assert kv_prompt(doc, "author") == "Title: The Hobbit\nAuthor: J. R. R. Tolkien. Author:"
    assert kv_prompt(doc, "author", passes=2) == (
        "Information about Author. Title: The Hobbit\nAuthor: J. R. R. Tolkien.\n"
        "Title: The Hobbit\nAuthor: J. R. R. Tolkien. Author:"
    )
    # "{doc}. {Key}:" and "Information about {Key}. {doc}.\n{doc}. {Key}:"
    assert kv_prompt("D", "isbn 13") == "D. Isbn 13:"
    assert kv_prompt("D", "isbn 13", passes=2) == "Information about Isbn 13. D.\nD. Isbn 13:"
    assert kv_prompt("D", "k", passes=3) == "Information about K. D.\nD.\nD. K:"


def test_qa_prompts_fixed_strings():
    ctx = "The 1973 oil crisis began in October 1973.\n"
    q = "When did the 1973 oil crisis begin?"
    cue = qa_cue(q)
    assert cue == "Question: When did the 1973 oil crisis begin?\nAnswer:"
    assert qa_prompt(ctx, cue) == (
        "The 1973 oil crisis began in October 1973. Question: When did the 1973 oil crisis begin?\nAnswer:"
    )
    # "{question} {ctx}.\n{ctx}. {cue}"
    assert qa_prompt(ctx, cue, question=q, passes=2) == (
        "When did the 1973 oil crisis begin? The 1973 oil crisis began in October 1973.\n"
        "The 1973 oil crisis began in October 1973. Question: When did the 1973 oil crisis begin?\nAnswer:"
    )
    assert qa_prompt("C", "Q:", question="q?", passes=1) == "C. Q:"  # the question only in JRT prompts
    assert qa_prompt("C", "Q:", question="q?", passes=3) == "q? C.\nC.\nC. Q:"


def test_jrt_prompt_formula():
    assert jrt_prompt("ctx.", "Key:", passes=1) == "ctx. Key:"
    assert jrt_prompt("ctx.", "Key:") == "ctx.\nctx. Key:"
    assert jrt_prompt("ctx.", "Key:", question="Q?") == "Q? ctx.\nctx. Key:"
    assert jrt_prompt("a", "b", question="q", passes=4) == "q a\na\na\na b"
    for context, cue, question, passes in [("x y", "z:", None, 2), ("x", "c", "q", 5), ("", "c", "", 1)]:
        expected = (question + " " if question else "") + "\n".join([context] * passes) + " " + cue
        assert jrt_prompt(context, cue, question=question, passes=passes) == expected


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_jrt_prompt_rejects_bad_passes(bad):
    with pytest.raises(ValueError, match="passes"):
        jrt_prompt("c", "q", passes=bad)


def test_clean_context():
    assert clean_context("text") == "text."
    assert clean_context("text...\n\n") == "text."
    assert clean_context("\n text. \n") == "text."
    # copies of the cue are stripped first (repeatedly, any case), then whitespace and dots
    assert clean_context("page. Author: AUTHOR:author:", ["author:"]) == "page. Author:."
    assert clean_context("page\nAuthor:author:", ["author:"]) == "page."
    assert clean_context("page\nauthor: ", ["author:"]) == "page\nauthor:."
    # one normalisation for both variants (the paper's two orders differ only on "x . ")
    assert clean_context("x . ") == "x."


def test_degenerate_context_same_in_both_variants():
    text = "  \nISBN 13: 9780316125581 . "
    default, twice = kv_prompt(text, "isbn 13"), kv_prompt(text, "isbn 13", passes=2)
    ctx = "ISBN 13: 9780316125581."
    assert default == ctx + " Isbn 13:"
    assert twice == "Information about Isbn 13. " + ctx + "\n" + ctx + " Isbn 13:"
    assert capitalize_key("isbn 13") == "Isbn 13"
    assert capitalize_key("510(k) number") == "510(k) number"
