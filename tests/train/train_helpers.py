"""Helpers for the training tests: small real corpora built in tmp dirs, CLI runs, log reading.

The mini data root mirrors the full data root's layout (corpus/imdb, swde, fda, eval id files) with a
few real documents each, held-out ones included, so that exclusion is tested on real ids.
"""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def train_source_root() -> Path:
    """Where the mini data roots copy their documents from: $JRT_DATA_DIR (the full data) when set,
    else the repository's fixture (tests/fixtures/train_root, made by build_mini_root itself)."""
    env = os.environ.get("JRT_DATA_DIR")
    return Path(env) if env else REPO_ROOT / "tests" / "fixtures" / "train_root"

PY = sys.executable
SUB_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(REPO_ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _rows(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def _write_jsonl_gz(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def build_mini_root(src: Path, dst: Path, n_imdb: int = 60, n_swde: int = 6, n_fda: int = 3,
                    fda_chars: int = 6000) -> dict:
    """Copy a few documents of every source (half of the SWDE/FDA ones held out) into ``dst``."""
    # IMDB: the first paragraphs of shard 0
    (dst / "corpus" / "imdb").mkdir(parents=True)
    paras = []
    with gzip.open(src / "corpus/imdb/imdb_000.txt.gz", "rt", encoding="utf-8") as f:
        buf = []
        for line in f:
            if line.strip():
                buf.append(line)
            elif buf:
                paras.append("".join(buf).strip())
                buf = []
                if len(paras) >= n_imdb:
                    break
    with gzip.open(dst / "corpus/imdb/imdb_000.txt.gz", "wt", encoding="utf-8") as f:
        f.write("\n\n".join(paras) + "\n")
    (dst / "corpus/wikitext2").mkdir(parents=True)
    wt = (src / "corpus/wikitext2/test.txt").read_text(encoding="utf-8")[:20000]
    (dst / "corpus/wikitext2/test.txt").write_text(wt, encoding="utf-8")

    held = {}
    for fam, docs_f, kv_f, ids_f in (("swde", "swde/swde_book_docs.jsonl.gz", "swde/swde_book_kv.jsonl.gz",
                                      "swde/eval_doc_ids.txt"),
                                     ("fda", "fda/fda_docs.jsonl.gz", "fda/fda_kv.jsonl.gz",
                                      "fda/eval_doc_ids.txt")):
        n = n_swde if fam == "swde" else n_fda
        eval_ids = [l.strip() for l in (src / ids_f).read_text().splitlines() if l.strip()]
        eval_set = set(eval_ids)
        held_docs, train_docs = [], []
        for r in _rows(src / docs_f):
            if fam == "fda":
                r = {**r, "text": r["text"][:fda_chars]}
            (held_docs if r["doc_id"] in eval_set else train_docs).append(r)
            if len(held_docs) >= n and len(train_docs) >= n:
                break
        docs = held_docs[:n] + train_docs[:n]
        keep = {r["doc_id"] for r in docs}
        _write_jsonl_gz(dst / docs_f, docs)
        _write_jsonl_gz(dst / kv_f, [r for r in _rows(src / kv_f) if r["doc_id"] in keep])
        (dst / ids_f).write_text("\n".join(eval_ids) + "\n")
        held[fam] = {"held": held_docs[:n], "train": train_docs[:n]}
    # FDA summary letters: those of the chosen held-out and training devices
    want = {r["doc_id"][: -len("_REVIEW")] for r in held["fda"]["held"] + held["fda"]["train"]}
    summaries = [r for r in _rows(src / "fda/fda_summaries.jsonl.gz") if r["doc_id"] in want]
    _write_jsonl_gz(dst / "fda/fda_summaries.jsonl.gz", [{**r, "text": r["text"][:fda_chars]} for r in summaries])
    held["fda_summaries"] = summaries
    return held




def annotated_values(root: Path) -> dict[tuple[str, str, str], str]:
    """(annotation source, doc_id, key) -> the document's own value, from a data root's kv files."""
    values = {}
    for fam, kv_file in (("swde_book_kv", "swde/swde_book_kv.jsonl.gz"), ("fda_kv", "fda/fda_kv.jsonl.gz")):
        for r in _rows(root / kv_file):
            values[(fam, r["doc_id"], r["key"])] = r["value"].strip()
    return values


def run_cli(args, timeout=240, env=None, check=True):
    """`python -m jrt.train.cli ...` in a subprocess with one thread (deterministic, light on CPU)."""
    proc = subprocess.run([PY, "-m", "jrt.train.cli", *args], cwd=REPO_ROOT, env=env or SUB_ENV,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nSTDOUT:\n{proc.stdout[-3000:]}\nSTDERR:\n{proc.stderr[-5000:]}")
    return proc


def read_losses(run_dir: Path) -> dict[int, float]:
    """step -> loss; for steps logged twice (re-run after a resume) the last record wins."""
    out = {}
    for line in (Path(run_dir) / "log.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("kind") == "train":
            out[r["step"]] = r["loss"]
    return out
