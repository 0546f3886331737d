"""The recall part of the training data: building the ``recall`` split, and splicing it into rows.

    build_recall_split   counterfactual recall examples of training documents (jrt.train.counterfactual)
                         into ``recall.bin`` + ``recall.prompt_lengths.npy``; called by prepare_data
    MixedSequences       text rows with one recall example written over a share of them, its prompt
                         ending at the JRT prefix boundary (the trainer's ``--recall-rows``)
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .data import (
    SOURCE_FILES,
    DataError,
    HeldOut,
    PackedSequences,
    TokenSplit,
    _encode,
    _finish_split,
    _read_jsonl,
    _StreamWriter,
)

# Worker state of the recall builder: set before the pool forks, read by _recall_unit in each worker.
_RECALL: dict = {}


def _recall_unit(item: tuple[int, int, int]) -> tuple[list[tuple[str, list[int], list[int], str, int]], int]:
    """Examples of one (pass, document) work item: [(name, prompt ids, target ids, kv source,
    template)], and how many examples the leak check dropped (0 without one).

    Its random draws come from a generator seeded by (seed, pass, unit), so the result depends on
    the item alone, never on which process builds it or in which order.
    """
    from .counterfactual import CounterfactualBuilder

    st = _RECALL
    p, u, ctx_len = item
    fam, doc_id = st["units"][u]
    kv_src, kvs, texts, pools = st["families"][fam]
    key = (fam, doc_id)
    tokens = st["doc_tokens"].get(key)
    if tokens is None:
        tokens = st["doc_tokens"][key] = _encode(st["tokenizer"], [texts[doc_id]])[0]
    builder = CounterfactualBuilder(st["tokenizer"], pools, ctx_len, st["answer_length"],
                                    leak_check=st["leak_checks"][fam])
    rng = np.random.default_rng([st["seed"], 7, p, u])
    exs = builder.examples(kv_src, doc_id, texts[doc_id], kvs[doc_id], tokens, rng)
    if not exs:
        return [], builder.dropped_leaky
    prompts = _encode(st["tokenizer"], [e.prompt for e in exs])
    targets = _encode(st["tokenizer"], [e.target for e in exs])
    return [(e.name, pi, ti, kv_src, e.template) for e, pi, ti in zip(exs, prompts, targets)], builder.dropped_leaky


def _recall_items(n_units: int, context_lengths: list[int], seed: int, max_passes: int):
    """(pass, unit, context length) in build order: pass p visits the documents in the order of a
    permutation seeded by (seed, pass), at context length context_lengths[p % len]."""
    for p in range(max_passes):
        ctx_len = context_lengths[p % len(context_lengths)]
        for u in np.random.default_rng([seed, 7, p]).permutation(n_units):
            yield p, int(u), ctx_len


def recall_families(data_root: Path, held: HeldOut) -> tuple[list, int]:
    """The annotated training documents the recall examples come from, per annotation source:
    [(kv source, {doc_id: [(key, value)]}, {doc_id: text}, {key: substitute values})], and the
    number of held-out annotations left out."""
    from .counterfactual import value_pools

    families = []
    excluded_kv = 0
    for kv_src, doc_src in (("swde_book_kv", "swde"), ("fda_kv", "fda")):
        kv_path = data_root / SOURCE_FILES[kv_src]
        doc_path = data_root / SOURCE_FILES[doc_src]
        for p in (kv_path, doc_path):
            if not p.exists():
                raise DataError(f"corpus path not found: {p} (needed by --recall-fraction)")
        kvs: dict[str, list[tuple[str, str]]] = {}
        for row in _read_jsonl(kv_path):
            if held.excludes(kv_src, row["doc_id"]):
                excluded_kv += 1
                continue
            kvs.setdefault(row["doc_id"], []).append((row["key"], row["value"]))
        texts = {r["doc_id"]: r["text"].lstrip("\ufeff").strip() for r in _read_jsonl(doc_path)
                 if r["doc_id"] in kvs and not held.excludes(doc_src, r["doc_id"])}
        families.append((kv_src, kvs, texts, value_pools({d: kvs[d] for d in texts})))
    return families, excluded_kv


def build_recall_split(tmp: Path, data_root: Path, held: HeldOut, tokenizer, context_lengths: list[int],
                  target_tokens: int, seed: int, dtype, progress: bool, max_passes: int = 64,
                  answer_length: int | None = None, workers: int = 1,
                  drop_leaky: bool = False) -> tuple[dict, dict]:
    """The ``recall`` split: counterfactual recall examples of training documents (jrt.train.counterfactual).

    One example per document per line of ``recall.bin``: prompt tokens, target tokens, EOS; the
    prompt's length is in ``recall.prompt_lengths.npy`` (the trainer aligns the prompt's end with the
    prefix boundary). Passes over the documents (one context length each, cycled) until
    ``target_tokens`` are written; every pass draws new substitutes. ``workers`` > 1 builds the
    examples in that many processes (fork); the file is the same for any number of workers.
    ``drop_leaky`` leaves out the examples whose window still holds a distinctive word of the value
    it replaced (`jrt.train.counterfactual.LeakCheck`, built per source from its training documents).
    """
    import multiprocessing

    from tqdm.auto import tqdm

    from .counterfactual import ANSWER_LENGTH, TEMPLATES, LeakCheck

    eos = tokenizer.eos_token_id
    answer_length = ANSWER_LENGTH if answer_length is None else answer_length
    families, excluded_kv = recall_families(data_root, held)
    units = [(fam, doc_id) for fam, (_, kvs, texts, _) in enumerate(families) for doc_id in sorted(texts)]
    if not units:
        raise DataError("empty corpus: no training documents with key-value annotations for the recall mix")
    _RECALL.clear()
    leak_checks = [LeakCheck(texts.values()) if drop_leaky else None for _, _, texts, _ in families]
    _RECALL.update(units=units, families=families, tokenizer=tokenizer, seed=seed, answer_length=answer_length,
                   doc_tokens={}, leak_checks=leak_checks)
    writer = _StreamWriter(tmp / "recall.bin", dtype)
    prompt_lengths, per_source, per_template = [], {f[0]: 0 for f in families}, [0] * len(TEMPLATES)
    passes = 0
    dropped = {f[0]: 0 for f in families}
    bar = tqdm(total=target_tokens, desc="recall examples", unit="tok", disable=not progress)
    items = _recall_items(len(units), context_lengths, seed, max_passes)
    pool = None
    if workers > 1:
        # the forked workers tokenize one document at a time: the Rust thread pool stays off in them
        # (set for the fork only, restored in this process at once)
        saved = os.environ.get("TOKENIZERS_PARALLELISM")
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        try:
            pool = multiprocessing.get_context("fork").Pool(workers)
        finally:
            if saved is None:
                os.environ.pop("TOKENIZERS_PARALLELISM", None)
            else:
                os.environ["TOKENIZERS_PARALLELISM"] = saved
        results = pool.imap(_recall_unit, items, chunksize=16)
    else:
        results = map(_recall_unit, items)
    try:
        for (p, u, _), (built, n_dropped) in zip(_recall_items(len(units), context_lengths, seed, max_passes),
                                                  results):
            passes = p + 1
            dropped[families[units[u][0]][0]] += n_dropped
            for name, p_ids, t_ids, kv_src, template in built:
                writer.add(name, p_ids + t_ids + [eos])
                prompt_lengths.append(len(p_ids))
                per_source[kv_src] += 1
                per_template[template] += 1
                bar.update(len(p_ids) + len(t_ids) + 1)
            if writer.n_tokens >= target_tokens:
                break
    finally:
        if pool is not None:
            pool.terminate()
        _RECALL.clear()
    bar.close()
    split = _finish_split(tmp, "recall", writer, None)
    np.save(tmp / "recall.prompt_lengths.npy", np.asarray(prompt_lengths, dtype=np.int32))
    info = {"examples": len(prompt_lengths), "tokens": writer.n_tokens, "passes": passes,
            "context_lengths": context_lengths, "answer_length": answer_length, "per_source": per_source,
            "per_template": per_template, "templates": [t for _, t in TEMPLATES],
            "annotations_excluded_heldout": excluded_kv,
            "format": "counterfactual: each value replaced by another training document's value of the same "
                      "attribute (jrt.train.counterfactual)"}
    if drop_leaky:  # only then: the manifest of a default build stays as it was
        check = next(c for c in leak_checks if c is not None)
        info["leaky_dropped"] = {"per_source": dropped, "max_df": check.max_df, "min_chars": check.min_chars,
                                 "rule": "an example is dropped when its prompt still holds a distinctive word "
                                         "of the value it replaced (jrt.train.counterfactual.LeakCheck)"}
    return split, info


# low-discrepancy rule for which samples are recall rows: the golden ratio spreads them evenly
_GOLDEN = 0.6180339887498949


class MixedSequences(PackedSequences):
    """Text rows with recall rows spliced in, the recall prompt ending exactly at ``align_at``.

    Sample ``k`` is a recall row when ``frac(k * golden) < recall_rows`` (a fixed, evenly spread
    set of sample indices; the same for every model and process layout). A recall row is the text
    row sample ``k`` would have been, with one recall example written over it so that its prompt
    ends at position ``align_at`` and its answer follows::

        [text ..., EOS, prompt (ends at align_at), answer, EOS, text ...]

    With ``align_at`` = the JRT prefix length, JRT-RNN reads the whole document and question
    non-causally and predicts the answer at its first causal positions, as at evaluation; for the
    other models it is one more position in the row. A prompt longer than ``align_at`` starts the row.
    """

    def __init__(self, split: TokenSplit, recall: TokenSplit, seq_len: int, align_at: int, recall_rows: float,
                 seed: int = 1111, shuffle: bool = True):
        super().__init__(split, seq_len, seed, shuffle)
        if not 0.0 <= recall_rows <= 1.0:
            raise DataError(f"recall_rows must be in [0, 1], got {recall_rows}")
        if not 1 <= align_at <= seq_len:
            raise DataError(f"align_at must be in [1, seq_len={seq_len}], got {align_at}")
        self.recall = recall
        self.recall_rows = float(recall_rows)
        self.align_at = int(align_at)
        self.prompt_lengths = np.load(recall.dir / "recall.prompt_lengths.npy")
        self.n_examples = len(recall.offsets) - 1
        if self.n_examples < 1 or len(self.prompt_lengths) != self.n_examples:
            raise DataError(f"{recall.dir}: recall split has {self.n_examples} examples and "
                            f"{len(self.prompt_lengths)} prompt lengths")
        self._rperm_epoch, self._rperm = -1, None

    def is_recall(self, k: int) -> bool:
        return (int(k) * _GOLDEN) % 1.0 < self.recall_rows

    def example_index(self, k: int) -> int:
        epoch, i = divmod(int(k), self.n_examples)
        if epoch != self._rperm_epoch:
            self._rperm = np.random.default_rng([self.seed, 11, epoch]).permutation(self.n_examples)
            self._rperm_epoch = epoch
        return int(self._rperm[i])

    def get(self, k: int) -> np.ndarray:
        row = super().get(k)
        if not self.is_recall(k):
            return row
        e = self.example_index(k)
        ex = np.asarray(self.recall.tokens[self.recall.offsets[e]:self.recall.offsets[e + 1]], dtype=np.int64)
        start = max(0, self.align_at - int(self.prompt_lengths[e]))
        if start > 0:   # an EOS marks the end of the text before the example
            row[start - 1] = self.split.eos_token_id
        end = min(len(row), start + len(ex))
        row[start:end] = ex[:end - start]
        return row

    def recall_example_at(self, k: int) -> tuple[int, int] | None:
        """(example index, position of its first answer token) of sample k, None for a text row."""
        if not self.is_recall(k):
            return None
        e = self.example_index(k)
        return e, max(0, self.align_at - int(self.prompt_lengths[e])) + int(self.prompt_lengths[e])
