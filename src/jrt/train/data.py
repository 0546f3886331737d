"""Tokenized training corpora: `jrt prepare-data` writes, the trainer memory-maps.

A prepared data directory holds, per split (``train``, ``val``, ``heldout``, ``wikitext2``, ...):

    {split}.bin           the token stream (uint16 when the vocabulary fits, else uint32); every
                          document is followed by the tokenizer's EOS token
    {split}.offsets.npy   int64 [n_docs + 1]: document d is tokens[offsets[d]:offsets[d+1]]
    {split}.ids.txt       one document id per line ("swde/book-...", "recall/fda/K0.../applicant/1000")
    manifest.json         sources, tokenizer, counts, held-out ids excluded, recall settings, hashes

Splits:
  train      text documents of the chosen sources (held-out evaluation documents removed), shuffled by
             ``seed``
  recall     with ``recall_fraction > 0``: counterfactual recall examples of training documents
             (jrt.train.counterfactual, built by jrt.train.recall_mix), with ``recall.prompt_lengths.npy``;
             the trainer splices them into training rows (recall_mix.MixedSequences, ``recall_rows``)
  val        a random ``val_fraction`` of the text documents (never in train): in-distribution ppl
  heldout    the held-out SWDE/FDA evaluation documents themselves (perplexity only, never trained)
  wikitext2  and any other ``eval_texts``: whole files as one document each (perplexity only)

The directory is built under a temporary name beside the target and renamed into place at the end,
so a failure (or a kill) never leaves a half-written data directory at the target path.

The file is long (about 580 lines) because it holds both sides of one format, the writer
(prepare_data) and the readers (TokenSplit, PackedSequences), so that they change together.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jrt.files import fsync_dir, save_npy_durably, sha256_file, write_text_durably

FORMAT_VERSION = 2  # 2: recall examples in their own split (counterfactual)
DEFAULT_SOURCES = ("imdb", "swde", "fda", "fda_summaries")
RECALL_SOURCES = ("swde_book_kv", "fda_kv")


class DataError(ValueError):
    """Bad input to prepare-data (missing paths, empty corpus, ...): one clear message."""


# ----------------------------------------------------------------------------------------- paths

SOURCE_FILES = {
    "imdb": "corpus/imdb",
    "swde": "swde/swde_book_docs.jsonl.gz",
    "fda": "fda/fda_docs.jsonl.gz",
    "fda_summaries": "fda/fda_summaries.jsonl.gz",
    "swde_book_kv": "swde/swde_book_kv.jsonl.gz",
    "fda_kv": "fda/fda_kv.jsonl.gz",
}
HELDOUT_FILES = {"swde": "swde/eval_doc_ids.txt", "fda": "fda/eval_doc_ids.txt"}


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _read_jsonl(path: Path) -> Iterator[dict]:
    with _open_text(path) as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def _paragraph_docs(path: Path) -> Iterator[str]:
    """Blank-line-separated documents of a text file (IMDB shards: one review paragraph each)."""
    with _open_text(path) as f:
        buf: list[str] = []
        for line in f:
            if line.strip():
                buf.append(line)
            elif buf:
                yield "".join(buf).strip()
                buf = []
        if buf:
            yield "".join(buf).strip()


# -------------------------------------------------------------------------------------- held-out

@dataclass
class HeldOut:
    swde: set[str] = field(default_factory=set)
    fda: set[str] = field(default_factory=set)  # "K050002_REVIEW"

    @property
    def fda_summaries(self) -> set[str]:
        """Summary letters of held-out devices: doc_id "K050002" for "K050002_REVIEW"."""
        return {d[: -len("_REVIEW")] if d.endswith("_REVIEW") else d for d in self.fda}

    def excludes(self, source: str, doc_id: str) -> bool:
        if source in ("swde", "swde_book_kv"):
            return doc_id in self.swde
        if source in ("fda", "fda_kv"):
            return doc_id in self.fda
        if source == "fda_summaries":
            return doc_id in self.fda_summaries or f"{doc_id}_REVIEW" in self.fda
        return False

    def as_manifest(self) -> dict:
        return {"swde": sorted(self.swde), "fda": sorted(self.fda),
                "fda_summaries": sorted(self.fda_summaries)}


def load_heldout(data_root: Path, needed: Iterable[str]) -> HeldOut:
    """Held-out evaluation ids. Missing id files are an error when a source needs them."""
    held = HeldOut()
    needed = set(needed)
    for family, rel in HELDOUT_FILES.items():
        users = {s for s in needed if s.startswith(family)}
        if not users:
            continue
        path = data_root / rel
        if not path.is_file():
            raise DataError(f"held-out id file not found: {path} (needed by sources {sorted(users)}; "
                            "refusing to build training data without the evaluation split)")
        ids = {line.strip() for line in path.read_text().splitlines() if line.strip()}
        getattr(held, family).update(ids)
    return held


# ----------------------------------------------------------------------------------------- sources

@dataclass
class SourceSpec:
    name: str          # "imdb", "swde", "fda", "fda_summaries", or "text:<label>"
    path: Path

    def iter_docs(self, held: HeldOut, stats: dict) -> Iterator[tuple[str, str]]:
        """(doc_id, text) of every training document; counts exclusions in ``stats``."""
        if self.name == "imdb" or self.name.startswith("text:"):
            files = _text_files(self.path)
            for fp in files:
                for i, text in enumerate(_paragraph_docs(fp) if not _is_jsonl(fp) else
                                         (r.get("text", "") for r in _read_jsonl(fp))):
                    text = text.replace("<br />", "\n").strip()
                    if text:
                        yield f"{self.name}/{fp.name}:{i}", text
            return
        for row in _read_jsonl(self.path):
            doc_id = str(row["doc_id"])
            if held.excludes(self.name, doc_id):
                stats["heldout_excluded"] = stats.get("heldout_excluded", 0) + 1
                continue
            text = (row.get("text") or "").strip()
            if text:
                yield f"{self.name}/{doc_id}", text


def _is_jsonl(p: Path) -> bool:
    return p.name.endswith(".jsonl") or p.name.endswith(".jsonl.gz")


def _text_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    exts = (".txt", ".txt.gz", ".jsonl", ".jsonl.gz")
    return sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(exts))


def resolve_sources(data_root: Path | None, sources: Iterable[str], texts: Iterable[str] = ()) -> list[SourceSpec]:
    specs = []
    for name in sources:
        if name not in ("imdb", "swde", "fda", "fda_summaries"):
            raise DataError(f"unknown source {name!r}; choose from imdb, swde, fda, fda_summaries "
                            "(or pass arbitrary text with --text PATH)")
        if data_root is None:
            raise DataError("no data root: pass --data-root or set $JRT_DATA")
        if not Path(data_root).is_dir():
            raise DataError(f"corpus path not found: data root {data_root} does not exist")
        path = Path(data_root) / SOURCE_FILES[name]
        if not path.exists():
            raise DataError(f"corpus path not found: {path} (source {name!r})")
        specs.append(SourceSpec(name, path))
    for t in texts:
        path = Path(t)
        if not path.exists():
            raise DataError(f"corpus path not found: {path}")
        specs.append(SourceSpec(f"text:{path.name}", path))
    if not specs:
        raise DataError("no sources chosen")
    return specs


def load_tokenizer(path):
    """``AutoTokenizer.from_pretrained(folder)`` with a clear error for a missing path.

    (Never ``GPT2TokenizerFast(vocab_file=..., merges_file=...)``: transformers 5.23 silently builds
    an empty tokenizer from it.)
    """
    if path is None:
        raise DataError("no tokenizer: pass --tokenizer PATH (a Hugging Face tokenizer folder)")
    p = Path(path)
    if not p.exists():
        raise DataError(f"tokenizer path not found: {p}")
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(p))
    except Exception as e:  # noqa: BLE001 - re-raised with the path in the message
        raise DataError(f"could not load a tokenizer from {p}: {type(e).__name__}: {e}") from e
    if len(tok) == 0 or not tok("hello world", add_special_tokens=False)["input_ids"]:
        raise DataError(f"tokenizer at {p} is empty (no vocabulary)")
    tok.model_max_length = int(1e12)  # we tokenize whole documents; no model-length warning
    if tok.eos_token_id is None:
        raise DataError(f"tokenizer at {p} has no EOS token (needed as the document separator)")
    return tok


def _tokenizer_fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(q for q in path.iterdir() if q.is_file())
    for q in files:
        h.update(q.name.encode())
        h.update(sha256_file(q).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------- writing

class _StreamWriter:
    """Appends documents (token lists) to a .bin file; tracks offsets and ids."""

    def __init__(self, path: Path, dtype):
        self.path = path
        self.dtype = np.dtype(dtype)
        self.f = open(path, "wb")
        self.offsets = [0]
        self.ids: list[str] = []

    def add(self, doc_id: str, ids: list[int]) -> None:
        arr = np.asarray(ids, dtype=self.dtype)
        self.f.write(arr.tobytes())
        self.offsets.append(self.offsets[-1] + len(arr))
        self.ids.append(doc_id)

    @property
    def n_tokens(self) -> int:
        return self.offsets[-1]

    def close(self) -> None:
        if not self.f.closed:
            self.f.flush()
            os.fsync(self.f.fileno())
            self.f.close()


def _finish_split(tmp: Path, name: str, writer: _StreamWriter, order: np.ndarray | None) -> dict:
    """Write {name}.bin/.offsets.npy/.ids.txt from a raw writer, permuting documents by ``order``."""
    writer.close()
    offsets = np.asarray(writer.offsets, dtype=np.int64)
    n_docs = len(writer.ids)
    final = tmp / f"{name}.bin"
    if order is None or n_docs == 0:
        os.replace(writer.path, final)
        new_offsets, ids = offsets, writer.ids
    else:
        raw = np.memmap(writer.path, dtype=writer.dtype, mode="r") if offsets[-1] else np.zeros(0, writer.dtype)
        lengths = np.diff(offsets)[order]
        new_offsets = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(lengths, out=new_offsets[1:])
        ids = [writer.ids[i] for i in order]
        with open(final, "wb") as f:
            buf = []
            buf_len = 0
            for d in order:
                buf.append(raw[offsets[d]:offsets[d + 1]])
                buf_len += int(offsets[d + 1] - offsets[d])
                if buf_len >= 1 << 22:
                    f.write(np.concatenate(buf).tobytes())
                    buf, buf_len = [], 0
            if buf:
                f.write(np.concatenate(buf).tobytes())
            f.flush()
            os.fsync(f.fileno())
        del raw
        os.remove(writer.path)
    save_npy_durably(tmp / f"{name}.offsets.npy", new_offsets)
    write_text_durably(tmp / f"{name}.ids.txt", "".join(i + "\n" for i in ids))
    return {"tokens": int(new_offsets[-1]), "documents": n_docs,
            "sha256": sha256_file(final)}


def _batched(it: Iterable, n: int) -> Iterator[list]:
    buf = []
    for x in it:
        buf.append(x)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


def _encode(tokenizer, texts: list[str]) -> list[list[int]]:
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


# ------------------------------------------------------------------------------------- prepare

def prepare_data(out: str | os.PathLike, tokenizer_path, data_root=None, sources=DEFAULT_SOURCES,
                 texts: Iterable[str] = (), seed: int = 1111, recall_fraction: float = 0.0,
                 recall_context_lengths=(1000,), val_fraction: float = 0.005,
                 max_val_tokens: int = 500_000, max_train_text_tokens: int | None = None,
                 heldout_split: bool = True, max_heldout_tokens: int = 2_000_000,
                 eval_texts: dict | None = None, overwrite: bool = False, progress: bool = True,
                 batch_docs: int = 512, workers: int = 1, recall_drop_leaky: bool = False) -> dict:
    """Tokenize ``sources`` into ``out`` (a directory); returns the manifest. See the module doc.

    ``workers``: processes that build the recall examples (the result does not depend on it).
    ``recall_drop_leaky``: leave out recall examples whose window still names the replaced value."""
    from tqdm.auto import tqdm

    t0 = time.time()
    out = Path(out)
    if not 0.0 <= recall_fraction < 1.0:
        raise DataError(f"recall_fraction must be in [0, 1), got {recall_fraction}")
    if out.exists() and not overwrite:
        raise DataError(f"output {out} already exists (pass --overwrite to replace it)")
    data_root = Path(data_root) if data_root is not None else None
    sources = list(sources)
    specs = resolve_sources(data_root, sources, texts)
    tokenizer = load_tokenizer(tokenizer_path)
    family_sources = sources + (list(RECALL_SOURCES) if recall_fraction > 0 else [])
    held = load_heldout(data_root, family_sources) if data_root is not None and family_sources else HeldOut()
    if recall_drop_leaky and recall_fraction <= 0:
        raise DataError("--recall-drop-leaky needs --recall-fraction > 0 (it filters the recall examples)")
    if recall_fraction > 0 and data_root is None:
        raise DataError("--recall-fraction needs --data-root (the SWDE/FDA annotations)")
    if eval_texts is None:
        eval_texts = {}
        if data_root is not None and (data_root / "corpus/wikitext2/test.txt").is_file():
            eval_texts["wikitext2"] = str(data_root / "corpus/wikitext2/test.txt")
    for name, p in eval_texts.items():
        if not Path(p).is_file():
            raise DataError(f"eval text not found: {p} (split {name!r})")

    vocab = len(tokenizer)
    dtype = np.uint16 if vocab <= 65536 else np.uint32
    eos = tokenizer.eos_token_id
    created_parent = None
    if not out.parent.exists():
        created_parent = out.parent
        while not created_parent.parent.exists():
            created_parent = created_parent.parent
        out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        # ---- pass 1: tokenize every text document of every source, in source order
        raw = _StreamWriter(tmp / "raw_text.bin", dtype)
        source_stats = {}
        for spec in specs:
            stats: dict = {"path": str(spec.path), "documents": 0, "tokens": 0, "heldout_excluded": 0}
            bar = tqdm(desc=f"tokenize {spec.name}", unit="doc", disable=not progress)
            for batch in _batched(spec.iter_docs(held, stats), batch_docs):
                for (doc_id, _), ids in zip(batch, _encode(tokenizer, [t for _, t in batch])):
                    ids.append(eos)
                    raw.add(doc_id, ids)
                    stats["documents"] += 1
                    stats["tokens"] += len(ids)
                bar.update(len(batch))
            bar.close()
            if spec.path.is_file():
                stats["sha256"] = sha256_file(spec.path)
            source_stats[spec.name] = stats
        raw.close()
        n_text_docs = len(raw.ids)
        if n_text_docs == 0:
            raise DataError("empty corpus: no documents found in "
                            + ", ".join(str(s.path) for s in specs))

        # ---- split text documents: val (random docs) / train, then cap train text tokens
        rng = np.random.default_rng(seed)
        perm = rng.permutation(n_text_docs)
        lengths = np.diff(np.asarray(raw.offsets, dtype=np.int64))
        n_val = int(round(val_fraction * n_text_docs))
        if n_text_docs > 1:
            n_val = min(n_val, n_text_docs - 1)
        else:
            n_val = 0
        val_docs, train_docs = perm[:n_val], perm[n_val:]
        if n_val and max_val_tokens:
            keep = np.cumsum(lengths[val_docs]) <= max_val_tokens
            keep[0] = True
            val_docs = val_docs[keep]
        if max_train_text_tokens is not None:
            keep = np.cumsum(lengths[train_docs]) <= max_train_text_tokens
            keep[0] = True
            train_docs = train_docs[keep]
        train_text_tokens = int(lengths[train_docs].sum())

        # ---- train stream = selected text docs (+ recall examples), shuffled by seed
        train_w = _StreamWriter(tmp / "raw_train.bin", dtype)
        raw_tokens = np.memmap(raw.path, dtype=dtype, mode="r")
        roff = raw.offsets
        for d in np.sort(train_docs):
            train_w.add(raw.ids[d], raw_tokens[roff[d]:roff[d + 1]])
        n_train = len(train_w.ids)
        order = np.random.default_rng([seed, 1]).permutation(n_train)
        splits = {"train": _finish_split(tmp, "train", train_w, order)}
        recall_info = None
        if recall_fraction > 0:
            target = int(round(recall_fraction / (1.0 - recall_fraction) * train_text_tokens))
            from .recall_mix import build_recall_split

            splits["recall"], recall_info = build_recall_split(tmp, data_root, held, tokenizer,
                                                               list(recall_context_lengths), target, seed, dtype,
                                                               progress, workers=workers,
                                                               drop_leaky=recall_drop_leaky)

        val_w = _StreamWriter(tmp / "raw_val.bin", dtype)
        for d in np.sort(val_docs):
            val_w.add(raw.ids[d], raw_tokens[roff[d]:roff[d + 1]])
        splits["val"] = _finish_split(tmp, "val", val_w, None)
        del raw_tokens
        os.remove(raw.path)

        # ---- held-out evaluation documents (perplexity only) and eval texts
        if heldout_split and data_root is not None and (held.swde or held.fda):
            hw = _StreamWriter(tmp / "raw_heldout.bin", dtype)
            for src, ids_set in (("swde", held.swde), ("fda", held.fda)):
                p = data_root / SOURCE_FILES[src]
                if not ids_set or not p.exists():
                    continue
                rows = [r for r in _read_jsonl(p) if r["doc_id"] in ids_set]
                for r, ids in zip(rows, _encode(tokenizer, [r["text"] for r in rows])):
                    if hw.n_tokens >= max_heldout_tokens:
                        break
                    hw.add(f"{src}/{r['doc_id']}", ids + [eos])
            splits["heldout"] = _finish_split(tmp, "heldout", hw, None)
        for name, p in eval_texts.items():
            ew = _StreamWriter(tmp / f"raw_{name}.bin", dtype)
            text = Path(p).read_text(encoding="utf-8")
            ew.add(f"{name}/{Path(p).name}", _encode(tokenizer, [text])[0] + [eos])
            splits[name] = _finish_split(tmp, name, ew, None)
            splits[name]["path"] = str(p)

        tok_path = Path(tokenizer_path)
        # the tokenizer travels with the data, so a model trained on it is saved with its tokenizer
        # even when the original folder has moved
        tokenizer.save_pretrained(str(tmp / "tokenizer"))
        manifest = {
            "format_version": FORMAT_VERSION,
            "created_unix": int(time.time()),
            "seconds": round(time.time() - t0, 1),
            "data_root": str(data_root) if data_root else None,
            "sources": source_stats,
            "tokenizer": {"path": str(tok_path.resolve()), "class": type(tokenizer).__name__,
                          "vocab_size": vocab, "eos_token_id": eos,
                          "sha256": _tokenizer_fingerprint(tok_path)},
            "dtype": np.dtype(dtype).name,
            "seed": seed,
            "shuffle": "documents permuted with numpy default_rng([seed, 1])",
            "val_fraction": val_fraction,
            "recall_fraction": recall_fraction,
            "recall": recall_info,
            "train_text_tokens": train_text_tokens,
            "heldout_ids_excluded": held.as_manifest(),
            "splits": splits,
        }
        manifest["hash"] = hashlib.sha256(json.dumps(
            {k: v["sha256"] for k, v in sorted(splits.items())}, sort_keys=True).encode()).hexdigest()
        write_text_durably(tmp / "manifest.json", json.dumps(manifest, indent=2) + "\n")
        os.chmod(tmp, 0o755)
        # ---- atomic publish
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "data")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
        fsync_dir(out.parent)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created_parent is not None:
            shutil.rmtree(created_parent, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------- reading

class TokenSplit:
    """One split of a prepared data directory, memory-mapped."""

    def __init__(self, data_dir, split: str = "train"):
        self.dir = Path(data_dir)
        mpath = self.dir / "manifest.json"
        if not self.dir.is_dir():
            raise DataError(f"data directory not found: {self.dir} (make one with jrt prepare-data)")
        if not mpath.is_file():
            raise DataError(f"not a prepared data directory (no manifest.json): {self.dir}")
        try:
            self.manifest = json.loads(mpath.read_text())
            splits = self.manifest["splits"]
        except (ValueError, KeyError) as exc:
            raise DataError(f"unreadable manifest {mpath}: {exc}") from exc
        if split not in splits:
            raise DataError(f"split {split!r} not in {self.dir} (has {sorted(splits)})")
        self.split = split
        self.dtype = np.dtype(self.manifest["dtype"])
        n = splits[split]["tokens"]
        path = self.dir / f"{split}.bin"
        size = path.stat().st_size if path.is_file() else None
        if size != n * self.dtype.itemsize:
            found = "missing" if size is None else f"{size} bytes"
            raise DataError(f"{path} is {found}, the manifest says {n} tokens ({n * self.dtype.itemsize} bytes): "
                            "truncated or replaced; prepare the data again")
        self.tokens = np.memmap(path, dtype=self.dtype, mode="r", shape=(n,)) if n else np.zeros(0, self.dtype)
        self.offsets = np.load(self.dir / f"{split}.offsets.npy")

    def __len__(self) -> int:
        return len(self.tokens)

    def doc_ids(self) -> list[str]:
        """One id per document, in file order (`{split}.ids.txt`, or `.ids.txt.gz` when compressed
        to keep a carried copy small)."""
        path = self.dir / f"{self.split}.ids.txt"
        if not path.exists() and path.with_suffix(".txt.gz").exists():
            with gzip.open(path.with_suffix(".txt.gz"), "rt", encoding="utf-8") as f:
                return f.read().splitlines()
        return path.read_text().splitlines()

    @property
    def vocab_size(self) -> int:
        return int(self.manifest["tokenizer"]["vocab_size"])

    @property
    def eos_token_id(self) -> int:
        return int(self.manifest["tokenizer"]["eos_token_id"])


class PackedSequences:
    """Fixed-length training samples of ``seq_len + 1`` tokens cut from a token stream.

    Sample ``k`` (a global counter over the whole run) is chunk ``perm_e[k % n]`` of epoch
    ``e = k // n``, where chunk ``c`` is ``tokens[c*L : c*L + L + 1]`` and ``perm_e`` is a
    seed-determined permutation. The data position of a run is therefore one integer (samples
    consumed), identical for every model and every process layout.
    """

    def __init__(self, split: TokenSplit, seq_len: int, seed: int = 1111, shuffle: bool = True):
        self.split = split
        self.seq_len = int(seq_len)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.n_chunks = (len(split.tokens) - 1) // self.seq_len
        if self.n_chunks < 1:
            raise DataError(f"split {split.split!r} has {len(split.tokens)} tokens: fewer than one "
                            f"sequence of {seq_len + 1}")
        self._perm_epoch = -1
        self._perm = None

    def chunk_index(self, k: int) -> int:
        epoch, i = divmod(int(k), self.n_chunks)
        if not self.shuffle:
            return i
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n_chunks)
            self._perm_epoch = epoch
        return int(self._perm[i])

    def get(self, k: int) -> np.ndarray:
        c = self.chunk_index(k)
        start = c * self.seq_len
        return np.asarray(self.split.tokens[start:start + self.seq_len + 1], dtype=np.int64)

    def batch(self, sample_indices) -> np.ndarray:
        return np.stack([self.get(k) for k in sample_indices])  # [B, L + 1]
