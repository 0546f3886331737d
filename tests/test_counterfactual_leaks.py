"""scripts/counterfactual_leaks.py on a hand-made data root: a surname that survives the
substitution is counted, a value replaced everywhere is not, and held-out documents are skipped."""
import gzip
import json
from pathlib import Path


def _write(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def test_surviving_words_are_counted(tmp_path, gpt2_tokenizer_dir, load_script):
    script = load_script("counterfactual_leaks")

    authors = ["Jane Austen", "Mark Twain", "Leo Tolstoy", "Emily Bronte"]
    isbns = ["9780141439518", "9780486280615", "9780143035008", "9780141441146"]
    docs, kv = [], []
    for i, (author, isbn) in enumerate(zip(authors, isbns)):
        extra = " Readers love how Austen writes." if i == 0 else ""
        docs.append({"doc_id": f"book-{i}", "text": f"Title page\nAuthor: {author}\nISBN-13: {isbn}\n{extra}\nEnd."})
        kv += [{"doc_id": f"book-{i}", "key": "author", "value": author},
               {"doc_id": f"book-{i}", "key": "isbn 13", "value": isbn}]
    docs.append({"doc_id": "book-held", "text": "Author: Held Out\nISBN-13: 9780000000000\nHeld Out again."})
    kv.append({"doc_id": "book-held", "key": "author", "value": "Held Out"})
    _write(tmp_path / "swde" / "swde_book_docs.jsonl.gz", docs)
    _write(tmp_path / "swde" / "swde_book_kv.jsonl.gz", kv)
    (tmp_path / "swde" / "eval_doc_ids.txt").write_text("book-held\n")
    fda_docs = [{"doc_id": f"K{i}", "text": f"Applicant:\nAcme {name} Inc\nMore text."} for i, name in
                enumerate(["Zeta", "Omega", "Sigma"])]
    _write(tmp_path / "fda" / "fda_docs.jsonl.gz", fda_docs)
    _write(tmp_path / "fda" / "fda_kv.jsonl.gz",
           [{"doc_id": d["doc_id"], "key": "applicant", "value": d["text"].split("\n")[1]} for d in fda_docs])
    (tmp_path / "fda" / "eval_doc_ids.txt").write_text("")

    result = script.leaks(str(tmp_path), str(gpt2_tokenizer_dir), window=128, max_docs=10, max_df=0.6, seed=0)
    swde = result["sources"]["swde"]
    assert swde["author"]["examples"] == 4            # the held-out document is not among them
    assert swde["author"]["with_surviving_word"] == 1
    assert swde["author"]["example"]["surviving_words"] == ["austen"]
    assert swde["isbn 13"] == {"examples": 4, "with_surviving_word": 0, "share": 0.0, "example": None}
    assert result["sources"]["fda"]["applicant"]["with_surviving_word"] == 0
