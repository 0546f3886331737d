"""Recall tasks: `contains`, truncation around the answer, held-out documents, prompts."""
import pytest

from jrt.prompt import capitalize_key, jrt_prompt, qa_cue
from jrt.tasks import (
    BASE_TASKS,
    TASK_NAMES,
    as_tokenizer,
    build_task,
    contains_score,
    evaluate,
    find_anchor,
    parse_task_name,
    resolve_data_dir,
    truncate_around_answer,
)


# ------------------------------------------------------------------------------------ contains
def test_contains_case_insensitive():
    assert contains_score(" charlaine HARRIS wrote it", ["Charlaine Harris"]) == 1
    assert contains_score(" Charlaine", ["Charlaine Harris"]) == 0


def test_contains_regex_characters_are_literal():
    assert contains_score(" C++ (2nd ed.) by X", ["C++ (2nd ed.)"]) == 1
    assert contains_score(" C (2nd edX)", ["C++ (2nd ed.)"]) == 0
    assert contains_score(" costs $3.50 now", ["$3.50"]) == 1
    assert contains_score(" costs $3750 now", ["$3.50"]) == 0
    assert contains_score(" a.b", ["a|b"]) == 0
    assert contains_score(" [K050002]", ["[K050002]"]) == 1


def test_contains_several_golds_and_newline_cut():
    assert contains_score(" in 1973", ["October 1973", "1973"]) == 1
    assert contains_score(" in 1974", ["October 1973", "1973"]) == 0
    assert contains_score(" no\nOctober 1973", ["October 1973"]) == 0  # generation stops at "\n"
    assert contains_score(" no\nOctober 1973", ["October 1973"], cut_at_newline=False) == 1
    assert contains_score("", ["x"]) == 0
    assert contains_score(" x", "x") == 1
    with pytest.raises(ValueError):
        contains_score("x", [])


# ------------------------------------------------------------------------------------ truncation
class _WordTok:
    """One token per space-separated word: makes positions easy to reason about."""

    def __init__(self):
        self.vocab, self.inv = {}, {}

    def encode(self, text):
        if not text:
            return []
        ids = []
        for w in text.split(" "):
            if w not in self.vocab:
                self.vocab[w] = len(self.vocab)
                self.inv[self.vocab[w]] = w
            ids.append(self.vocab[w])
        return ids

    def decode(self, ids):
        return " ".join(self.inv[i] for i in ids)


def test_truncation_window_around_answer():
    wt = _WordTok()
    tok = as_tokenizer((wt.encode, wt.decode))
    words = [f"w{i}" for i in range(1000)]
    words[600] = "ANSWER"
    text = " ".join(words)
    win = truncate_around_answer(text, ["answer"], tok, context_length=100, answer_length=10)
    assert win.n_tokens == 90 and len(tok.encode(win.text)) == 90
    assert "ANSWER" in win.text
    # up to half of the budget before the answer (the paper counts len(tokenize(text[:pos])), which
    # can be one token more than the answer's index when text[:pos] ends with a lone space)
    assert 44 <= win.text.split(" ").index("ANSWER") <= 45


def test_truncation_answer_near_start_and_end():
    wt = _WordTok()
    tok = as_tokenizer((wt.encode, wt.decode))
    words = [f"w{i}" for i in range(300)]
    words[3] = "KEY"
    win = truncate_around_answer(" ".join(words), ["key"], tok, context_length=60, answer_length=10)
    assert win.start == 0 and win.n_tokens == 50 and win.text.startswith("w0 w1 w2 KEY")
    words = [f"w{i}" for i in range(300)]
    words[298] = "KEY"
    win = truncate_around_answer(" ".join(words), ["key"], tok, context_length=60, answer_length=10)
    assert win.end == 300 and "KEY" in win.text and win.n_tokens <= 50


def test_truncation_earliest_of_key_or_value_and_drops():
    wt = _WordTok()
    tok = as_tokenizer((wt.encode, wt.decode))
    words = [f"w{i}" for i in range(500)]
    words[100], words[400] = "Author", "Tolkien"
    text = " ".join(words)
    win = truncate_around_answer(text, ["author", "Tolkien"], tok, context_length=60, answer_length=10)
    assert "Author" in win.text and "Tolkien" not in win.text  # the earliest anchor wins (paper)
    assert truncate_around_answer(text, ["author", "x"], tok, 60, 10) is None  # answer <= 1 char
    assert truncate_around_answer(text, ["author", ""], tok, 60, 10) is None
    missing = truncate_around_answer(text, ["nowhere"], tok, 60, 10)  # no match: the tail (paper)
    assert not missing.anchor_found and missing.end == 500
    with pytest.raises(ValueError):
        truncate_around_answer(text, ["author"], tok, 50, 50)


def test_find_anchor():
    assert find_anchor("abc Def def", ["DEF", "zz"]) == 4
    assert find_anchor("abc", ["x"]) == -1


