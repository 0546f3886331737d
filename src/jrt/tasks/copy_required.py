"""Which gold values a training corpus never contains: the ``copy_required`` tag.

An example is *copy-required* when its gold value does not occur, case-insensitively, anywhere in
the training text, so the model can only answer by copying from its prompt. :class:`CorpusIndex`
reads the training text sources once (``.txt``/``.txt.gz`` files, ``.jsonl``/``.jsonl.gz`` files
with a ``text`` field, or folders of them), lowercases them into one string and keeps the set of
its words. A value made only of word characters is then answered exactly from the vocabulary (it
occurs iff it is a substring of some corpus word: one search over the joined vocabulary); a longer
value whose inner words are not all corpus words cannot occur; only the rest costs a search of the
whole corpus. Tags are cached in ``copy_required_<hash>.json`` beside the first source, keyed by
a hash of the sources' paths, sizes and modification times.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["CorpusIndex", "corpus_files", "copy_required_values"]

_WORD = re.compile(r"\w+")
_EXTS = (".txt", ".txt.gz", ".jsonl", ".jsonl.gz")


def corpus_files(sources: Sequence[str | os.PathLike]) -> list[Path]:
    """The text files of ``sources`` (files, or folders searched recursively), sorted."""
    files: list[Path] = []
    for src in sources:
        path = Path(src).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(_EXTS))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"training corpus {str(path)!r} does not exist")
    if not files:
        raise FileNotFoundError(f"no text files ({', '.join(_EXTS)}) under {[str(s) for s in sources]}")
    return files


def _read_text(path: Path) -> str:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        if ".jsonl" in path.name:
            return "\n\n".join(json.loads(line).get("text", "") for line in handle if line.strip())
        return handle.read()


def corpus_fingerprint(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for f in files:
        st = f.stat()
        digest.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class CorpusIndex:
    """The lowercased training text and its vocabulary; :meth:`contains` tests one value."""

    def __init__(self, sources: Sequence[str | os.PathLike]):
        self.files = corpus_files(sources)
        self.fingerprint = corpus_fingerprint(self.files)
        self.text = "\n\n".join(_read_text(f) for f in self.files).lower()
        self.vocab = set(_WORD.findall(self.text))
        self.vocab_text = "\n".join(self.vocab)

    def contains(self, value: str) -> bool:
        value = value.strip().lower()
        if not value:
            return True
        words = _WORD.findall(value)
        if len(words) == 1 and words[0] == value:
            return value in self.vocab or value in self.vocab_text
        if any(w not in self.vocab for w in words[1:-1]):
            return False
        return value in self.text


def copy_required_values(values: Iterable[str], sources: Sequence[str | os.PathLike],
                         cache: bool = True) -> dict[str, bool]:
    """``{value: True if the corpus never contains it}`` for every distinct value (stripped).

    With ``cache``, tags are read from and added to ``copy_required_<fingerprint>.json`` beside
    the first corpus file, so a second evaluation against the same corpus reads no text.
    """
    wanted = sorted({v.strip() for v in values if v and v.strip()})
    files = corpus_files(sources)
    cache_path = files[0].parent / f"copy_required_{corpus_fingerprint(files)}.json"
    known: dict[str, bool] = {}
    if cache and cache_path.is_file():
        try:
            known = json.loads(cache_path.read_text(encoding="utf-8")).get("copy_required", {})
        except (ValueError, OSError) as exc:  # unreadable: recompute (and rewrite) rather than fail
            warnings.warn(f"ignoring the unreadable tag cache {cache_path}: {exc}", stacklevel=2)
    missing = [v for v in wanted if v not in known]
    if missing:
        index = CorpusIndex(sources)
        for v in missing:
            known[v] = not index.contains(v)
        if cache:
            payload = {"files": [str(f) for f in files], "copy_required": known}
            # written whole, then renamed: evaluations running side by side never read half a file
            tmp = cache_path.with_name(f"{cache_path.name}.{os.getpid()}.tmp")
            try:
                tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=0), encoding="utf-8")
                tmp.replace(cache_path)
            except OSError:  # a read-only corpus folder: tags are simply not cached
                tmp.unlink(missing_ok=True)
    return {v: known[v] for v in wanted}
