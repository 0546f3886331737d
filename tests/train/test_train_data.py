"""prepare-data: held-out exclusion, recall format, determinism, atomic failure on bad input."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from train_helpers import annotated_values, run_cli

from jrt.train.data import DataError, PackedSequences, TokenSplit, prepare_data


def _decode_split(data_dir: Path, split: str, tokenizer_dir: Path) -> tuple[list[str], list[str]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    s = TokenSplit(data_dir, split)
    ids = s.doc_ids()
    texts = [tok.decode(s.tokens[s.offsets[i]:s.offsets[i + 1]].tolist()) for i in range(len(ids))]
    return ids, texts


def _snippets(text: str, n: int = 3, width: int = 60) -> list[str]:
    """Distinctive pieces of a document: a few windows from its body."""
    t = " ".join(text.split())
    if len(t) <= width:
        return [t]
    return [t[int(i * (len(t) - width) / max(n - 1, 1)):][:width] for i in range(n)]


def test_no_heldout_document_or_recall_example_in_training_file(prepared, tokenizer_dir):
    out, manifest, held = prepared
    held_swde = {r["doc_id"] for r in held["swde"]["held"]}
    held_fda = {r["doc_id"] for r in held["fda"]["held"]}
    held_k = {d[: -len("_REVIEW")] for d in held_fda}
    assert held_swde and held_fda
    for split in ("train", "val", "recall"):
        ids, texts = _decode_split(out, split, tokenizer_dir)
        for doc_id in ids:
            parts = doc_id.split("/")
            # "swde/<id>", "fda/<id>", "fda_summaries/<K...>", "recall/<kv source>/<doc id>/<key>/<len>"
            src_id = parts[2] if parts[0] == "recall" else parts[1]
            assert src_id not in held_swde | held_fda | held_k, f"held-out document in {split}: {doc_id}"
        joined = "\n".join(texts)
        joined_norm = " ".join(joined.split())
        held_texts = [r["text"] for r in held["swde"]["held"] + held["fda"]["held"]]
        held_texts += [r["text"] for r in held["fda_summaries"] if r["doc_id"] in held_k]
        assert any(r["doc_id"] in held_k for r in held["fda_summaries"]), "fixture lacks a held-out summary"
        # boilerplate shared with training documents (letter templates, site menus) is not evidence
        train_norm = [" ".join(r["text"].split()) for r in held["swde"]["train"] + held["fda"]["train"]
                      + [r for r in held["fda_summaries"] if r["doc_id"] not in held_k]]
        checked = 0
        for text in held_texts:
            for snip in _snippets(text, n=5):
                if len(snip) >= 40 and all(snip not in t for t in train_norm):
                    checked += 1
                    assert snip not in joined_norm, f"held-out text found in {split}: {snip!r}"
        assert checked >= 10
    # the training documents and recall examples of training docs are there
    ids, _ = _decode_split(out, "train", tokenizer_dir)
    recall_ids, _ = _decode_split(out, "recall", tokenizer_dir)
    assert any(i.startswith("recall/swde_book_kv/") for i in recall_ids)
    assert any(i.startswith("recall/fda_kv/") for i in recall_ids)
    assert any(i.startswith("fda_summaries/") for i in ids)
    excl = manifest["heldout_ids_excluded"]
    assert held_swde <= set(excl["swde"]) and held_fda <= set(excl["fda"]) and held_k <= set(excl["fda_summaries"])
    assert manifest["sources"]["swde"]["heldout_excluded"] == len(held_swde)
    assert manifest["sources"]["fda_summaries"]["heldout_excluded"] >= 1


def test_recall_examples_are_counterfactual_and_sized(prepared, tokenizer_dir, mini_root):
    """Each example asks for a substituted value that its prompt holds, never the document's own value,
    in one of the templates; none is an evaluation prompt; the split has the asked share of tokens."""
    from jrt.train.counterfactual import TEMPLATES

    out, manifest, _ = prepared
    ids, texts = _decode_split(out, "recall", tokenizer_dir)
    lengths = np.load(out / "recall.prompt_lengths.npy")
    split = TokenSplit(out, "recall")
    assert len(ids) == len(lengths) > 0
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    root, held = mini_root
    originals = annotated_values(root)
    for i, doc_id in enumerate(ids):
        _, fam, doc, key, _ = doc_id.split("/")
        row = split.tokens[split.offsets[i]:split.offsets[i + 1]].tolist()
        prompt, target = tok.decode(row[:lengths[i]]), tok.decode(row[lengths[i]:])
        assert target.endswith("\n<|endoftext|>")
        value = target[1:-len("\n<|endoftext|>")]
        original = originals[(fam, doc, key)]
        assert value.lower() in prompt.lower(), (doc_id, value)
        assert value.lower() != original.lower()
        if original.lower() not in value.lower():
            assert original.lower() not in prompt.lower(), (doc_id, original)
        key_cap = key[:1].upper() + key[1:]
        assert not prompt.endswith(f". {key_cap}:") and not prompt.endswith(f" {key_cap}:")
    counts = manifest["recall"]["per_template"]
    assert len(counts) == len(TEMPLATES) and sum(c > 0 for c in counts) >= 2
    text_tokens = manifest["train_text_tokens"]
    assert 0.9 <= len(split.tokens) / text_tokens <= 1.5   # recall_fraction 0.5: as many tokens as the text


def test_recall_rows_end_the_prompt_at_the_prefix(prepared):
    """MixedSequences: about the asked share of rows carry an example, the answer right after position align_at."""
    from jrt.train.recall_mix import MixedSequences

    out, _, _ = prepared
    recall = TokenSplit(out, "recall")
    lengths = np.load(out / "recall.prompt_lengths.npy")
    mixed = MixedSequences(TokenSplit(out, "train"), recall, 512, 300, 0.5, seed=0)
    plain = PackedSequences(TokenSplit(out, "train"), 512, seed=0)
    n_recall = 0
    for k in range(200):
        row = mixed.get(k)
        at = mixed.recall_example_at(k)
        if at is None:
            assert np.array_equal(row, plain.get(k))
            continue
        n_recall += 1
        e, answer_pos = at
        ex = recall.tokens[recall.offsets[e]:recall.offsets[e + 1]]
        if lengths[e] <= 300:
            assert answer_pos == 300
        start = answer_pos - lengths[e]
        stop = min(len(row), start + len(ex))
        assert np.array_equal(row[start:stop], ex[:stop - start])
        assert np.array_equal(row, mixed.get(k))            # deterministic
    assert 80 <= n_recall <= 120


def test_deterministic_shuffle(mini_root, tokenizer_dir, tmp_path):
    root, _ = mini_root
    kw = dict(data_root=root, sources=["imdb", "swde"], progress=False, heldout_split=False, eval_texts={})
    m1 = prepare_data(tmp_path / "a", tokenizer_dir, seed=3, **kw)
    m2 = prepare_data(tmp_path / "b", tokenizer_dir, seed=3, **kw)
    m3 = prepare_data(tmp_path / "c", tokenizer_dir, seed=4, **kw)
    assert m1["hash"] == m2["hash"]
    assert m1["splits"]["train"]["sha256"] != m3["splits"]["train"]["sha256"]
    assert m1["splits"]["train"]["tokens"] + m1["splits"]["val"]["tokens"] == \
        m3["splits"]["train"]["tokens"] + m3["splits"]["val"]["tokens"]
    a = TokenSplit(tmp_path / "a", "train")
    assert a.dtype == np.uint16 and a.tokens.max() < 50257
    ps = PackedSequences(a, 32, seed=0)
    assert ps.get(5).shape == (33,) and np.array_equal(ps.get(5), PackedSequences(a, 32, seed=0).get(5))
    # a gzipped ids file (the slimmed GPU carry) reads back the same ids
    ids = a.doc_ids()
    assert len(ids) == len(a.offsets) - 1
    plain = tmp_path / "a" / "train.ids.txt"
    with gzip.open(plain.with_suffix(".txt.gz"), "wt", encoding="utf-8") as f:
        f.write(plain.read_text())
    plain.unlink()
    assert TokenSplit(tmp_path / "a", "train").doc_ids() == ids


def test_recall_split_does_not_depend_on_the_number_of_workers(mini_root, tokenizer_dir, tmp_path):
    """The recall examples built by 2 processes are byte for byte those built by one (each example's
    draws are seeded by its pass and document, not by a shared stream)."""
    root, _ = mini_root
    kw = dict(data_root=root, sources=["imdb"], progress=False, heldout_split=False, eval_texts={},
              recall_fraction=0.9, recall_context_lengths=[200, 300], seed=5)
    one = prepare_data(tmp_path / "one", tokenizer_dir, workers=1, **kw)
    two = prepare_data(tmp_path / "two", tokenizer_dir, workers=2, **kw)
    assert one["splits"]["recall"]["sha256"] == two["splits"]["recall"]["sha256"]
    assert one["recall"]["passes"] >= 2 and one["hash"] == two["hash"]
    assert (tmp_path / "one" / "recall.prompt_lengths.npy").read_bytes() == \
        (tmp_path / "two" / "recall.prompt_lengths.npy").read_bytes()


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


@pytest.mark.parametrize("case", ["missing_corpus", "empty_corpus", "missing_tokenizer"])
def test_bad_input_one_clear_error_nothing_left(case, mini_root, tokenizer_dir, tmp_path):
    root, _ = mini_root
    work = tmp_path / "work"
    work.mkdir()
    out = work / "data"
    args = ["prepare-data", "--out", str(out), "--no-progress", "--sources", ""]
    if case == "missing_corpus":
        args += ["--text", str(tmp_path / "no_such_corpus"), "--tokenizer", str(tokenizer_dir)]
        expect = "corpus path not found"
    elif case == "empty_corpus":
        empty = tmp_path / "empty"
        empty.mkdir()
        (empty / "a.txt").write_text("\n\n   \n")
        args += ["--text", str(empty), "--tokenizer", str(tokenizer_dir)]
        expect = "empty corpus"
    else:
        args += ["--text", str(root / "corpus" / "imdb"), "--tokenizer", str(tmp_path / "no_such_tokenizer")]
        expect = "tokenizer path not found"
    proc = run_cli(args, check=False, timeout=120)
    assert proc.returncode == 2, proc.stderr
    err_lines = [l for l in proc.stderr.splitlines() if "error" in l.lower()]
    assert len(err_lines) == 1 and expect in err_lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert _leftovers(work) == []  # no output, no temp dir


def test_data_root_missing_is_clear(tokenizer_dir, tmp_path):
    with pytest.raises(DataError, match="corpus path not found"):
        prepare_data(tmp_path / "d", tokenizer_dir, data_root=tmp_path / "nowhere", sources=["imdb"],
                     progress=False)
    assert _leftovers(tmp_path) == []


def test_existing_output_refused_and_overwrite_atomic(mini_root, tokenizer_dir, tmp_path):
    root, _ = mini_root
    kw = dict(data_root=root, sources=["swde"], progress=False, heldout_split=False, eval_texts={})
    prepare_data(tmp_path / "d", tokenizer_dir, **kw)
    with pytest.raises(DataError, match="already exists"):
        prepare_data(tmp_path / "d", tokenizer_dir, **kw)
    prepare_data(tmp_path / "d", tokenizer_dir, overwrite=True, seed=9, **kw)
    assert _leftovers(tmp_path) == ["d"]
    assert json.loads((tmp_path / "d" / "manifest.json").read_text())["seed"] == 9