def test_truncation_with_gpt2_keeps_budget(gpt2):
    text = ("Lorem ipsum dolor sit amet. " * 300) + "The ISBN is 9780316125581. " + ("More text. " * 300)
    win = truncate_around_answer(text, ["9780316125581"], gpt2, context_length=200, answer_length=50)
    assert "9780316125581" in win.text
    assert win.n_tokens <= 150
    assert len(gpt2.encode(win.text, add_special_tokens=False)) <= 151  # decode/encode round trip


# ------------------------------------------------------------------------------------ task names, errors
def test_task_names_and_errors(tmp_path, monkeypatch):
    assert TASK_NAMES == tuple(n for b in BASE_TASKS for n in (b, b + "_twice"))
    assert parse_task_name("swde") == ("swde", 1)
    assert parse_task_name("jrt_fda_twice") == ("fda", 2)
    with pytest.raises(ValueError, match="unknown task 'wikipedia'"):
        parse_task_name("wikipedia")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_data_dir(tmp_path / "nope")
    monkeypatch.setenv("JRT_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="JRT_DATA_DIR"):
        resolve_data_dir()
    with pytest.raises(FileNotFoundError, match="missing data file"):
        build_task("swde", (str.split, " ".join), data_dir=tmp_path, limit=1)


# ------------------------------------------------------------------------------------ real data
CTX = 300  # small window: truncation bites on every task, and it is fast


LOCAL_TASKS = ("swde", "fda", "squad", "nq", "kv_retrieval")


@pytest.mark.parametrize("base", LOCAL_TASKS)
def test_examples_truncated_and_twice_holds_context_twice(base, gpt2, recall_data_dir):
    n = 2 if base == "kv_retrieval" else 6
    default = build_task(base, gpt2, data_dir=recall_data_dir, context_length=CTX, answer_length=50, limit=n)
    twice = build_task(base + "_twice", gpt2, data_dir=recall_data_dir, context_length=CTX,
                       answer_length=50, limit=n)
    assert len(default) == len(twice) == n
    for d, t in zip(default, twice):
        assert d.doc_id == t.doc_id and d.answers == t.answers
        if base != "swde":  # the official SWDE default and twice prompts strip edges differently
            assert d.context == t.context
        assert d.n_context_tokens <= CTX - 50
        # the cleaned context re-tokenizes within the budget (+1 for the added ".")
        assert len(gpt2.encode(d.context, add_special_tokens=False)) <= CTX - 50 + 2
        assert d.context.endswith(".")
        assert all(len(a) > 1 for a in d.answers)
        if base == "swde":
            assert t.prompt.startswith(f"Information about {capitalize_key(d.question)}. ")
            continue
        if base == "fda":
            key = capitalize_key(d.question)
            assert d.prompt == f"{d.context} {key}:"
            assert t.prompt == f"Information about {key}. {d.context}\n{d.context} {key}:"
            assert find_anchor(d.context, [d.question, d.answers[0]]) >= 0  # the anchor is kept
        else:
            cue = qa_cue(d.question)
            assert d.prompt == f"{d.context} {cue}"
            assert t.prompt == f"{d.question} {d.context}\n{d.context} {cue}"
            assert d.answer_in_window, (d.doc_id, d.answers)
        assert t.prompt.count(d.context) == 2
        assert t.prompt == jrt_prompt(d.context, d.prompt[len(d.context) + 1:],
                                      question=t.prompt.split(" " + d.context)[0], passes=2)
    three = build_task(base, gpt2, data_dir=recall_data_dir, context_length=CTX, limit=2, passes=3)
    assert three[0].prompt.count(twice[0].context) == 3


@pytest.mark.full_data
@pytest.mark.parametrize("base", ["swde", "fda"])
def test_only_held_out_documents(base, full_data_dir):
    recall_data_dir = full_data_dir
    held_out = set((recall_data_dir / base / "eval_doc_ids.txt").read_text().split())
    assert len(held_out) == 300
    # a cheap tokenizer: this test only checks which documents are used
    cheap = (lambda s: s.encode("utf-8"), lambda ids: bytes(ids).decode("utf-8", errors="ignore"))
    examples = build_task(base, cheap, data_dir=recall_data_dir, context_length=4000)
    doc_ids = {e.doc_id for e in examples}
    assert doc_ids <= held_out
    assert len(doc_ids) >= 290
    assert len(examples) > len(doc_ids)  # one example per (doc, key)


def test_evaluate_without_lm_eval(gpt2, recall_data_dir):
    examples = build_task("squad", gpt2, data_dir=recall_data_dir, context_length=CTX, limit=6)
    assert len(examples) == 6
    gold = {e.prompt: e.answers[0] for e in examples}
    perfect = evaluate(lambda prompts: [" " + gold[p].upper() + "\nmore" for p in prompts], examples,
                       batch_size=4)
    assert perfect["contains"] == 1.0 and perfect["n"] == 6
    wrong = evaluate(lambda prompts: ["\n" + gold[p] for p in prompts], "squad", tokenizer=gpt2,
                     data_dir=recall_data_dir, context_length=CTX, limit=6)
    assert wrong["contains"] == 0.0
    with pytest.raises(ValueError, match="returned"):
        evaluate(lambda prompts: [], examples)
