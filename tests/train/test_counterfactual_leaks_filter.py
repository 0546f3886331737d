"""The leak check of the counterfactual recall examples: an example whose window still names the
value it replaced (a surname left in the prose) is dropped, every other example is the one the
builder makes without the check, and a prepared recall split built with --recall-drop-leaky holds
no example that names its replaced value."""
from __future__ import annotations

import numpy as np
import pytest
from train_helpers import annotated_values

from jrt.train.counterfactual import CounterfactualBuilder, LeakCheck
from jrt.train.data import DataError, TokenSplit, prepare_data

# 60 filler documents give the document frequencies: common words are never distinctive
FILLER = [f"Book page {i}. Author: Someone Else. Publisher: Big Press. The author wrote books." for i in range(60)]
DOC = ("Title: The Quiet River\nAuthor: Jane Michaels\nISBN-13: 9781234567897\n"
       "A novel by bestselling author Michaels about a small town. Publisher: Big Press.")
KVS = [("author", "Jane Michaels"), ("isbn_13", "9781234567897"), ("title", "The Quiet River")]
POOLS = {"author": ["Jane Michaels", "Tom Harlow", "Ann Voss"],
         "isbn_13": ["9781234567897", "9780000000002", "9789999999990"],
         "title": ["The Quiet River", "Salt Roads", "Glass Orchard"]}


def test_leak_check_finds_surviving_distinctive_words():
    check = LeakCheck(FILLER + [DOC])
    # "jane" and "michaels" are rare; "author" is in every document, so never distinctive
    assert check.distinctive("Jane Michaels", "Tom Harlow") == ["jane", "michaels"]
    assert check.surviving("Jane Michaels", "Tom Harlow", "Author: Tom Harlow. Author Michaels wrote it.") \
        == ["michaels"]
    # a word shared with the substitute is not evidence of the old value; a longer word that merely
    # contains it is not the same word
    assert check.distinctive("Jane Michaels", "Jane Harlow") == ["michaels"]
    assert check.distinctive("Jane Michaels", "Tom Michaelson") == ["jane", "michaels"]
    # whole words only: "michaelson" does not name Michaels
    assert check.surviving("Jane Michaels", "Tom Harlow", "by Tom Harlow and Bo Michaelson") == []
    with pytest.raises(ValueError):
        LeakCheck(FILLER, max_df=0.0)


def test_builder_drops_only_the_leaky_examples(gpt2_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gpt2_tokenizer_dir))
    plain = CounterfactualBuilder(tok, POOLS, 200)
    checked = CounterfactualBuilder(tok, POOLS, 200, leak_check=LeakCheck(FILLER + [DOC]))
    for seed in range(5):
        all_ex = plain.examples("swde_book_kv", "d0", DOC, KVS, None, np.random.default_rng(seed))
        kept = checked.examples("swde_book_kv", "d0", DOC, KVS, None, np.random.default_rng(seed))
        # the author's surname survives in the prose ("author Michaels"): that example goes, the
        # others are unchanged, substitute and template included
        assert [e.key for e in all_ex] == ["author", "isbn_13", "title"]
        assert kept == [e for e in all_ex if e.key != "author"]
        assert "michaels" in all_ex[0].prompt.lower()
    assert checked.dropped_leaky == 5 and plain.dropped_leaky == 0


def test_prepared_split_without_leaky_examples(mini_root, tokenizer_dir, tmp_path):
    from transformers import AutoTokenizer

    from jrt.train.data import load_heldout
    from jrt.train.recall_mix import recall_families

    root, _ = mini_root
    kw = dict(data_root=root, sources=["imdb"], progress=False, heldout_split=False, eval_texts={},
              recall_fraction=0.5, recall_context_lengths=[300], seed=3)
    manifest = prepare_data(tmp_path / "d", tokenizer_dir, recall_drop_leaky=True, **kw)
    dropped = manifest["recall"]["leaky_dropped"]["per_source"]
    assert sum(dropped.values()) > 0, dropped        # the real documents do leak (surnames, titles)

    families, _ = recall_families(root, load_heldout(root, ["swde", "fda"]))
    checks = {kv_src: LeakCheck(texts.values()) for kv_src, _, texts, _ in families}
    originals = annotated_values(root)
    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))

    def rows(data_dir):
        """[(row tokens, names the replaced value?)] of a recall split."""
        split = TokenSplit(data_dir, "recall")
        lengths = np.load(data_dir / "recall.prompt_lengths.npy")
        out = []
        for i, name in enumerate(split.doc_ids()):
            _, fam, doc, key, _ = name.split("/")
            row = split.tokens[split.offsets[i]:split.offsets[i + 1]].tolist()
            prompt, target = tok.decode(row[:lengths[i]]), tok.decode(row[lengths[i]:])
            value = target[1:-len("\n<|endoftext|>")]
            out.append((row, bool(checks[fam].surviving(originals[(fam, doc, key)], value, prompt))))
        return out

    kept = rows(tmp_path / "d")
    assert kept and not any(leaky for _, leaky in kept)

    # a default build: no such field in its manifest (so its hash is as before), and the filtered
    # build's examples are its clean examples, in the same order, then more from further passes
    default = prepare_data(tmp_path / "e", tokenizer_dir, **kw)
    assert "leaky_dropped" not in default["recall"]
    clean = [row for row, leaky in rows(tmp_path / "e") if not leaky]
    assert len(clean) < len(rows(tmp_path / "e"))
    assert [row for row, _ in kept[:len(clean)]] == clean
    with pytest.raises(DataError, match="needs --recall-fraction"):
        prepare_data(tmp_path / "f", tokenizer_dir, recall_drop_leaky=True,
                     **dict(kw, recall_fraction=0.0))
